package restsim

import (
	"time"
)

// window is a fixed window that opens with the first request after the previous one closed, the
// way Discord's buckets behave: a fresh bucket's reset time counts from its first use.
type window struct {
	limit     int
	length    time.Duration
	remaining int
	resetAt   time.Time
}

// take spends one request at now. It reports whether the request is allowed, the remaining
// count after it, and the time until the window resets.
func (w *window) take(now time.Time) (ok bool, remaining int, resetAfter time.Duration) {
	if w.resetAt.IsZero() || !now.Before(w.resetAt) {
		w.remaining = w.limit
		w.resetAt = now.Add(w.length)
	}
	if w.remaining <= 0 {
		return false, 0, w.resetAt.Sub(now)
	}
	w.remaining--
	return true, w.remaining, w.resetAt.Sub(now)
}

// block closes the window until now+d, for injected limits.
func (w *window) block(now time.Time, d time.Duration) {
	w.remaining = 0
	w.resetAt = now.Add(d)
}

// invalidCounter counts 401, 403 and non-shared 429 answers in a sliding window.
type invalidCounter struct {
	window time.Duration
	times  []time.Time // oldest first
}

func (c *invalidCounter) add(now time.Time) int {
	c.trim(now)
	c.times = append(c.times, now)
	return len(c.times)
}

func (c *invalidCounter) count(now time.Time) int {
	c.trim(now)
	return len(c.times)
}

func (c *invalidCounter) trim(now time.Time) {
	cut := now.Add(-c.window)
	i := 0
	for i < len(c.times) && !c.times[i].After(cut) {
		i++
	}
	if i > 0 {
		c.times = append(c.times[:0], c.times[i:]...)
	}
}
