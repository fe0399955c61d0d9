package voice

import (
	"errors"
	"math/rand/v2"
	"time"

	vgw "github.com/cordage/cordage/events/voice"
)

// Backoff spaces reconnect attempts: attempt n waits a random duration in
// [d/2, d] with d = min(Max, Min·2ⁿ). The jitter keeps a fleet of bots that lost the same voice
// server from reconnecting in lockstep; the cap keeps a long outage from growing the wait without
// bound.
type Backoff struct {
	Min time.Duration
	Max time.Duration
}

// DefaultBackoff: 500 ms doubling to at most 15 s, each with up to 50 % jitter.
var DefaultBackoff = Backoff{Min: 500 * time.Millisecond, Max: 15 * time.Second}

// Delay returns the wait before attempt n (0-based). r is a uniform sample in [0, 1).
func (b Backoff) Delay(n int, r float64) time.Duration {
	if b.Min <= 0 {
		b.Min = DefaultBackoff.Min
	}
	if b.Max < b.Min {
		b.Max = b.Min
	}
	d := b.Min
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d/2 + time.Duration(r*float64(d/2))
}

func (b Backoff) jittered(n int) time.Duration { return b.Delay(n, rand.Float64()) }

// action is what the supervisor does after a session ended.
type action int

const (
	actResume   action = iota // reconnect to the same endpoint and resume
	actIdentify               // reconnect and identify with the same credentials
	actRejoin                 // ask the gateway again (op 4) for fresh credentials, then identify
	actWait                   // wait for a new VOICE_SERVER_UPDATE
	actStop                   // end the connection with the error
)

func (a action) String() string {
	return [...]string{"resume", "identify", "rejoin", "wait for server update", "stop"}[a]
}

// retryPolicy turns the way a session ended into the next action. It counts consecutive
// failures (reset by a session that reaches Ready or Resumed) so that no policy loops forever.
type retryPolicy struct {
	maxRetries int                   // general cap on consecutive failures
	perCode    map[vgw.CloseCode]int // consecutive closes per code
	failures   int
}

func newRetryPolicy(maxRetries int) *retryPolicy {
	return &retryPolicy{maxRetries: maxRetries, perCode: map[vgw.CloseCode]int{}}
}

// success resets the counters: a session worked.
func (p *retryPolicy) success() {
	p.failures = 0
	clear(p.perCode)
}

// next decides what follows err. canResume says whether the ended session got far enough
// (session description) for a resume to make sense.
func (p *retryPolicy) next(err error, canResume bool) (action, error) {
	p.failures++
	var ce *vgw.CloseError
	if errors.As(err, &ce) {
		info, known := ce.Code.Info()
		p.perCode[ce.Code]++
		pol := ce.Code.Policy()
		if pol == vgw.PolicyFatal {
			return actStop, err
		}
		if known && info.Retries > 0 && p.perCode[ce.Code] > info.Retries {
			return actStop, &RetryError{Attempts: p.perCode[ce.Code], Last: err}
		}
		if p.failures > p.maxRetries {
			return actStop, &RetryError{Attempts: p.failures, Last: err}
		}
		switch pol {
		case vgw.PolicyWaitServerUpdate:
			return actWait, nil
		case vgw.PolicyNewSession:
			// A rejected token or an expired session cannot be fixed with the same
			// credentials: Discord rotates them on a fresh op 4.
			if ce.Code == vgw.CloseAuthenticationFailed || ce.Code == vgw.CloseSessionInvalid {
				return actRejoin, nil
			}
			return actIdentify, nil
		default:
			if canResume {
				return actResume, nil
			}
			return actIdentify, nil
		}
	}
	if p.failures > p.maxRetries {
		return actStop, &RetryError{Attempts: p.failures, Last: err}
	}
	switch {
	case errors.Is(err, ErrNoMode), errors.Is(err, ErrDAVEUnavailable):
		return actStop, err
	case canResume:
		return actResume, nil
	default:
		return actIdentify, nil
	}
}
