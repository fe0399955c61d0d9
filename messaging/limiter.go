package messaging

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cordage/cordage/clock"
)

// limiter keeps every bucket and the global window. One mutex guards all of it: a bot makes at
// most tens of requests per second, and one lock keeps moves between buckets simple.
//
// A request waits in its bucket's FIFO queue. Only the head of a queue decides: it goes when the
// bucket has a request left (and, unless exempt, the global window has room), else it sleeps
// until the reset, or until a response wakes it. Waiting requests sleep in the caller's
// goroutine, so the limiter starts no goroutines of its own.
type limiter struct {
	clk clock.Clock

	mu        sync.Mutex
	routes    map[string]string // route key -> bucket hash learned from X-RateLimit-Bucket
	buckets   map[string]*bucket
	global    globalWindow
	lastSweep time.Time
}

type bucket struct {
	key  string
	hash string // "" until learned
	// learned is set once a response told the bucket's limits; until then one request at a
	// time is let through, so the first answer teaches the rest.
	learned bool
	// unlimited is set when a success carried no bucket headers: the route has no per-route
	// limit, only the global one.
	unlimited bool
	limit     int
	remaining int
	resetAt   time.Time // zero: not known (the window reset locally and no answer came yet)
	// epoch counts local window resets; answers from an older window do not lower remaining.
	epoch uint64
	// hold is set by a user or shared 429: nothing goes before it, whatever later answers say.
	hold     time.Time
	inflight int
	queue    []*waiter
	// alias is where this bucket's queue moved when its hash turned out to be shared.
	alias    *bucket
	lastUsed time.Time
}

type waiter struct {
	b    *bucket
	wake chan struct{}
}

// ticket is a permission to send, returned to the limiter with the answer.
type ticket struct {
	b        *bucket
	epoch    uint64
	routeKey string
	major    string
	// waited is the clock time spent queued.
	waited time.Duration
}

func newLimiter(clk clock.Clock, globalLimit int, globalWindow time.Duration) *limiter {
	return &limiter{
		clk:     clk,
		routes:  map[string]string{},
		buckets: map[string]*bucket{},
		global:  newGlobalWindow(globalLimit, globalWindow),
	}
}

// bucketFor returns the bucket a route with a major parameter uses now. Callers hold l.mu.
func (l *limiter) bucketFor(routeKey, major string) *bucket {
	key := "?" + routeKey + "|" + major
	// A provisional bucket still waiting for its first answer keeps its route and major,
	// even if another major has meanwhile taught the route's hash: two probes in flight on
	// one unknown bucket could overrun it.
	if b := l.buckets[key]; b != nil {
		return b
	}
	hash, known := l.routes[routeKey]
	if known && hash != "" {
		key = hash + "|" + major
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{key: key, hash: hash}
		l.buckets[key] = b
	}
	return b
}

// ready says whether the bucket lets one more request go at now; if not, until is when to look
// again (zero: wait for an answer to wake the queue).
func (b *bucket) ready(now time.Time) (ok bool, until time.Time) {
	if now.Before(b.hold) {
		return false, b.hold
	}
	if b.unlimited {
		return true, time.Time{}
	}
	if !b.learned {
		return b.inflight == 0, time.Time{}
	}
	if !b.resetAt.IsZero() && !now.Before(b.resetAt) {
		b.remaining = b.limit
		b.resetAt = time.Time{}
		b.epoch++
	}
	if b.remaining > 0 {
		return true, time.Time{}
	}
	if b.resetAt.IsZero() {
		// Spent, and no answer has said when the window ends: probe with one request.
		return b.inflight == 0, time.Time{}
	}
	return false, b.resetAt
}

func (l *limiter) wakeHead(b *bucket) {
	if len(b.queue) > 0 {
		select {
		case b.queue[0].wake <- struct{}{}:
		default:
		}
	}
}

func (b *bucket) remove(w *waiter) {
	for i, q := range b.queue {
		if q == w {
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			return
		}
	}
}

// errWaitPastDeadline is returned when a rate-limit wait would outlast the context's deadline.
type errWaitPastDeadline struct{ wait time.Duration }

