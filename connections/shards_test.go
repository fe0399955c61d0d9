package connections_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/shardctl"
	"github.com/cordage/cordage/test/fakediscord"
)

// A live session moves to another connection (another process, in real life): GetShardState,
// RemoveShards (which keeps the session resumable), then AddShards with the state resumes it
// there without identifying, and what was sent in between is replayed.
func TestMoveShardWithExportedState(t *testing.T) {
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithShardCount(2), fakediscord.WithGuilds(4), fakediscord.WithMaxConcurrency(2))
	connA, recA := connectBot(t, srv, clk)
	ready(t, recA)
	recA.wait(t, "the GUILD_CREATEs", func(evs []connections.Event) bool { return countType(evs, "GUILD_CREATE") == 4 })
	ctx := ctxT(t)

	states, err := connA.ShardStates(ctx, 1)
	if err != nil || len(states) != 1 {
		t.Fatalf("states %+v, %v", states, err)
	}
	st := states[0]
	if st.ID != 1 || st.Count != 2 || st.SessionID == "" || st.Seq == 0 || st.ResumeURL != srv.ResumeURL() || st.Status != connections.StatusReady {
		t.Fatalf("exported state %+v", st)
	}
	if err := connA.RemoveShards(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitFor(ctx, func(sn *fakediscord.Snapshot) bool {
		s, _ := sn.Session(st.SessionID)
		return s.State == fakediscord.SessionResumable
	}); err != nil {
		t.Fatalf("the removed shard's session is not resumable: %v", err)
	}
	if all, _ := connA.ShardStates(ctx); len(all) != 1 || all[0].ID != 0 {
		t.Fatalf("connection A still runs %+v", all)
	}
	if err := connA.RemoveShards(ctx, 1); !errors.Is(err, connections.ErrUnknownShard) {
		t.Fatalf("removing twice: %v", err)
	}
	// Sent while no process holds the shard: buffered by Discord for the resume.
	for range 3 {
		if err := srv.DispatchToShard(1, "TYPING_START", map[string]any{"channel_id": "1"}); err != nil {
			t.Fatal(err)
		}
	}

	gw, err := connections.GetWebsocketGateway(ctx, srv.Token(), connections.WithAPIURL(srv.RESTURL()))
	if err != nil {
		t.Fatal(err)
	}
	outB := make(chan connections.Event, 64)
	connB, err := connections.ConnectShards(t.Context(), srv.Token(), outB, gw, nil, connections.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	recB := record(t, outB)
	defer connB.Close()
	if err := connB.AddShards(ctx, st); err != nil {
		t.Fatal(err)
	}
	r := recB.waitKind(t, connections.KindShardResumed, 1).Runtime.(events.ShardResumed)
	if r.SessionID != st.SessionID || r.Replayed != 3 {
		t.Fatalf("resumed %+v, want session %s with 3 replayed", r, st.SessionID)
	}
	if n := len(srv.IdentifyLog()); n != 2 {
		t.Fatalf("%d identifies, want the 2 of the start only", n)
	}
	evs := recB.snapshot()
	if n := countType(evs, "TYPING_START"); n != 3 {
		t.Fatalf("connection B got %d of the 3 buffered events", n)
	}
	if err := connB.AddShards(ctx, st); !errors.Is(err, connections.ErrInvalidOption) {
		t.Fatalf("adding a running shard: %v", err)
	}
	// A fresh shard (no session) identifies through the gate.
	if err := connB.AddShards(ctx, connections.ShardState{ID: 0}); err != nil {
		t.Fatal(err)
	}
	recB.waitKind(t, connections.KindShardReady, 1)
}

// N shards at max_concurrency M are all READY within ceil(N/M) × 5 s plus one heartbeat
// interval, and no bucket identifies twice within 5 s.
func TestIdentifyTiming(t *testing.T) {
	const n, m = 6, 2
	const interval = 41250 * time.Millisecond
	clk := clock.Scaled(10)
	srv := newServer(t, clk, fakediscord.WithShardCount(n), fakediscord.WithMaxConcurrency(m), fakediscord.WithGuilds(12))
	start := clk.Now()
	_, rec := connectBot(t, srv, clk)
	ready(t, rec)
	took := clk.Now().Sub(start)
	bound := shardctl.StartupTime(n, m, shardctl.IdentifyInterval) + interval
	t.Logf("%d shards at max_concurrency %d: all READY after %v (bound %v)", n, m, took.Round(time.Millisecond), bound)
	if took > bound {
		t.Fatalf("all READY after %v, want within %v", took, bound)
	}
	if v := srv.SpacingViolations(); v != 0 {
		t.Fatalf("%d identifies refused for spacing", v)
	}
	last := map[int]time.Time{}
	waves := 0
	for _, id := range srv.IdentifyLog() {
		if !id.Accepted {
			t.Fatalf("identify refused: %+v", id)
		}
		if prev, ok := last[id.Bucket]; ok {
			if gap := id.At.Sub(prev); gap < shardctl.IdentifyInterval {
				t.Fatalf("bucket %d identified twice within %v", id.Bucket, gap)
			}
		} else {
			waves++
		}
		last[id.Bucket] = id.At
	}
	if waves != m {
		t.Fatalf("%d buckets used, want %d", waves, m)
	}
}

// A session-start budget that cannot cover the shards is refused before anything connects.
func TestSessionBudgetRefused(t *testing.T) {
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithShardCount(4), fakediscord.WithSessionStartLimit(1000, 3))
	out := make(chan connections.Event, 1)
	_, err := connections.ConnectBot(t.Context(), srv.Token(), out, connections.WithAPIURL(srv.RESTURL()), connections.WithClock(clk))
	var be *shardctl.BudgetError
	if !errors.Is(err, shardctl.ErrInsufficientBudget) || !errors.As(err, &be) || be.Remaining != 3 {
		t.Fatalf("got %v", err)
	}
	if n := len(srv.IdentifyLog()); n != 0 {
		t.Fatalf("%d identifies", n)
	}
}

// The default gate never identifies past the session-start budget reported at start: when the
// budget is spent the shard stops (identifying again would get the token reset) instead of
// looping.
func TestSessionBudgetExhaustedStops(t *testing.T) {
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithGuilds(2), fakediscord.WithSessionStartLimit(1000, 2))
	conn, rec := connectBot(t, srv, clk)
	ready(t, rec)
	if err := srv.InvalidateSession(0, false); err != nil {
		t.Fatal(err)
	}
	rec.waitKind(t, connections.KindShardReady, 2)
	if err := srv.InvalidateSession(0, false); err != nil {
		t.Fatal(err)
	}
	st := rec.waitKind(t, connections.KindShardStopped, 1).Runtime.(events.ShardStopped)
	if err := conn.Wait(); err == nil {
		t.Fatalf("connection ended without an error after %+v", st)
	}
	if n := len(srv.IdentifyLog()); n != 2 {
		t.Fatalf("%d identifies with a budget of 2", n)
	}
}
