// Package sendwindow enforces Discord's limit on what a client sends over one gateway
// connection: 120 events per 60 seconds, heartbeats included; past that the server closes with
// 4008 (protocol.md §6). A Window keeps a few of those sends for heartbeats, so that a burst
// of commands can never starve the heartbeat that keeps the session alive.
//
// # Sliding, not fixed
//
// A Window remembers the time of every send it allowed in the last period (a ring of at most
// limit timestamps) and allows a send only if fewer than the allowed number happened in the
// period ending now. Discord does not document how its window is aligned. A fixed window on
// our side could allow up to 2×limit sends in one period of the server's, if the two are not
// aligned: limit at the end of one of our windows and limit at the start of the next. A
// sliding window never has more than limit sends in any period, however the server aligns its
// own. A slot taken at t is free again at t+per exactly; callers that want a margin for clock
// drift or network delay pass a slightly longer per.
//
// # Concurrency
//
// A Window is safe for concurrent use.
package sendwindow

import (
	"sync"
	"time"
)

// Discord's gateway send limit per connection.
const (
	GatewayLimit = 120
	GatewayPer   = 60 * time.Second
)

// Clock tells the time; package clock's clocks satisfy it.
type Clock interface{ Now() time.Time }

// Window is a sliding-window send limiter for one gateway connection.
type Window struct {
	clock   Clock
	limit   int
	reserve int
	per     time.Duration

	mu   sync.Mutex
	base time.Time       // sends are stored as offsets from base (8 bytes instead of 24)
	ts   []time.Duration // ring of send times, oldest at head
	head int
	n    int
}

// New returns a Window allowing limit sends per period per, of which reserve are kept for
// heartbeats: ordinary commands may use limit-reserve of them, heartbeats all of them. For
// Discord use New(c, GatewayLimit, GatewayPer, 5): commands get 115 per minute, and even after
// a full burst of commands a heartbeat still finds room.
//
// Out-of-range arguments are clamped rather than refused: limit to at least 1, per to at
// least 1 ns, reserve to [0, limit].
func New(c Clock, limit int, per time.Duration, reserve int) *Window {
	limit = max(limit, 1)
	per = max(per, 1)
	reserve = min(max(reserve, 0), limit)
	return &Window{
		clock:   c,
		limit:   limit,
		reserve: reserve,
		per:     per,
		base:    c.Now(),
		ts:      make([]time.Duration, limit),
	}
}

// Allow takes a slot now if one is free for this kind of send. A heartbeat may use the
// reserve; an ordinary command may not. When no slot is free it returns false and how long
// until one will be (assuming no other send takes it first); nothing is recorded.
func (w *Window) Allow(heartbeat bool) (ok bool, retryAfter time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.clock.Now().Sub(w.base)
	w.expire(now)
	allowed := w.limit
	if !heartbeat {
		allowed -= w.reserve
	}
	if w.n < allowed {
		w.ts[(w.head+w.n)%len(w.ts)] = now
		w.n++
		return true, 0
	}
	if allowed == 0 {
		// Every slot is reserved for heartbeats: ordinary sends never fit. Say so with the
		// longest honest wait rather than a wait that would only fail again.
		return false, w.per
	}
	// A slot opens when the count drops below allowed: once the (n-allowed+1) oldest sends
	// have expired. The k-th oldest (0-based k = n-allowed) expires at its time + per.
	k := w.n - allowed
	return false, w.ts[(w.head+k)%len(w.ts)] + w.per - now
}

// Used returns how many slots sends took in the period ending now.
func (w *Window) Used() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expire(w.clock.Now().Sub(w.base))
	return w.n
}

// Reset forgets every send, for a new connection.
func (w *Window) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.base = w.clock.Now()
	w.head = 0
	w.n = 0
}

// expire drops sends that are at least per old.
func (w *Window) expire(now time.Duration) {
	for w.n > 0 && now-w.ts[w.head] >= w.per {
		w.head = (w.head + 1) % len(w.ts)
		w.n--
	}
}