func (e errWaitPastDeadline) Error() string {
	return fmt.Sprintf("rate-limit wait of %v exceeds the context deadline", e.wait)
}
func (e errWaitPastDeadline) Unwrap() error { return context.DeadlineExceeded }

// acquire queues a request on its bucket and returns when it may be sent. front puts a retry
// ahead of the queue, so a 429 does not cost a request its place. A cancelled ctx removes the
// request from the queue.
func (l *limiter) acquire(ctx context.Context, routeKey, major string, exempt, front bool) (*ticket, error) {
	l.mu.Lock()
	start := l.clk.Now()
	l.sweep(start)
	b := l.bucketFor(routeKey, major)
	w := &waiter{b: b, wake: make(chan struct{}, 1)}
	if front {
		b.queue = append([]*waiter{w}, b.queue...)
	} else {
		b.queue = append(b.queue, w)
	}
	for {
		b = w.b
		var until time.Time
		now := l.clk.Now()
		head := b.queue[0] == w
		if head {
			ok, bu := b.ready(now)
			until = bu
			if ok && !exempt {
				if gok, gu := l.global.ready(now); !gok {
					ok, until = false, gu
				}
			}
			if ok {
				if b.learned && !b.unlimited && b.remaining > 0 {
					b.remaining--
				}
				if !exempt {
					l.global.take(now)
				}
				b.queue = b.queue[1:]
				b.inflight++
				b.lastUsed = now
				t := &ticket{b: b, epoch: b.epoch, routeKey: routeKey, major: major, waited: now.Sub(start)}
				l.wakeHead(b)
				l.mu.Unlock()
				return t, nil
			}
			if !until.IsZero() {
				if dl, has := ctx.Deadline(); has {
					wait := until.Sub(now)
					if real := time.Duration(float64(wait) / clock.Factor(l.clk)); time.Until(dl) < real {
						b.remove(w)
						l.wakeHead(b)
						l.mu.Unlock()
						return nil, errWaitPastDeadline{wait: wait}
					}
				}
			}
		}
		l.mu.Unlock()

		var timer clock.Timer
		var fire <-chan time.Time
		if !until.IsZero() {
			timer = l.clk.NewTimer(until.Sub(now))
			fire = timer.C()
			// If the clock jumped while the timer was being made (a manual or heavily
			// scaled clock), its deadline may lie past until: look again instead.
			if l.clk.Now().Sub(now) > time.Millisecond {
				timer.Stop()
				l.mu.Lock()
				continue
			}
		}
		select {
		case <-w.wake:
		case <-fire:
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			l.mu.Lock()
			w.b.remove(w)
			l.wakeHead(w.b)
			l.mu.Unlock()
			return nil, ctx.Err()
		}
		if timer != nil {
			timer.Stop()
		}
		l.mu.Lock()
	}
}

// headerPrecision is added to every wait Discord announces: Reset-After and retry_after carry
// milliseconds, so a value rounded down could make the client knock a fraction of a
// millisecond early.
const headerPrecision = time.Millisecond

// limitInfo is what an answer said about its limits.
type limitInfo struct {
	hash       string
	hasLimits  bool // Limit, Remaining and Reset-After were all present
	limit      int
	remaining  int
	resetAfter time.Duration
	// set for 429s
	limited    bool
	scope      Scope
	retryAfter time.Duration
}

