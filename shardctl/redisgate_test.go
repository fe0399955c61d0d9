package shardctl_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/shardctl"
	"github.com/cordage/cordage/shardctl/redistest"
)

// testSpacing stands in for Discord's 5 s: Redis TTLs run on the wall clock, so the rule is
// shortened rather than the clock sped up.
const testSpacing = 60 * time.Millisecond

func newGate(t *testing.T, rdb redis.UniversalClient, mc int, opts ...shardctl.RedisGateOption) *shardctl.RedisGate {
	t.Helper()
	g, err := shardctl.NewRedisGate(rdb, mc, append([]shardctl.RedisGateOption{shardctl.WithSpacing(testSpacing)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

type grantRec struct {
	shard             int
	granted, released time.Time
}

// Several gates, each with its own Redis connection pool, stand for several processes: every
// key's identifies are at least one spacing apart, and distinct keys go side by side.
func TestRedisGateSpacingAcrossProcesses(t *testing.T) {
	srv := redistest.Start(t)
	const mc, gates, perGate = 2, 3, 4
	var gs []*shardctl.RedisGate
	for range gates {
		gs = append(gs, newGate(t, srv.Client(), mc))
	}
	var mu sync.Mutex
	var recs []grantRec
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for gi, g := range gs {
		for j := range perGate {
			shard := gi*perGate + j
			wg.Go(func() {
				rel, err := g.Wait(ctx, shard)
				if err != nil {
					t.Error(err)
					return
				}
				granted := time.Now()
				rel() // "the identify was written"
				mu.Lock()
				recs = append(recs, grantRec{shard, granted, time.Now()})
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	if len(recs) != gates*perGate {
		t.Fatalf("%d grants, want %d", len(recs), gates*perGate)
	}
	byKey := map[int][]grantRec{}
	for _, r := range recs {
		byKey[r.shard%mc] = append(byKey[r.shard%mc], r)
	}
	var minGap time.Duration = time.Hour
	for k, rs := range byKey {
		sortByGrant(rs)
		for i := 1; i < len(rs); i++ {
			gap := rs[i].granted.Sub(rs[i-1].released)
			minGap = min(minGap, gap)
			// Redis counts TTLs in whole milliseconds.
			if gap < testSpacing-time.Millisecond {
				t.Errorf("key %d: shard %d granted %v after shard %d released, want ≥ %v", k, rs[i].shard, gap, rs[i-1].shard, testSpacing)
			}
		}
	}
	t.Logf("12 identifies on 2 keys through 3 gates, smallest same-key gap %v (rule %v)", minGap, testSpacing)
	// Keys are independent: with key 0 held by one process, another gets key 1 at once.
	rel0, err := gs[0].Wait(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rel0()
	held, cancelHeld := context.WithTimeout(ctx, 2*time.Second)
	defer cancelHeld()
	rel1, err := gs[1].Wait(held, 1)
	if err != nil {
		t.Fatalf("key 1 blocked while key 0 was held: %v", err)
	}
	rel1()
}

func sortByGrant(rs []grantRec) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].granted.Before(rs[j-1].granted); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// A holder whose process died (its Redis connections gone, so no renewals and no release)
// blocks its key for the hold TTL at most, never for good.
func TestRedisGateDeadHolder(t *testing.T) {
	srv := redistest.Start(t)
	const renew = 10 * time.Millisecond
	deadConn := redis.NewClient(srv.Options())
	dead := newGate(t, deadConn, 1, shardctl.WithRenewInterval(renew), shardctl.WithOpTimeout(100*time.Millisecond))
	live := newGate(t, srv.Client(), 1, shardctl.WithRenewInterval(renew))

	if _, err := dead.Wait(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	grantedDead := time.Now()
	// Renewals keep the key while the holder lives.
	ctx, cancel := context.WithTimeout(t.Context(), 3*testSpacing)
	_, err := live.Wait(ctx, 1)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("key was free while its holder lived: %v", err)
	}
	killedAt := time.Now()
	deadConn.Close() // the holder "dies": nothing of it reaches Redis any more

	rel, err := live.Wait(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	rel()
	blocked := time.Since(killedAt)
	hold := testSpacing + 2*renew
	t.Logf("dead holder blocked the key %v after it died (bound %v)", blocked, hold)
	if time.Since(grantedDead) < hold-time.Millisecond {
		t.Fatalf("key freed %v after the dead holder's grant, before its hold TTL %v", time.Since(grantedDead), hold)
	}
	if blocked > hold+time.Second {
		t.Fatalf("dead holder blocked the key %v, want about %v", blocked, hold)
	}
}

func TestRedisGateBudget(t *testing.T) {
	srv := redistest.Start(t)
	var seen []int
	var mu sync.Mutex
	g := newGate(t, srv.Client(), 4, shardctl.WithBudgetHook(func(rem, total int) {
		mu.Lock()
		seen = append(seen, rem)
		mu.Unlock()
	}))
	if err := g.Seed(t.Context(), events.SessionStartLimit{Total: 100, Remaining: 3, ResetAfter: 60_000, MaxConcurrency: 4}); err != nil {
		t.Fatal(err)
	}
	// A second process seeding from an older, higher reading does not raise the count.
	other := newGate(t, srv.Client(), 4)
	if err := other.Seed(t.Context(), events.SessionStartLimit{Total: 100, Remaining: 50, ResetAfter: 60_000}); err != nil {
		t.Fatal(err)
	}
	for shard := range 3 {
		rel, err := g.Wait(t.Context(), shard)
		if err != nil {
			t.Fatalf("shard %d: %v", shard, err)
		}
		rel()
	}
	_, err := other.Wait(t.Context(), 3)
	var be *shardctl.BudgetExhaustedError
	if !errors.Is(err, shardctl.ErrBudgetExhausted) || !errors.As(err, &be) {
		t.Fatalf("fourth start: %v, want a budget error", err)
	}
	if !strings.Contains(err.Error(), "0 of 100 starts left") || be.ResetAfter <= 0 || be.ResetAfter > time.Minute {
		t.Fatalf("unclear refusal: %v (reset %v)", err, be.ResetAfter)
	}
	if rem, total, ok, err := g.Budget(t.Context()); err != nil || !ok || rem != 0 || total != 100 {
		t.Fatalf("budget %d/%d %v %v", rem, total, ok, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || seen[0] != 2 || seen[2] != 0 {
		t.Fatalf("budget hook saw %v, want [2 1 0]", seen)
	}
}

func TestRedisGateBudgetSourceAndReserve(t *testing.T) {
	srv := redistest.Start(t)
	var calls atomic.Int32
	src := func(context.Context) (events.SessionStartLimit, error) {
		calls.Add(1)
		return events.SessionStartLimit{Total: 1000, Remaining: 4, ResetAfter: 3_600_000, MaxConcurrency: 1}, nil
	}
	g := newGate(t, srv.Client(), 8, shardctl.WithBudgetSource(src), shardctl.WithBudgetReserve(2))
	for shard := range 2 {
		rel, err := g.Wait(t.Context(), shard)
		if err != nil {
			t.Fatal(err)
		}
		rel()
	}
	if _, err := g.Wait(t.Context(), 2); !errors.Is(err, shardctl.ErrBudgetExhausted) {
		t.Fatalf("start into the reserve: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("budget fetched %d times, want once", n)
	}
	// Without a source, a gate that was told to track the budget will not identify blind.
	empty := redistest.Start(t)
	blind := newGate(t, empty.Client(), 1)
	if err := blind.Seed(t.Context(), events.SessionStartLimit{Total: 10, Remaining: 10, ResetAfter: 1}); err != nil {
		t.Fatal(err)
	}
	if err := empty.Client().Del(t.Context(), "{cordage}:budget").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := blind.Wait(t.Context(), 0); !errors.Is(err, shardctl.ErrGateUnavailable) || !strings.Contains(err.Error(), "budget") {
		t.Fatalf("identify without a known budget: %v", err)
	}
}

// Redis killed mid-run: Wait refuses at once (the runtime keeps its connected shards and retries
// identifies later); after a restart with an empty store the gate holds every key for one
// spacing, since it cannot know what was granted just before the crash, then grants again.
func TestRedisGateRedisKilledAndRestarted(t *testing.T) {
	srv := redistest.Start(t)
	var fetches atomic.Int32
	src := func(context.Context) (events.SessionStartLimit, error) {
		fetches.Add(1)
		return events.SessionStartLimit{Total: 1000, Remaining: 900, ResetAfter: 3_600_000, MaxConcurrency: 1}, nil
	}
	g := newGate(t, srv.Client(), 1, shardctl.WithBudgetSource(src), shardctl.WithOpTimeout(200*time.Millisecond))
	rel, err := g.Wait(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	rel() // releasing while Redis is down neither blocks nor panics
	start := time.Now()
	_, err = g.Wait(t.Context(), 1)
	if !errors.Is(err, shardctl.ErrGateUnavailable) {
		t.Fatalf("Wait with Redis down: %v", err)
	}
	t.Logf("Wait refused %v after Redis died: %v", time.Since(start), err)
	if time.Since(start) > 2*time.Second {
		t.Fatalf("refusal took %v", time.Since(start))
	}
	srv.Restart()
	start = time.Now()
	rel, err = g.Wait(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	rel()
	if w := time.Since(start); w < testSpacing-time.Millisecond {
		t.Fatalf("granted %v after the store came back empty, want ≥ %v", w, testSpacing)
	}
	if n := fetches.Load(); n != 2 {
		t.Fatalf("budget fetched %d times, want 2 (start, and after the store lost it)", n)
	}
	if rem, _, ok, _ := g.Budget(t.Context()); !ok || rem != 899 {
		t.Fatalf("budget after restart: %d %v, want 899", rem, ok)
	}
}

func TestRedisGateCancelAndClose(t *testing.T) {
	srv := redistest.Start(t)
	g := newGate(t, srv.Client(), 1)
	rel, err := g.Wait(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := g.Wait(ctx, 1)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
	rel()
	rel()
	if _, err := g.Wait(t.Context(), -1); !errors.Is(err, shardctl.ErrInvalidShard) {
		t.Fatal(err)
	}
	g.Close()
	if _, err := g.Wait(t.Context(), 0); !errors.Is(err, shardctl.ErrGateClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := shardctl.NewRedisGate(nil, 1); err == nil {
		t.Fatal("nil client accepted")
	}
}
