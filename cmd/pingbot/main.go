// Command pingbot is Cordage's demo bot: it answers "!ping" messages and the /ping slash
// command with "pong".
//
// Without a token it runs the sandbox: an embedded Discord simulator (gateway and REST, with
// chaos on: dropped connections, op 7 reconnects, op 9 invalid sessions, stalled "zombie"
// connections, corrupt frames), a scripted user who sends "!ping" and runs /ping, and the real
// runtime, REST client, dispatcher and command registry against it. It shows a live progress
// line, prints a summary and exits by itself, with status 0 only if every ping got exactly one
// answer:
//
//	go run ./cmd/pingbot
//
// With a token (-token or DISCORD_TOKEN) it is a real bot that runs until SIGINT or SIGTERM:
//
//	DISCORD_TOKEN=... go run ./cmd/pingbot
//
// The REST base is -api or DISCORD_API_URL (default https://discord.com/api/v10); the gateway
// URL and shard count come from GET /gateway/bot there. The bot needs the MESSAGE_CONTENT
// intent enabled in Discord's developer portal to read "!ping".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cordage/cordage/messaging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type settings struct {
	token    string
	api      string
	verbose  bool
	shards   int
	guilds   int
	duration time.Duration
	rate     float64
	seed     int64
	chaos    bool
	traffic  float64
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (settings, error) {
	var st settings
	fs := flag.NewFlagSet("pingbot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pingbot [flags]\n\nWithout a token: a sandbox run against an embedded Discord simulator.\nWith -token or DISCORD_TOKEN: a real bot until SIGINT/SIGTERM.\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&st.token, "token", "", "bot token (default $DISCORD_TOKEN); none runs the sandbox")
	fs.StringVar(&st.api, "api", "", "REST base including the version path (default $DISCORD_API_URL, else "+messaging.DefaultBaseURL+")")
	fs.BoolVar(&st.verbose, "v", false, "log at debug level (the token is never logged)")
	fs.IntVar(&st.shards, "shards", 4, "sandbox: shards the simulator recommends")
	fs.IntVar(&st.guilds, "guilds", 16, "sandbox: guilds the bot is in")
	fs.DurationVar(&st.duration, "duration", 20*time.Second, "sandbox: how long the user sends pings (the run ends a few seconds later)")
	fs.Float64Var(&st.rate, "rate", 8, "sandbox: pings per second")
	fs.Int64Var(&st.seed, "seed", 1, "sandbox: seed of the simulator and its chaos")
	fs.BoolVar(&st.chaos, "chaos", true, "sandbox: inject faults while the user pings")
	fs.Float64Var(&st.traffic, "traffic", 200, "sandbox: other messages per second, which the bot reads and ignores")
	if err := fs.Parse(args); err != nil {
		return st, err
	}
	if fs.NArg() > 0 {
		return st, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if st.token == "" {
		st.token = getenv("DISCORD_TOKEN")
	}
	st.token = strings.TrimSpace(st.token)
	if st.api == "" {
		st.api = getenv("DISCORD_API_URL")
	}
	if st.api == "" {
		st.api = messaging.DefaultBaseURL
	}
	st.api = strings.TrimRight(st.api, "/")
	switch {
	case st.shards < 1 || st.shards > 64:
		return st, fmt.Errorf("-shards must be 1…64, got %d", st.shards)
	case st.guilds < 1 || st.guilds > 1000:
		return st, fmt.Errorf("-guilds must be 1…1000, got %d", st.guilds)
	case st.duration < time.Second || st.duration > 45*time.Second:
		return st, fmt.Errorf("-duration must be 1s…45s, got %v", st.duration)
	case st.rate <= 0 || st.rate > 200:
		return st, fmt.Errorf("-rate must be in (0, 200], got %g", st.rate)
	case st.traffic < 0 || st.traffic > 20000:
		return st, fmt.Errorf("-traffic must be in [0, 20000], got %g", st.traffic)
	}
	return st, nil
}

// newLogger logs to stderr in console form. The sandbox keeps it at Warn so that the progress
// line stays readable.
func newLogger(w io.Writer, level zapcore.Level) *zap.Logger {
	enc := zap.NewDevelopmentEncoderConfig()
	enc.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), level)
	return zap.New(core)
}

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	st, err := parseFlags(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "pingbot:", err)
		return 2
	}
	if st.token == "" {
		return runSandbox(ctx, st, stdout, stderr)
	}
	level := zapcore.InfoLevel
	if st.verbose {
		level = zapcore.DebugLevel
	}
	log := newLogger(stderr, level)
	defer func() { _ = log.Sync() }()
	return runBot(ctx, st, log)
}

// runBot is the real bot: it runs until ctx ends (SIGINT, SIGTERM) and then closes within a few
// seconds.
func runBot(ctx context.Context, st settings, log *zap.Logger) int {
	log.Info("pingbot starting", zap.String("api", st.api))
	// The bot's own context ends with the signal; closing then has 5 s before we give up.
	b, err := newBot(ctx, botConfig{token: st.token, apiURL: st.api, log: log, tick: 30 * time.Second,
		progress: func(s status) {
			log.Info("status", zap.Int("shards_ready", s.shardsReady), zap.Int("shards", s.shards),
				zap.Int64("events", s.events), zap.Int64("pings_answered", s.pongs), zap.Int64("slash_answered", s.slash),
				zap.Int64("reconnects", s.reconnects))
		}})
	if err != nil {
		log.Error("pingbot cannot start", zap.Error(err))
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- b.run(ctx) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		log.Info("signal received; closing")
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			log.Error("shutdown took longer than 5 s; exiting anyway")
			return 1
		}
	}
	s := b.status(0)
	log.Info("pingbot stopped", zap.Int64("events", s.events), zap.Int64("pings_answered", s.pongs),
		zap.Int64("slash_answered", s.slash), zap.Int64("reconnects", s.reconnects))
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("runtime ended", zap.Error(err))
		return 1
	}
	return 0
}