// release returns a ticket with what the answer said (nil info: no answer, e.g. a transport
// error or a cancelled request).
func (l *limiter) release(t *ticket, info *limitInfo, status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := t.b
	for b.alias != nil {
		b = b.alias
	}
	b.inflight--
	now := l.clk.Now()
	if info != nil {
		if info.hash != "" && b.hash != info.hash {
			l.routes[t.routeKey] = info.hash
			b = l.rehome(b, info.hash, t.major)
		}
		if info.hasLimits {
			resetAt := now.Add(info.resetAfter + headerPrecision)
			switch {
			case !b.learned || b.unlimited:
				b.learned, b.unlimited = true, false
				// Requests of a route that shares this bucket may still be in flight and
				// not yet counted by the answer.
				b.limit, b.remaining, b.resetAt = info.limit, max(0, info.remaining-b.inflight), resetAt
			case b != t.b:
				// The answer came through a route that has just joined this shared bucket:
				// it describes the same server-side counter, seen from another queue. Keep
				// the stricter of the two views.
				b.limit = info.limit
				b.remaining = min(b.remaining, max(0, info.remaining-b.inflight))
				if resetAt.After(b.resetAt) {
					b.resetAt = resetAt
				}
			case t.epoch == b.epoch:
				// Every answer of the window bounds the server's reset from above: it was
				// read after the server computed Reset-After. The earliest bound is the
				// tightest, so the fastest answer sets the reset, not the slowest.
				b.limit = info.limit
				b.remaining = min(b.remaining, info.remaining)
				if b.resetAt.IsZero() || resetAt.Before(b.resetAt) {
					b.resetAt = resetAt
				}
			default:
				// An answer from a window that has since reset locally: stale.
			}
		} else if status >= 200 && status < 300 && !b.learned {
			b.learned, b.unlimited = true, true
		}
		if info.limited {
			until := now.Add(info.retryAfter + headerPrecision)
			if info.scope == ScopeGlobal || info.scope == ScopeCloudflare {
				l.global.block(until)
			} else {
				if !b.learned || b.unlimited {
					b.learned, b.unlimited = true, false
					if b.limit == 0 {
						b.limit = 1
					}
				}
				b.remaining = 0
				if until.After(b.resetAt) {
					b.resetAt = until
				}
				if until.After(b.hold) {
					b.hold = until
				}
			}
		}
	}
	l.wakeHead(b)
}

// rehome moves bucket b to the key of its learned hash. If another route already owns a bucket
// under that hash and major, b's queue joins it (in order) and b becomes an alias. Callers hold
// l.mu.
func (l *limiter) rehome(b *bucket, hash, major string) *bucket {
	key := hash + "|" + major
	other := l.buckets[key]
	if other == nil {
		if l.buckets[b.key] == b {
			delete(l.buckets, b.key)
		}
		b.key, b.hash = key, hash
		l.buckets[key] = b
		return b
	}
	if other == b {
		return b
	}
	for _, w := range b.queue {
		w.b = other
	}
	other.queue = append(other.queue, b.queue...)
	other.inflight += b.inflight
	b.queue, b.inflight = nil, 0
	b.alias = other
	if l.buckets[b.key] == b {
		delete(l.buckets, b.key)
	}
	return other
}

// sweep forgets idle buckets now and then so that a bot touching many channels does not grow
// the map for ever. Callers hold l.mu.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if len(b.queue) == 0 && b.inflight == 0 && (b.resetAt.IsZero() || now.After(b.resetAt)) && now.After(b.hold) && now.Sub(b.lastUsed) > 5*time.Minute {
			delete(l.buckets, k)
		}
	}
}

// globalWindow lets at most limit requests start in any span of window (a sliding log), and
// holds everything while a global 429's retry_after runs.
type globalWindow struct {
	limit   int
	window  time.Duration
	log     []time.Time // ring of the last limit send times
	next    int
	blocked time.Time
}

func newGlobalWindow(limit int, window time.Duration) globalWindow {
	return globalWindow{limit: limit, window: window, log: make([]time.Time, limit)}
}

func (g *globalWindow) ready(now time.Time) (bool, time.Time) {
	if now.Before(g.blocked) {
		return false, g.blocked
	}
	if g.limit <= 0 {
		return true, time.Time{}
	}
	oldest := g.log[g.next]
	if oldest.IsZero() || now.Sub(oldest) >= g.window {
		return true, time.Time{}
	}
	return false, oldest.Add(g.window)
}

func (g *globalWindow) take(now time.Time) {
	if g.limit <= 0 {
		return
	}
	g.log[g.next] = now
	g.next = (g.next + 1) % g.limit
}

func (g *globalWindow) block(until time.Time) {
	if until.After(g.blocked) {
		g.blocked = until
	}
}
