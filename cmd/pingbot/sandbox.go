package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
	"github.com/cordage/cordage/test/fakediscord/restsim"
)

// The sandbox's simulator speaks Discord's rules on a real clock with a short heartbeat, so that
// zombie connections are noticed in about a second and the whole run fits in half a minute.
const (
	sandboxHeartbeat = time.Second
	drainFor         = 10 * time.Second // after the last ping, how long answers may take
	slashShare       = 5                // one action in five is /ping
)

// sentPing is one action of the scripted user.
type sentPing struct {
	guild   events.Snowflake
	channel events.Snowflake
	id      events.Snowflake
	slash   bool
}

// user is the scripted user: it writes "!ping" and runs /ping in the bot's guilds.
type user struct {
	srv    *fakediscord.Server
	bridge *fakediscord.RESTBridge
	rng    *rand.Rand

	mu      sync.Mutex
	sent    []sentPing
	retries int // actions that found no live session and were tried again
}

func (u *user) snapshot() ([]sentPing, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]sentPing(nil), u.sent...), u.retries
}

// act sends one ping to guild g, as a message or (once /ping is registered) a slash command. It
// reports false when no session took it, so the caller tries again.
func (u *user) act(g events.Snowflake, slash bool) bool {
	member := u.rng.IntN(5)
	p := sentPing{guild: g, channel: u.bridge.TextChannel(g), slash: slash}
	if slash {
		it, err := u.bridge.Interact(g, member, "ping")
		switch {
		case errors.Is(err, fakediscord.ErrCommandNotRegistered):
			return u.act(g, false) // not synced yet: type "!ping" instead
		case err != nil:
			return false
		}
		p.id = it.ID
	} else {
		id, err := u.bridge.UserMessage(g, member, "!ping")
		if err != nil {
			return false
		}
		p.id = id
	}
	u.mu.Lock()
	u.sent = append(u.sent, p)
	u.mu.Unlock()
	return true
}

// play sends pings at rate per second over the guilds in turn until stop, retrying an action
// that found no session on the next tick.
func (u *user) play(stop <-chan struct{}, guilds []events.Snowflake, rate float64) {
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	i := 0
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		g := guilds[i%len(guilds)]
		ok := u.act(g, i%slashShare == slashShare-1)
		if !ok {
			u.mu.Lock()
			u.retries++
			u.mu.Unlock()
		}
		// A failed action moves on too: the next guild is likely on another shard.
		i++
	}
}

// verdict is what the simulator's state says about every ping.
type verdict struct {
	messages, slash          int
	answered, missed, double int
	strays                   int // bot replies to no ping of the user
}

func (v verdict) ok() bool { return v.missed == 0 && v.double == 0 && v.strays == 0 && v.answered > 0 }

// judge reads the REST simulator's messages and ledger: a "!ping" is answered when exactly one
// bot message starting with "pong" replies to it; a /ping when exactly one interaction callback
// succeeded.
func judge(bridge *fakediscord.RESTBridge, guilds []events.Snowflake, sent []sentPing) verdict {
	var v verdict
	replies := map[events.Snowflake]int{}
	for _, g := range guilds {
		for _, raw := range bridge.REST().Messages(bridge.TextChannel(g)) {
			var m events.Message
			if json.Unmarshal(raw, &m) != nil || !m.Author.Bot || !strings.HasPrefix(m.Content, "pong") || m.MessageReference == nil {
				continue
			}
			replies[m.MessageReference.MessageID]++
		}
	}
	callbacks := map[string]int{}
	for _, e := range bridge.REST().Ledger() {
		if e.Route == "/interactions/{interaction.id}/{interaction.token}/callback" && e.Status/100 == 2 {
			parts := strings.Split(strings.Trim(e.Path, "/"), "/")
			if len(parts) > 1 {
				callbacks[parts[1]]++
			}
		}
	}
	known := map[events.Snowflake]bool{}
	for _, p := range sent {
		known[p.id] = true
		n := replies[p.id]
		if p.slash {
			v.slash++
			n = callbacks[p.id.String()]
		} else {
			v.messages++
		}
		switch {
		case n == 0:
			v.missed++
		case n == 1:
			v.answered++
		default:
			v.double++
		}
	}
	for id := range replies {
		if !known[id] {
			v.strays++
		}
	}
	return v
}

