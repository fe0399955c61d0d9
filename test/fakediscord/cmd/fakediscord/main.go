// Command fakediscord runs the Discord simulator of package fakediscord as a program, so that bots
// in any language can be tested against it:
//
//	go run ./test/fakediscord/cmd/fakediscord -shards 2 -guilds 8
//
// It listens on 127.0.0.1 only and prints, one per line, the settings a bot needs:
//
//	REST_URL=http://127.0.0.1:PORT/api/v10
//	GATEWAY_URL=ws://127.0.0.1:PORT/gateway
//	RESUME_URL=ws://127.0.0.1:PORT/resume-gateway
//	CONTROL_URL=http://127.0.0.1:PORT/_fake
//	TOKEN=...
//	SHARDS=2
//	VOICE_URL=ws://127.0.0.1:PORT2
//	VOICE_ENDPOINT=127.0.0.1:PORT2
//	VOICE_CONTROL_URL=http://127.0.0.1:PORT/_fake/voice
//
// followed by one line for humans that starts with "fakediscord:". With -json it prints a single
// JSON object instead. It runs until SIGINT or SIGTERM, then closes every connection and exits.
// CONTROL_URL is the JSON control API (dispatch events, inject faults, start chaos, read the
// ledger); see docs/fakediscord.md. Unless -rest=false, REST_URL also serves the REST simulator
// (package restsim) joined to the gateway's guilds, with its own control routes under
// CONTROL_URL/rest/ (scripted users' messages and slash commands, the bot's messages). Unless
// -voice=false, a fake voice server (package voicesim) runs beside the gateway on the same clock:
// op 4 hands out its tokens and VOICE_ENDPOINT (dial ws://VOICE_ENDPOINT/?v=8), and
// VOICE_CONTROL_URL is its control API (ledger, close and UDP faults, DAVE version).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/test/fakediscord"
	"github.com/cordage/cordage/test/fakediscord/restsim"
	voicesim "github.com/cordage/cordage/test/fakediscord/voice"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "fakediscord:", err)
		}
		os.Exit(2)
	}
}

// settings are the command-line flags.
type settings struct {
	token          string
	shards         int
	guilds         int
	maxConcurrency int
	timeScale      float64
	heartbeat      time.Duration
	heartbeatGrace time.Duration
	resumeWindow   time.Duration
	seed           int64
	zlibSplit      int
	sessionLimit   int
	chaos          bool
	chaosInterval  time.Duration
	chaosCount     int
	jsonOut        bool
	verbose        bool
	rest           bool
	intentFilter   bool
	replayLimit    int
	voice          bool
	voiceDAVE      int
	voiceHeartbeat time.Duration
}

