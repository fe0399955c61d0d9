package connections

import (
	"time"

	"github.com/cordage/cordage/internal/clock"
)

// Discord's send limit: 120 events per connection per 60 s. heartbeatReserve sends of each
// window are kept for heartbeats, so commands can never starve the keep-alive.
const (
	sendLimit        = 120
	sendPeriod       = 60 * time.Second
	heartbeatReserve = 5
)

// sendLimiter is what a shard needs from a send window.
type sendLimiter interface {
	Allow(heartbeat bool) (ok bool, retryAfter time.Duration)
	Used() int
	Reset()
}

// fixedWindow is a sliding log of send times: exact, and small at 120 entries.
type fixedWindow struct {
	clk     clock.Clock
	limit   int
	period  time.Duration
	reserve int
	sent    []time.Time
}

func newSendLimiter(clk clock.Clock) sendLimiter {
	return &fixedWindow{clk: clk, limit: sendLimit, period: sendPeriod, reserve: heartbeatReserve}
}

func (w *fixedWindow) expire(now time.Time) {
	i := 0
	for i < len(w.sent) && !w.sent[i].After(now.Add(-w.period)) {
		i++
	}
	w.sent = w.sent[i:]
}

func (w *fixedWindow) Allow(heartbeat bool) (bool, time.Duration) {
	now := w.clk.Now()
	w.expire(now)
	limit := w.limit
	if !heartbeat {
		limit -= w.reserve
	}
	if len(w.sent) >= limit {
		return false, w.sent[len(w.sent)-limit].Add(w.period).Sub(now)
	}
	w.sent = append(w.sent, now)
	return true, 0
}

func (w *fixedWindow) Used() int {
	w.expire(w.clk.Now())
	return len(w.sent)
}

func (w *fixedWindow) Reset() { w.sent = w.sent[:0] }