// runSandbox starts the simulator, the bot and the user, shows progress, and judges the run.
func runSandbox(ctx context.Context, st settings, stdout, stderr io.Writer) int {
	// Reconnects show in the progress line and the summary; the log keeps to real trouble.
	level := zapcore.ErrorLevel
	if st.verbose {
		level = zapcore.DebugLevel
	}
	log := newLogger(stderr, level)
	defer func() { _ = log.Sync() }()

	srv, err := fakediscord.New(
		fakediscord.WithShardCount(st.shards),
		fakediscord.WithGuilds(st.guilds),
		fakediscord.WithMembersPerGuild(5),
		fakediscord.WithMaxConcurrency(st.shards), // every shard its own identify bucket
		fakediscord.WithHeartbeatInterval(sandboxHeartbeat),
		fakediscord.WithSeed(st.seed),
		fakediscord.WithLogger(log.Named("sim")),
	)
	if err != nil {
		fmt.Fprintln(stderr, "pingbot:", err)
		return 1
	}
	defer srv.Close()
	bridge := fakediscord.NewRESTBridge(srv, restsim.Config{})
	guilds := srv.Guilds()
	fmt.Fprintf(stderr, "pingbot sandbox: simulated Discord on %s, %d shards, %d guilds, chaos %v; pinging for %v\n",
		srv.Addr(), st.shards, len(guilds), onOff(st.chaos), st.duration)

	overwrite := isTerminal(stderr)
	u := &user{srv: srv, bridge: bridge, rng: rand.New(rand.NewPCG(uint64(st.seed), 7))}
	var last int64
	lastAt := time.Now()
	var printed time.Time
	bctx, cancelBot := context.WithCancel(ctx)
	defer cancelBot()
	b, err := newBot(bctx, botConfig{
		token: srv.Token(), apiURL: srv.RESTURL(), log: log, tick: 500 * time.Millisecond,
		progress: func(s status) {
			now := time.Now()
			if !overwrite && now.Sub(printed) < 2*time.Second {
				return // a log file gets a line every 2 s, a terminal a redrawn line every 0.5 s
			}
			printed = now
			rate := float64(s.events-last) / now.Sub(lastAt).Seconds()
			last, lastAt = s.events, now
			sent, _ := u.snapshot()
			printStatus(stderr, s, fmt.Sprintf("user sent %d | faults %d", len(sent), len(srv.ChaosLog())), rate, overwrite)
		},
		// A short backoff keeps recoveries inside the run; the rules (jitter, cap) are the same.
		connOpts: []connections.Option{connections.WithBackoff(connections.Backoff{Base: 200 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, Max: 2 * time.Second})},
	})
	if err != nil {
		fmt.Fprintln(stderr, "pingbot:", err)
		return 1
	}
	botDone := make(chan error, 1)
	started := time.Now()
	go func() { botDone <- b.run(bctx) }()

	// Wait for every shard before the user starts, as a user would wait for the bot to be online.
	wctx, cancelWait := context.WithTimeout(ctx, 15*time.Second)
	err = srv.WaitFor(wctx, func(sn *fakediscord.Snapshot) bool {
		n := 0
		for _, si := range sn.Sessions {
			if si.State == fakediscord.SessionConnected {
				n++
			}
		}
		return n >= st.shards
	})
	cancelWait()
	if err != nil {
		cancelBot()
		fmt.Fprintln(stderr, "\npingbot: the bot did not connect every shard:", err, <-botDone)
		return 1
	}

	stopUser := make(chan struct{})
	userDone := make(chan struct{})
	go func() { defer close(userDone); u.play(stopUser, guilds, st.rate) }()
	stopTraffic := func() {}
	if st.traffic > 0 {
		// Chatter the bot reads and ignores: the dispatcher decodes it, the runtime carries it.
		stopTraffic = srv.StartTraffic(fakediscord.TrafficConfig{Rate: st.traffic, Count: int(st.traffic * st.duration.Seconds())})
	}
	defer stopTraffic()
	stopChaos := func() {}
	if st.chaos {
		interval := 1500 * time.Millisecond
		stopChaos = srv.StartChaos(fakediscord.ChaosConfig{
			Seed: st.seed, Interval: interval, Count: max(1, int(st.duration/interval)),
			StallFor: 2 * sandboxHeartbeat,
		})
	}
	interrupted := false
	select {
	case <-time.After(st.duration):
	case <-ctx.Done():
		interrupted = true
	case err := <-botDone:
		close(stopUser)
		<-userDone
		stopChaos()
		fmt.Fprintln(stderr, "\npingbot: the bot stopped:", err)
		return 1
	}
	close(stopUser)
	<-userDone
	stopChaos()
	stopTraffic()

	// Let the answers arrive: done when the verdict has no missing answers, or drainFor passed.
	sent, retries := u.snapshot()
	deadline := time.After(drainFor)
	tick := time.NewTicker(100 * time.Millisecond)
	v := judge(bridge, guilds, sent)
	for !interrupted && v.missed > 0 {
		select {
		case <-tick.C:
		case <-deadline:
			interrupted = true
			continue
		case <-ctx.Done():
			interrupted = true
			continue
		}
		v = judge(bridge, guilds, sent)
	}
	tick.Stop()
	cancelBot()
	botErr := <-botDone
	v = judge(bridge, guilds, sent) // final: after the bot stopped, nothing changes any more
	if overwrite {
		fmt.Fprintln(stderr)
	}
	s := b.status(st.shards)
	elapsed := time.Since(started)
	faults := srv.ChaosLog()
	applied := 0
	kinds := map[fakediscord.Fault]int{}
	for _, f := range faults {
		if f.Err == "" {
			applied++
			kinds[f.Fault]++
		}
	}
	ms := b.rest.Stats()
	fmt.Fprintf(stdout, "pingbot sandbox summary (%.1fs)\n", elapsed.Seconds())
	fmt.Fprintf(stdout, "  pings sent:        %d (%d \"!ping\" messages, %d /ping), %d retried after finding no live session\n", len(sent), v.messages, v.slash, retries)
	fmt.Fprintf(stdout, "  answered once:     %d\n", v.answered)
	fmt.Fprintf(stdout, "  missed:            %d\n", v.missed)
	fmt.Fprintf(stdout, "  answered twice:    %d (plus %d replies to unknown messages)\n", v.double, v.strays)
	fmt.Fprintf(stdout, "  events received:   %d (%.0f/s), duplicate ping deliveries seen by the bot: %d\n", s.events, float64(s.events)/elapsed.Seconds(), b.dupDeliveries.Load())
	fmt.Fprintf(stdout, "  faults injected:   %d of %d planned (%s)\n", applied, len(faults), faultList(kinds))
	fmt.Fprintf(stdout, "  reconnects survived: %d\n", s.reconnects)
	limited := int64(0)
	for _, n := range ms.RateLimited {
		limited += n
	}
	fmt.Fprintf(stdout, "  REST:              %d requests, %d retried, %d rate-limited (429)\n", ms.Requests, ms.Retries, limited)
	if botErr != nil && !errors.Is(botErr, context.Canceled) {
		fmt.Fprintf(stdout, "  runtime error:     %v\n", botErr)
	}
	if v.ok() && !(interrupted && v.missed > 0) {
		fmt.Fprintln(stdout, "OK: every ping got exactly one answer")
		return 0
	}
	fmt.Fprintln(stdout, "FAIL: not every ping got exactly one answer")
	return 1
}

func faultList(kinds map[fakediscord.Fault]int) string {
	var parts []string
	for _, f := range fakediscord.AllFaults {
		if n := kinds[f]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s ×%d", f, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// isTerminal reports whether w is a character device, where the progress line can redraw itself.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