func parseFlags(args []string, stderr io.Writer) (settings, error) {
	var st settings
	fs := flag.NewFlagSet("fakediscord", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: fakediscord [flags]\n\nRuns a simulated Discord (gateway, REST, control API) on 127.0.0.1 until SIGINT/SIGTERM.\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&st.token, "token", fakediscord.DefaultToken, "bot token the simulator accepts")
	fs.IntVar(&st.shards, "shards", 1, "recommended shard count returned by GET /gateway/bot")
	fs.IntVar(&st.guilds, "guilds", 4, "number of guilds the bot is in (spread over the shards)")
	fs.IntVar(&st.maxConcurrency, "max-concurrency", 1, "max_concurrency: identify buckets, each allowing one identify per 5 s")
	fs.Float64Var(&st.timeScale, "time-scale", 1, "clock speed-up: 1000 makes 5-second rules take 5 ms (the client must scale its clock too)")
	fs.DurationVar(&st.heartbeat, "heartbeat-interval", 41250*time.Millisecond, "heartbeat_interval sent in Hello, in clock time")
	fs.DurationVar(&st.heartbeatGrace, "heartbeat-grace", 0, "how late a heartbeat may be before close 4009, in clock time (0: half the interval)")
	fs.DurationVar(&st.resumeWindow, "resume-window", 3*time.Minute, "how long a disconnected session stays resumable, in clock time")
	fs.Int64Var(&st.seed, "seed", 1, "seed for session ids and chaos")
	fs.IntVar(&st.zlibSplit, "zlib-split", 0, "split zlib-stream messages into websocket frames of at most this many bytes (0: off)")
	fs.IntVar(&st.sessionLimit, "session-limit", 1000, "session_start_limit.total (and remaining) per 24 h of clock time")
	fs.BoolVar(&st.chaos, "chaos", false, "inject a seeded random mix of faults from the start")
	fs.DurationVar(&st.chaosInterval, "chaos-interval", 5*time.Second, "mean clock time between chaos faults")
	fs.IntVar(&st.chaosCount, "chaos-count", 20, "how many faults chaos injects before it stops")
	fs.BoolVar(&st.intentFilter, "intent-filter", false, "deliver injected events only to sessions that identified with the intent Discord requires for them")
	fs.IntVar(&st.replayLimit, "replay-limit", 50000, "dispatches per session kept for replay; a resume from further back gets op 9 (0: keep all)")
	fs.BoolVar(&st.jsonOut, "json", false, "print the URLs and token as one JSON line instead of KEY=value lines")
	fs.BoolVar(&st.rest, "rest", true, "serve the REST simulator joined with the gateway (bot messages come back as MESSAGE_CREATE; scripted users under CONTROL_URL/rest/)")
	fs.BoolVar(&st.voice, "voice", true, "run the fake voice server beside the gateway (op 4 hands out its tokens; control routes under CONTROL_URL/voice/)")
	fs.IntVar(&st.voiceDAVE, "voice-dave", 1, "DAVE protocol version of the voice server, required of clients (0: transport encryption only)")
	fs.DurationVar(&st.voiceHeartbeat, "voice-heartbeat-interval", 13750*time.Millisecond, "the voice server's heartbeat_interval, in clock time")
	fs.BoolVar(&st.verbose, "v", false, "log what the simulator does to stderr (the token is never logged)")
	if err := fs.Parse(args); err != nil {
		return st, err
	}
	if fs.NArg() > 0 {
		return st, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case st.token == "":
		return st, errors.New("-token must not be empty")
	case strings.ContainsAny(st.token, " \t\r\n"):
		return st, errors.New("-token must not contain whitespace")
	case st.replayLimit < 0:
		return st, errors.New("-replay-limit must not be negative")
	case st.voiceDAVE < 0:
		return st, errors.New("-voice-dave must not be negative")
	case st.voiceHeartbeat <= 0:
		return st, errors.New("-voice-heartbeat-interval must be positive")
	case st.heartbeatGrace < 0:
		return st, errors.New("-heartbeat-grace must not be negative")
	case st.timeScale <= 0:
		return st, fmt.Errorf("-time-scale must be positive, got %g", st.timeScale)
	case st.chaos && st.chaosInterval <= 0:
		return st, errors.New("-chaos-interval must be positive")
	case st.chaos && st.chaosCount <= 0:
		return st, errors.New("-chaos-count must be positive")
	}
	return st, nil
}

