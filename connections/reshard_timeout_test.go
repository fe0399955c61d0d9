package connections_test

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
)

// Documented in docs/operations.md ("Re-sharding without downtime") and docs/architecture.md.
const (
	guildLoadTimeout = 30 * time.Second
	drainTimeout     = 30 * time.Second
)

func warnLogger() (connections.Option, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.WarnLevel)
	return connections.WithLogger(zap.New(core)), logs
}

// lastNewIdentify returns the clock time of the last accepted identify with count shards.
func lastNewIdentify(srv *fakediscord.Server, count int) (at time.Time, n int) {
	for _, id := range srv.IdentifyLog() {
		if id.Accepted && id.ShardCount == count {
			n++
			if id.At.After(at) {
				at = id.At
			}
		}
	}
	return at, n
}

func reShardAt(evs []stamped, phase events.ReShardPhase) time.Time {
	for _, s := range evs {
		if rs, ok := s.ev.Runtime.(events.ReShard); ok && rs.Phase == phase {
			return s.at
		}
	}
	return time.Time{}
}

// A guild of the new set never loads (an outage: READY lists it, no GUILD_CREATE follows). The
// runtime waits the guild-load timeout after the last READY, then goes on and swaps, as
// documented: nothing lost or duplicated, the guild's GUILD_CREATE delivered once (from the old
// set, at the start).
func TestReShardGuildLoadTimeout(t *testing.T) {
	const guilds = 16
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithGuilds(guilds), fakediscord.WithShardCount(2), fakediscord.WithMaxConcurrency(4))
	logOpt, logs := warnLogger()
	obs := &reshardObserver{}
	conn, rec := connectClock(t, srv, clk, logOpt, connections.WithObserver(obs))
	dark := srv.GuildsOfShard(3, 4)[0]
	srv.WithholdGuildCreate(dark, true)
	stop := srv.StartTraffic(fakediscord.TrafficConfig{Rate: 100, Count: 1 << 30})
	defer stop()
	rec.wait(t, "traffic", func(evs []stamped) bool { return countStamped(evs, "MESSAGE_CREATE") >= 50 })

	if err := conn.ReShard(ctxT(t), 4); err != nil {
		t.Fatalf("ReShard: %v", err)
	}
	lastReady, n := lastNewIdentify(srv, 4)
	if n != 4 {
		t.Fatalf("%d identifies of the new set, want 4", n)
	}
	before := countStamped(rec.snapshot(), "MESSAGE_CREATE")
	rec.wait(t, "traffic after the swap", func(evs []stamped) bool { return countStamped(evs, "MESSAGE_CREATE") >= before+300 })
	stop()
	sent := checkExactlyOnce(t, srv, rec)
	evs := rec.snapshot()
	doneAt := reShardAt(evs, events.ReShardDone)
	waited := doneAt.Sub(lastReady)
	// The timer starts once every READY has been read, a moment after the last identify (on a
	// loaded machine a few seconds of clock time); the warning below tells the timeout apart
	// from the re-shard's deadline (2 min), which would fail it.
	if waited < guildLoadTimeout || waited > guildLoadTimeout+time.Minute {
		t.Fatalf("swapped %v after the last new identify, want the guild-load timeout (%v) and a little", waited, guildLoadTimeout)
	}
	if logs.FilterMessageSnippet("not every guild loaded in time").Len() != 1 {
		t.Fatalf("no guild-load timeout warning: %v", logs.All())
	}
	if logs.FilterMessageSnippet("did not flush").Len() != 0 {
		t.Fatal("the drain timed out too")
	}
	for g, n := range guildCreates(evs) {
		if n != 1 {
			t.Fatalf("guild %v: %d GUILD_CREATEs", g, n)
		}
	}
	if n := len(guildCreates(evs)); n != guilds {
		t.Fatalf("%d guilds created, want %d", n, guilds)
	}
	states, err := conn.ShardStates(ctxT(t))
	if err != nil || len(states) != 4 || states[0].Count != 4 {
		t.Fatalf("ShardStates: %v, %v", states, err)
	}
	r := obs.last()
	if r.Phase != events.ReShardDone || r.Suppressed != guilds-1 {
		t.Fatalf("observer got %+v, want done with %d GUILD_CREATEs suppressed", r, guilds-1)
	}
	t.Logf("swapped %v (clock) after the last new identify; re-shard took %v; %d MESSAGE_CREATEs exactly once; %+v", waited, r.Took, sent, r)
}

