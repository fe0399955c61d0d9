package connections_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
)

// After a 4011 the re-shard is retried by default: the first new set is closed with 4011 too
// (so the retry asks for twice as many shards), the second attempt swaps. Under traffic, every
// MESSAGE_CREATE sent to a session the bot kept (the old set's, the final set's) is delivered
// exactly once. What only the given-up set received (the closed shard's guilds) is delivered at
// most once: what it had read when it was given up goes out, what was still in flight is lost.
func TestReShardRetryAfter4011(t *testing.T) {
	const guilds = 16
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithGuilds(guilds), fakediscord.WithShardCount(2), fakediscord.WithMaxConcurrency(2))
	gate, gateOpt := newHeldGate(clk, 2)
	obs := &reshardObserver{}
	conn, rec := connectClock(t, srv, clk, connections.WithObserver(obs), gateOpt)
	// Shard 3 of the first new set stays at the gate until its shard 2 has been closed: the set
	// cannot be complete before the fault. (Abandoned with its set; released at the end.)
	release := gate.holdNext(3)
	defer release()
	stop := srv.StartTraffic(fakediscord.TrafficConfig{Rate: 100, Count: 1 << 30})
	defer stop()
	rec.wait(t, "traffic", func(evs []stamped) bool { return countStamped(evs, "MESSAGE_CREATE") >= 50 })

	closedAt := clk.Now()
	if err := srv.CloseWith(1, events.CloseShardingRequired); err != nil {
		t.Fatal(err)
	}
	// Shard 2 exists only in the new set (of 4): close it with 4011 once it has a session.
	waitIdentified(t, srv, 2, 4)
	if err := srv.CloseWith(2, events.CloseShardingRequired); err != nil {
		t.Fatal(err)
	}
	failed := rec.reShardEvent(t, events.ReShardFailed)
	var rse *connections.ReShardError
	if !errors.As(failed.Err, &rse) || rse.Attempt != 1 || rse.RetryIn <= 0 || !strings.Contains(failed.Err.Error(), "4011") {
		t.Fatalf("failed event %+v (err %v)", failed, failed.Err)
	}
	if failed.Attempt != rse.Attempt || failed.RetryIn != rse.RetryIn {
		t.Fatalf("failed event says attempt %d, retry in %v; its error says %d, %v", failed.Attempt, failed.RetryIn, rse.Attempt, rse.RetryIn)
	}
	// The default schedule: 15 s ± 20 % for the first retry.
	if rse.RetryIn < 12*time.Second || rse.RetryIn > 18*time.Second {
		t.Fatalf("first retry in %v, want 15 s ± 20 %%", rse.RetryIn)
	}
	done := rec.reShardEvent(t, events.ReShardDone)
	if done.Old != 2 || done.New != 8 || done.Attempt != 2 || !strings.Contains(done.Reason, "(attempt 2)") {
		t.Fatalf("done event %+v", done)
	}
	before := countStamped(rec.snapshot(), "MESSAGE_CREATE")
	rec.wait(t, "traffic after the swap", func(evs []stamped) bool { return countStamped(evs, "MESSAGE_CREATE") >= before+300 })
	stop()

	// The ledger: sessions of the given-up set of 4 are not the bot's.
	kept := ledgerTrafficOf(srv, func(s fakediscord.LedgerSession) bool { return s.ShardCount != 4 })
	onlyGivenUp := map[string]bool{}
	for h := range ledgerTraffic(srv) {
		if !kept[h] {
			onlyGivenUp[h] = true
		}
	}
	sent, rescued := checkExactlyOnceOf(t, srv, rec, kept, onlyGivenUp)
	// Of those, the ones written to the given-up set's sockets (the rest were buffered by the
	// simulator for sessions that never resumed) are what the runtime could have delivered.
	written := map[string]bool{}
	for _, sess := range srv.Ledger().Sessions {
		for _, e := range sess.Dispatches {
			if sess.ShardCount == 4 && e.T == "MESSAGE_CREATE" && e.Writes > 0 && onlyGivenUp[e.Hash] {
				written[e.Hash] = true
			}
		}
	}
	// A few may have been in flight as the set was given up (read after it, dropped); more than
	// ten, or a quarter, is a fault.
	if rescued > len(written) || len(written)-rescued > max(10, len(written)/4) {
		t.Fatalf("%d of the %d MESSAGE_CREATEs written only to the given-up set delivered", rescued, len(written))
	}

	evs := rec.snapshot()
	var failedAt, retryAt, doneAt time.Time
	for _, s := range evs {
		if rs, ok := s.ev.Runtime.(events.ReShard); ok {
			switch {
			case rs.Phase == events.ReShardFailed:
				failedAt = s.at
			case rs.Phase == events.ReShardStarted && strings.Contains(rs.Reason, "(attempt 2)"):
				retryAt = s.at
			case rs.Phase == events.ReShardDone:
				doneAt = s.at
			}
		}
	}
	if retryAt.Sub(failedAt) < rse.RetryIn-time.Second {
		t.Fatalf("attempt 2 started %v after the failure, announced %v", retryAt.Sub(failedAt), rse.RetryIn)
	}
	// The observer saw both attempts.
	obs.mu.Lock()
	reports := append([]connections.ReShardReport(nil), obs.reports...)
	obs.mu.Unlock()
	var phases []string
	for _, r := range reports {
		phases = append(phases, string(r.Phase)+"/"+string(rune('0'+r.Attempt)))
	}
	if strings.Join(phases, " ") != "started/1 failed/1 started/2 done/2" {
		t.Fatalf("observer reports %v", phases)
	}
	// Released counts what went out at the abort; what the set read later is counted nowhere.
	if r := reports[1]; r.RetryIn != rse.RetryIn || r.New != 4 || r.Released > rescued {
		t.Fatalf("failed report %+v", r)
	}
	states, err := conn.ShardStates(ctxT(t))
	if err != nil || len(states) != 8 || states[0].Count != 8 {
		t.Fatalf("ShardStates after the retry: %v, %v", states, err)
	}
	t.Logf("attempt 1 failed %v after the 4011; attempt 2 started %v later (announced %v) and swapped after %v (clock); %d MESSAGE_CREATEs delivered exactly once; %d written only to the given-up set's sockets, %d of them delivered as it was given up (%d more buffered for its sessions, never written)",
		failedAt.Sub(closedAt), retryAt.Sub(failedAt), rse.RetryIn, doneAt.Sub(retryAt), sent, len(written), rescued, len(onlyGivenUp)-len(written))
}