// Info is what the program prints at start: with -json as one object, otherwise as KEY=value
// lines with the same names in upper case.
type Info struct {
	Addr       string  `json:"addr"`
	RESTURL    string  `json:"rest_url"`
	GatewayURL string  `json:"gateway_url"`
	ResumeURL  string  `json:"resume_url"`
	ControlURL string  `json:"control_url"`
	Token      string  `json:"token"`
	Shards     int     `json:"shards"`
	TimeScale  float64 `json:"time_scale"`
	// The voice server's, empty with -voice=false.
	VoiceURL        string `json:"voice_url,omitempty"`
	VoiceEndpoint   string `json:"voice_endpoint,omitempty"`
	VoiceControlURL string `json:"voice_control_url,omitempty"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	st, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := zap.NewNop()
	if st.verbose {
		enc := zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig())
		log = zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(stderr)), zap.DebugLevel))
		defer func() { _ = log.Sync() }()
	}
	clk := clock.Real()
	if st.timeScale != 1 {
		clk = clock.Scaled(st.timeScale)
	}
	opts := []fakediscord.Option{
		fakediscord.WithToken(st.token),
		fakediscord.WithShardCount(st.shards),
		fakediscord.WithGuilds(st.guilds),
		fakediscord.WithMaxConcurrency(st.maxConcurrency),
		fakediscord.WithSessionStartLimit(st.sessionLimit, st.sessionLimit),
		fakediscord.WithClock(clk),
		fakediscord.WithHeartbeatInterval(st.heartbeat),
		fakediscord.WithHeartbeatGrace(st.heartbeatGrace),
		fakediscord.WithResumeWindow(st.resumeWindow),
		fakediscord.WithZlibSplit(st.zlibSplit),
		fakediscord.WithSeed(st.seed),
		fakediscord.WithLogger(log),
		fakediscord.WithReplayLimit(st.replayLimit),
	}
	if st.intentFilter {
		opts = append(opts, fakediscord.WithIntentFilter())
	}
	var vs *voicesim.Server
	if st.voice {
		vs, err = voicesim.New(voicesim.WithClock(clk), voicesim.WithLogger(log.Named("voice")),
			voicesim.WithSeed(st.seed), voicesim.WithHeartbeatInterval(st.voiceHeartbeat),
			voicesim.WithDAVE(st.voiceDAVE, st.voiceDAVE > 0))
		if err != nil {
			return err
		}
		// Deferred before the gateway's Close, so it runs after it: the gateway stops handing
		// out voice tokens before the voice server goes.
		defer vs.Close()
		opts = append(opts, fakediscord.WithVoiceServer(vs))
	}
	srv, err := fakediscord.New(opts...)
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := srv.Mount(fakediscord.ControlPrefix, srv.ControlHandler()); err != nil {
		return err
	}
	if st.rest {
		if err := fakediscord.NewRESTBridge(srv, restsim.Config{}).MountControl(); err != nil {
			return err
		}
	}

	if vs != nil {
		prefix := strings.TrimSuffix(voicesim.ControlPrefix, "/")
		if err := srv.Mount(voicesim.ControlPrefix, http.StripPrefix(prefix, vs.ControlHandler())); err != nil {
			return err
		}
	}

	info := Info{
		Addr:       srv.Addr(),
		RESTURL:    srv.RESTURL(),
		GatewayURL: srv.GatewayURL(),
		ResumeURL:  srv.ResumeURL(),
		ControlURL: "http://" + srv.Addr() + strings.TrimSuffix(fakediscord.ControlPrefix, "/"),
		Token:      st.token,
		Shards:     st.shards,
		TimeScale:  st.timeScale,
	}
	if vs != nil {
		info.VoiceURL = vs.URL()
		info.VoiceEndpoint = vs.Endpoint()
		info.VoiceControlURL = "http://" + srv.Addr() + strings.TrimSuffix(voicesim.ControlPrefix, "/")
	}
	if err := printInfo(stdout, info, st.jsonOut); err != nil {
		return err
	}
	if st.chaos {
		stopChaos := srv.StartChaos(fakediscord.ChaosConfig{Seed: st.seed, Interval: st.chaosInterval, Count: st.chaosCount})
		defer stopChaos()
	}
	<-ctx.Done()
	fmt.Fprintln(stderr, "fakediscord: shutting down")
	return nil
}

func printInfo(w io.Writer, info Info, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(info)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	var voice string
	if info.VoiceURL != "" {
		voice = fmt.Sprintf("VOICE_URL=%s\nVOICE_ENDPOINT=%s\nVOICE_CONTROL_URL=%s\n", info.VoiceURL, info.VoiceEndpoint, info.VoiceControlURL)
	}
	_, err := fmt.Fprintf(w, "REST_URL=%s\nGATEWAY_URL=%s\nRESUME_URL=%s\nCONTROL_URL=%s\nTOKEN=%s\nSHARDS=%d\n%s"+
		"fakediscord: listening on %s (time x%g); Ctrl-C to stop\n",
		info.RESTURL, info.GatewayURL, info.ResumeURL, info.ControlURL, info.Token, info.Shards, voice,
		info.Addr, info.TimeScale)
	return err
}
