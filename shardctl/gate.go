package shardctl

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cordage/cordage/clock"
)

// IdentifyInterval is how long Discord wants between two identifies with the same rate-limit key.
const IdentifyInterval = 5 * time.Second

// Gate grants permission to send an Identify.
//
// Wait blocks until shardID may identify, or until ctx ends (then it returns ctx's error and
// holds nothing). On success the caller owns the shard's rate-limit key until it calls release,
// which it must do exactly once, right after the Identify frame was written or as soon as it
// gives up on sending it. Further calls to release do nothing. The spacing to the next identify
// on the same key counts from release, so a slow dial cannot squeeze two identifies together.
//
// A Gate is safe for concurrent use. Resumes never go through a Gate.
type Gate interface {
	Wait(ctx context.Context, shardID int) (release func(), err error)
}

// ErrBudgetExhausted is returned by a gate whose session-start budget is used up. Identifying
// past the budget would make Discord reset the bot token.
var ErrBudgetExhausted = errors.New("shardctl: session start budget exhausted")

// ErrInvalidShard is returned for a negative shard id.
var ErrInvalidShard = errors.New("shardctl: invalid shard id")

// LocalGate is the in-process Gate: one identify per rate-limit key (shard_id % max_concurrency)
// per interval, shards of one key served in the order they asked, and an optional cap on the
// number of sessions started.
type LocalGate struct {
	maxConcurrency int
	clock          clock.Clock
	interval       time.Duration

	mu      sync.Mutex
	buckets map[int]*bucket
	limited bool
	budget  int
	granted int
	onGrant func(shardID int, waited time.Duration)
}

type bucket struct {
	// token holds one value while the key is free. Go queues blocked receivers in arrival
	// order, so waiters on one key are served first come, first served.
	token chan struct{}
	// next is the earliest time the next identify on this key may go out. Only the holder of
	// token reads or writes it; the channel hand-off orders those accesses.
	next time.Time
}

// GateOption configures a LocalGate.
type GateOption func(*LocalGate)

// WithGateClock sets the clock the gate measures spacing with (default: the wall clock).
func WithGateClock(c clock.Clock) GateOption {
	return func(g *LocalGate) {
		if c != nil {
			g.clock = c
		}
	}
}

// WithInterval sets the spacing between identifies on one key (default IdentifyInterval).
// Discord's rule is 5 s; a larger value adds safety margin.
func WithInterval(d time.Duration) GateOption {
	return func(g *LocalGate) {
		if d > 0 {
			g.interval = d
		}
	}
}

// WithBudget caps how many identifies the gate grants in total (typically
// session_start_limit.remaining). Once spent, Wait returns ErrBudgetExhausted. Default: no cap.
func WithBudget(remaining int) GateOption {
	return func(g *LocalGate) {
		g.limited = true
		g.budget = max(remaining, 0)
	}
}

// WithGrantHook calls fn (from the waiting goroutine) each time a shard is granted an identify,
// with how long it waited. It must not block.
func WithGrantHook(fn func(shardID int, waited time.Duration)) GateOption {
	return func(g *LocalGate) { g.onGrant = fn }
}

// NewLocalGate returns a gate for a bot with the given max_concurrency (values below 1 count
// as 1).
func NewLocalGate(maxConcurrency int, opts ...GateOption) *LocalGate {
	g := &LocalGate{
		maxConcurrency: max(maxConcurrency, 1),
		clock:          clock.Real(),
		interval:       IdentifyInterval,
		buckets:        make(map[int]*bucket),
	}
	for _, o := range opts {
		o(g)
	}
	return g
}

// MaxConcurrency returns the number of rate-limit keys.
func (g *LocalGate) MaxConcurrency() int { return g.maxConcurrency }

// Key returns the rate-limit key of a shard: shardID % max_concurrency.
func (g *LocalGate) Key(shardID int) int { return shardID % g.maxConcurrency }

// Granted returns how many identifies the gate has allowed so far.
func (g *LocalGate) Granted() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.granted
}

// Remaining returns the budget left, and false when the gate has no budget cap.
func (g *LocalGate) Remaining() (int, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.budget, g.limited
}

func (g *LocalGate) bucket(key int) *bucket {
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.buckets[key]
	if !ok {
		b = &bucket{token: make(chan struct{}, 1)}
		b.token <- struct{}{}
		g.buckets[key] = b
	}
	return b
}

// Wait implements Gate.
func (g *LocalGate) Wait(ctx context.Context, shardID int) (func(), error) {
	if shardID < 0 {
		return nil, fmt.Errorf("%w: %d", ErrInvalidShard, shardID)
	}
	start := g.clock.Now()
	b := g.bucket(g.Key(shardID))
	select {
	case <-b.token:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if d := b.next.Sub(g.clock.Now()); d > 0 {
		// Fail at once, rather than at the deadline, when the permit cannot come in time
		// (deadlines are wall time; the gate's clock may run faster).
		if dl, ok := ctx.Deadline(); ok && time.Duration(float64(d)/clock.Factor(g.clock)) > time.Until(dl) {
			b.token <- struct{}{}
			return nil, fmt.Errorf("shardctl: shard %d may identify only in %v: %w", shardID, d, context.DeadlineExceeded)
		}
		t := g.clock.NewTimer(d)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			b.token <- struct{}{}
			return nil, ctx.Err()
		}
	}
	g.mu.Lock()
	if g.limited && g.budget <= 0 {
		g.mu.Unlock()
		b.token <- struct{}{}
		return nil, ErrBudgetExhausted
	}
	if g.limited {
		g.budget--
	}
	g.granted++
	hook := g.onGrant
	g.mu.Unlock()
	if hook != nil {
		hook(shardID, g.clock.Now().Sub(start))
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			b.next = g.clock.Now().Add(g.interval)
			b.token <- struct{}{}
		})
	}, nil
}