// WithReShardRetry refuses schedules that make no sense, with ErrInvalidOption and the option
// named, before anything connects.
func TestWithReShardRetryValidation(t *testing.T) {
	good := connections.DefaultReShardRetry
	bad := map[string]connections.ReShardRetry{}
	for name, mod := range map[string]func(*connections.ReShardRetry){
		"zero base":        func(r *connections.ReShardRetry) { r.Backoff.Base = 0 },
		"max below base":   func(r *connections.ReShardRetry) { r.Backoff.Max = r.Backoff.Base / 2 },
		"shrinking":        func(r *connections.ReShardRetry) { r.Backoff.Multiplier = 0.5 },
		"jitter over 1":    func(r *connections.ReShardRetry) { r.Backoff.Jitter = 1.5 },
		"negative jitter":  func(r *connections.ReShardRetry) { r.Backoff.Jitter = -0.1 },
		"negative attempt": func(r *connections.ReShardRetry) { r.MaxAttempts = -1 },
	} {
		r := good
		mod(&r)
		bad[name] = r
	}
	for name, r := range bad {
		_, err := connections.ConnectBot(t.Context(), "token", make(chan connections.Event), connections.WithReShardRetry(r))
		if !errors.Is(err, connections.ErrInvalidOption) || !strings.Contains(err.Error(), "WithReShardRetry") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A valid schedule passes validation: the connection then fails for want of a server.
	_, err := connections.ConnectBot(t.Context(), "token", make(chan connections.Event),
		connections.WithReShardRetry(connections.ReShardRetry{Backoff: good.Backoff, MaxAttempts: 1, Requested: true}),
		connections.WithAPIURL("http://127.0.0.1:1"))
	if err == nil || errors.Is(err, connections.ErrInvalidOption) {
		t.Fatalf("valid schedule: %v", err)
	}
}

// waitIdentified waits until the simulator accepted an identify of shard of count.
func waitIdentified(t *testing.T, srv *fakediscord.Server, shard, count int) {
	t.Helper()
	if err := srv.WaitFor(ctxT(t), func(sn *fakediscord.Snapshot) bool {
		for _, id := range sn.Identifies {
			if id.Accepted && id.Shard == shard && id.ShardCount == count {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatal(err)
	}
}

// A 4011 on the running set during a re-shard asked for by command makes that re-shard one
// Discord requires: when its new set fails (closed with 4011 too) it is retried, with twice the
// count, and the command's caller is answered after the swap.
func TestReShardCommandBecomesRequired(t *testing.T) {
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithGuilds(16), fakediscord.WithShardCount(2), fakediscord.WithMaxConcurrency(2))
	gate, gateOpt := newHeldGate(clk, 2)
	conn, rec := connectClock(t, srv, clk, gateOpt)
	// The new set's shard 1 waits at the gate, so closing shard 1 reaches the old set's only;
	// its shard 3 too, so the set cannot be complete before its shard 2 is closed.
	release1, release3 := gate.holdNext(1), gate.holdNext(3)
	defer release1()
	defer release3()
	reply := make(chan error, 1)
	if err := conn.Send(ctxT(t), connections.ReShard{Count: 4, Reply: reply}); err != nil {
		t.Fatal(err)
	}
	rec.reShardEvent(t, events.ReShardStarted)
	if err := srv.CloseWith(1, events.CloseShardingRequired); err != nil {
		t.Fatal(err)
	}
	waitIdentified(t, srv, 2, 4)
	if err := srv.CloseWith(2, events.CloseShardingRequired); err != nil {
		t.Fatal(err)
	}
	failed := rec.reShardEvent(t, events.ReShardFailed)
	var rse *connections.ReShardError
	if !errors.As(failed.Err, &rse) || rse.RetryIn <= 0 {
		t.Fatalf("failed event %+v: want a retry", failed.Err)
	}
	awaitReply(t, reply, "ReShard")
	done := rec.reShardEvent(t, events.ReShardDone)
	if done.New != 8 || !strings.Contains(done.Reason, "command (attempt 2)") {
		t.Fatalf("done event %+v", done)
	}
}
