// Package clock gives Cordage's runtime, REST client and simulator one notion of time that tests
// can speed up. Every rule Discord states in seconds (5 s identify spacing, 41.25 s heartbeats,
// 60 s send windows, 30 s member-request limits) runs on a Clock, so a test with a Scaled clock
// exercises the same logic in milliseconds instead of sleeping through it.
//
// Packages that take a clock declare the Clock interface they need; the types here satisfy it.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and makes timers.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once after d (clock time).
	NewTimer(d time.Duration) Timer
	// NewTicker returns a ticker that fires every d (clock time).
	NewTicker(d time.Duration) Ticker
}

// Timer is a one-shot timer made by a Clock.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// Ticker is a repeating timer made by a Clock.
type Ticker interface {
	C() <-chan time.Time
	Stop()
	Reset(d time.Duration)
}

// Real returns the wall clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time                 { return time.Now() }
func (realClock) NewTimer(d time.Duration) Timer { return &realTimer{t: time.NewTimer(d), scale: 1} }
func (realClock) NewTicker(d time.Duration) Ticker {
	return &realTicker{t: time.NewTicker(d), scale: 1}
}

// Scaled returns a clock that runs factor times faster than the wall clock: with factor 1000 a
// 5-second rule takes 5 ms. Now starts at the wall time of the call and advances factor times
// faster. Two Scaled clocks with the same factor agree on durations, so a runtime and a
// simulator each given one see the same rules.
func Scaled(factor float64) Clock {
	if factor <= 0 {
		factor = 1
	}
	now := time.Now()
	return &scaledClock{factor: factor, start: now}
}

type scaledClock struct {
	factor float64
	start  time.Time
}

func (c *scaledClock) Now() time.Time {
	elapsed := time.Since(c.start)
	return c.start.Add(time.Duration(float64(elapsed) * c.factor))
}

func (c *scaledClock) real(d time.Duration) time.Duration {
	r := time.Duration(float64(d) / c.factor)
	if d > 0 && r <= 0 {
		r = 1
	}
	return r
}

func (c *scaledClock) NewTimer(d time.Duration) Timer {
	return &realTimer{t: time.NewTimer(c.real(d)), scale: c.factor}
}

func (c *scaledClock) NewTicker(d time.Duration) Ticker {
	return &realTicker{t: time.NewTicker(c.real(d)), scale: c.factor}
}

// Factor returns how many times faster than the wall clock c runs: 1 for the real clock, the
// factor for a Scaled clock, and 1 for any other Clock.
func Factor(c Clock) float64 {
	if s, ok := c.(*scaledClock); ok {
		return s.factor
	}
	return 1
}

func scaleDown(d time.Duration, factor float64) time.Duration {
	if factor == 1 {
		return d
	}
	r := time.Duration(float64(d) / factor)
	if d > 0 && r <= 0 {
		r = 1
	}
	return r
}

type realTimer struct {
	t     *time.Timer
	scale float64
}

func (t *realTimer) C() <-chan time.Time        { return t.t.C }
func (t *realTimer) Stop() bool                 { return t.t.Stop() }
func (t *realTimer) Reset(d time.Duration) bool { return t.t.Reset(scaleDown(d, t.scale)) }

type realTicker struct {
	t     *time.Ticker
	scale float64
}

func (t *realTicker) C() <-chan time.Time   { return t.t.C }
func (t *realTicker) Stop()                 { t.t.Stop() }
func (t *realTicker) Reset(d time.Duration) { t.t.Reset(scaleDown(d, t.scale)) }

// Sleep waits d on c, or until done is closed; it reports whether the full time passed.
func Sleep(c Clock, d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-done:
		return false
	}
}