// An old shard whose heartbeat ACKs are withheld (the simulator stalls its connection) cannot
// flush. The runtime waits the drain timeout after the new set is loaded, then swaps anyway, as
// documented. Traffic runs before the stall (all of it read first) and again once every new
// session exists, so that every event the stalled shard misses went to the new set too:
// nothing may be lost or duplicated.
func TestReShardDrainTimeout(t *testing.T) {
	const guilds = 16
	clk := clock.Scaled(scale)
	// Heartbeats a day apart: the stalled shard's own heartbeat cannot find the connection dead
	// (and reconnect, which would flush it) within the drain timeout.
	srv := newServer(t, clk, fakediscord.WithGuilds(guilds), fakediscord.WithShardCount(2), fakediscord.WithMaxConcurrency(4),
		fakediscord.WithHeartbeatInterval(24*time.Hour))
	logOpt, logs := warnLogger()
	obs := &reshardObserver{}
	conn, rec := connectClock(t, srv, clk, logOpt, connections.WithObserver(obs))
	stop := srv.StartTraffic(fakediscord.TrafficConfig{Rate: 100, Count: 200})
	rec.wait(t, "traffic", func(evs []stamped) bool { return countStamped(evs, "MESSAGE_CREATE") >= 200 })
	stop()
	checkExactlyOnce(t, srv, rec)

	if err := srv.Stall(1, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	reply := make(chan error, 1)
	if err := conn.Send(ctxT(t), connections.ReShard{Count: 4, Reply: reply}); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitFor(ctxT(t), func(sn *fakediscord.Snapshot) bool {
		n := 0
		for _, id := range sn.Identifies {
			if id.Accepted && id.ShardCount == 4 {
				n++
			}
		}
		return n == 4
	}); err != nil {
		t.Fatal(err)
	}
	// Payloads unlike the first traffic's, which the ledger would take for the same events.
	stop = srv.StartTraffic(fakediscord.TrafficConfig{Rate: 100, Count: 1 << 30, Payload: func(i int, g events.Snowflake) any {
		return map[string]any{"guild_id": g, "content": fmt.Sprintf("during the stall %d", i)}
	}})
	defer stop()
	awaitReply(t, reply, "ReShard")
	lastReady, _ := lastNewIdentify(srv, 4)
	before := countStamped(rec.snapshot(), "MESSAGE_CREATE")
	rec.wait(t, "traffic after the swap", func(evs []stamped) bool { return countStamped(evs, "MESSAGE_CREATE") >= before+300 })
	stop()
	sent := checkExactlyOnce(t, srv, rec)
	evs := rec.snapshot()
	waited := reShardAt(evs, events.ReShardDone).Sub(lastReady)
	// Loaded a moment after the last identify (READY and GUILD_CREATEs), then the drain timeout.
	if waited < drainTimeout || waited > drainTimeout+time.Minute {
		t.Fatalf("swapped %v after the last new identify, want the drain timeout (%v) and a little", waited, drainTimeout)
	}
	if logs.FilterMessageSnippet("did not flush in time").Len() != 1 {
		t.Fatalf("no drain timeout warning: %v", logs.All())
	}
	if logs.FilterMessageSnippet("not every guild loaded").Len() != 0 {
		t.Fatal("the guild load timed out too")
	}
	// The stalled shard never delivered what it was sent during the stall: the new set did.
	unwritten := 0
	for _, sess := range srv.Ledger().Sessions {
		if sess.ShardCount == 2 && sess.Shard == 1 {
			for _, e := range sess.Dispatches {
				if e.T == "MESSAGE_CREATE" && e.Writes == 0 {
					unwritten++
				}
			}
		}
	}
	if unwritten == 0 {
		t.Fatal("the stalled old shard missed nothing: the test did not exercise the drain timeout")
	}
	states, err := conn.ShardStates(ctxT(t))
	if err != nil || len(states) != 4 || states[0].Count != 4 {
		t.Fatalf("ShardStates: %v, %v", states, err)
	}
	t.Logf("swapped %v (clock) after the last new identify; %d MESSAGE_CREATEs exactly once, %d of them never written to the stalled old shard; %+v",
		waited, sent, unwritten, obs.last())
}
