package connections_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/shardctl"
	"github.com/cordage/cordage/test/fakediscord"
)

// checkRefused sends AddShards, RemoveShards and ReShard and checks that each is refused with
// ErrReShardInProgress (an ErrInvalidOption) and that the running shards did not change.
func checkRefused(t *testing.T, conn *connections.Conn, running, count int) {
	t.Helper()
	for name, err := range map[string]error{
		"AddShards":    conn.AddShards(ctxT(t), connections.ShardState{ID: running, Count: count + 1}),
		"RemoveShards": conn.RemoveShards(ctxT(t), 0),
		"ReShard":      conn.ReShard(ctxT(t), count+3),
	} {
		if !errors.Is(err, connections.ErrReShardInProgress) || !errors.Is(err, connections.ErrInvalidOption) {
			t.Fatalf("%s during a re-shard: %v, want ErrReShardInProgress", name, err)
		}
	}
	states, err := conn.ShardStates(ctxT(t))
	if err != nil || len(states) != running || states[0].Count != count {
		t.Fatalf("ShardStates after refused commands: %+v, %v", states, err)
	}
}

// While a new set is starting, AddShards, RemoveShards and a second ReShard are refused with
// the typed error and change nothing; once the re-shard is done they work again.
func TestReShardRefusesShardChanges(t *testing.T) {
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithGuilds(8), fakediscord.WithShardCount(2), fakediscord.WithMaxConcurrency(4))
	gate, gateOpt := newHeldGate(clk, 4)
	conn, rec := connectClock(t, srv, clk, gateOpt)
	// The new set cannot complete while its shard 7 waits at the gate.
	release := gate.holdNext(7)
	defer release()
	reply := make(chan error, 1)
	if err := conn.Send(ctxT(t), connections.ReShard{Count: 8, Reply: reply}); err != nil {
		t.Fatal(err)
	}
	rec.reShardEvent(t, events.ReShardStarted)
	checkRefused(t, conn, 2, 2)
	release()
	awaitReply(t, reply, "ReShard")
	if err := conn.RemoveShards(ctxT(t), 7); err != nil {
		t.Fatalf("RemoveShards after the re-shard: %v", err)
	}
	states, err := conn.ShardStates(ctxT(t))
	if err != nil || len(states) != 7 || states[0].Count != 8 {
		t.Fatalf("ShardStates: %+v, %v", states, err)
	}
}

// With WithReShardRetry{Requested: true} a failed ReShard command waits for its retry; the wait
// belongs to the re-shard (shard changes are refused), and a ReShard command meanwhile starts
// the next attempt at once, with its count, answering both callers.
func TestReShardRetryWaitForRequested(t *testing.T) {
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithGuilds(16), fakediscord.WithShardCount(4),
		fakediscord.WithMaxConcurrency(4), fakediscord.WithSessionStartLimit(1000, 14))
	retry := connections.DefaultReShardRetry
	retry.Requested = true
	obs := &reshardObserver{}
	conn, rec := connectClock(t, srv, clk, connections.WithReShardRetry(retry), connections.WithObserver(obs))

	// 10 session starts left: 12 shards do not fit. The retry waits for the budget's reset.
	first := make(chan error, 1)
	if err := conn.Send(ctxT(t), connections.ReShard{Count: 12, Reply: first}); err != nil {
		t.Fatal(err)
	}
	failed := rec.reShardEvent(t, events.ReShardFailed)
	var rse *connections.ReShardError
	var be *shardctl.BudgetError
	if !errors.As(failed.Err, &rse) || !errors.As(failed.Err, &be) || rse.Attempt != 1 || rse.RetryIn < be.ResetAfter || rse.RetryIn < time.Hour {
		t.Fatalf("failed event %+v, want a retry after the budget's reset", failed.Err)
	}
	select {
	case err := <-first:
		t.Fatalf("the ReShard command was answered (%v) while its retry waits", err)
	default:
	}
	// AddShards and RemoveShards are refused during the wait.
	for name, err := range map[string]error{
		"AddShards":    conn.AddShards(ctxT(t), connections.ShardState{ID: 4, Count: 12}),
		"RemoveShards": conn.RemoveShards(ctxT(t), 0),
	} {
		if !errors.Is(err, connections.ErrReShardInProgress) {
			t.Fatalf("%s while a retry waits: %v", name, err)
		}
	}
	// A count that fits, now: the second attempt starts at once and answers both callers. (The
	// spare starts cover identifies the simulator refuses for pacing on a loaded machine.)
	if err := conn.ReShard(ctxT(t), 6); err != nil {
		t.Fatalf("ReShard(6) during the wait: %v", err)
	}
	awaitReply(t, first, "first caller")
	done := rec.reShardEvent(t, events.ReShardDone)
	if done.Old != 4 || done.New != 6 || !strings.Contains(done.Reason, "(attempt 2)") {
		t.Fatalf("done event %+v", done)
	}
	if r := obs.last(); r.Attempt != 2 {
		t.Fatalf("observer %+v", r)
	}
}