// Manual is a clock that moves only when Advance is called: for unit tests of timing rules
// that must not depend on the machine's speed at all.
//
// Only armed timers and tickers are kept: a timer that fired or was stopped is dropped until
// Reset arms it again, so a long test that makes a timer per wait does not slow Advance down.
type Manual struct {
	mu      sync.Mutex
	now     time.Time
	armed   []*manualTimer
	changed chan struct{} // closed (and replaced) whenever the number of armed timers grows
}

// NewManual returns a Manual clock reading start.
func NewManual(start time.Time) *Manual { return &Manual{now: start} }

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Advance moves the clock forward by d and fires every timer and ticker that falls due, in order.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	target := m.now.Add(d)
	for {
		var next *manualTimer
		for _, w := range m.armed {
			if !w.when.After(target) && (next == nil || w.when.Before(next.when)) {
				next = w
			}
		}
		if next == nil {
			break
		}
		m.now = next.when
		next.fire(m.now)
	}
	m.now = target
}

// Waiters returns how many timers and tickers are armed; tests use it to know that a
// goroutine has reached its wait before they Advance. AwaitWaiters waits for a count.
func (m *Manual) Waiters() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.armed)
}

// AwaitWaiters blocks until at least n timers and tickers are armed, or ctx ends (its error is
// returned). A test calls it before Advance to be sure the goroutines it drives have reached
// their waits, instead of polling Waiters.
func (m *Manual) AwaitWaiters(ctx context.Context, n int) error {
	for {
		m.mu.Lock()
		if len(m.armed) >= n {
			m.mu.Unlock()
			return nil
		}
		if m.changed == nil {
			m.changed = make(chan struct{})
		}
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// arm adds t to the armed set (m.mu held). Callers have checked that t is not armed.
func (m *Manual) arm(t *manualTimer) {
	t.active = true
	m.armed = append(m.armed, t)
	if m.changed != nil {
		close(m.changed)
		m.changed = nil
	}
}

// disarm removes t from the armed set (m.mu held), keeping the others in arming order.
func (m *Manual) disarm(t *manualTimer) {
	t.active = false
	for i, w := range m.armed {
		if w == t {
			last := len(m.armed) - 1
			copy(m.armed[i:], m.armed[i+1:])
			m.armed[last] = nil // the backing array must not keep the timer alive
			m.armed = m.armed[:last]
			return
		}
	}
}

func (m *Manual) add(d time.Duration, period time.Duration) *manualTimer {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &manualTimer{m: m, c: make(chan time.Time, 1), when: m.now.Add(d), period: period}
	m.arm(t)
	return t
}

// NewTimer returns a timer that fires when the clock has been advanced past d.
func (m *Manual) NewTimer(d time.Duration) Timer { return m.add(d, 0) }

// NewTicker returns a ticker that fires every d of advanced time.
func (m *Manual) NewTicker(d time.Duration) Ticker { return (*manualTicker)(m.add(d, d)) }

type manualTimer struct {
	m      *Manual
	c      chan time.Time
	when   time.Time
	period time.Duration
	active bool // in m.armed
}

// fire runs with m.mu held.
func (t *manualTimer) fire(now time.Time) {
	select {
	case t.c <- now:
	default: // like time.Ticker, a slow reader misses ticks rather than blocking the clock
	}
	if t.period > 0 {
		t.when = t.when.Add(t.period)
	} else {
		t.m.disarm(t)
	}
}

func (t *manualTimer) C() <-chan time.Time { return t.c }

func (t *manualTimer) Stop() bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	was := t.active
	if was {
		t.m.disarm(t)
	}
	return was
}

func (t *manualTimer) Reset(d time.Duration) bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	was := t.active
	t.when = t.m.now.Add(d)
	if t.period > 0 {
		t.period = d
	}
	if !was {
		t.m.arm(t)
	}
	return was
}

type manualTicker manualTimer

func (t *manualTicker) C() <-chan time.Time   { return t.c }
func (t *manualTicker) Stop()                 { (*manualTimer)(t).Stop() }
func (t *manualTicker) Reset(d time.Duration) { (*manualTimer)(t).Reset(d) }
