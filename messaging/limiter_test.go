package messaging

import (
	"context"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
)

// acquireAsync starts an acquire and returns a channel with its ticket.
func acquireAsync(l *limiter, route, major string) <-chan *ticket {
	ch := make(chan *ticket, 1)
	go func() {
		t, err := l.acquire(context.Background(), route, major, false, false)
		if err != nil {
			ch <- nil
			return
		}
		ch <- t
	}()
	return ch
}

func mustGet(t *testing.T, ch <-chan *ticket) *ticket {
	t.Helper()
	select {
	case tk := <-ch:
		if tk == nil {
			t.Fatal("acquire failed")
		}
		return tk
	case <-time.After(5 * time.Second):
		t.Fatal("acquire did not return")
	}
	return nil
}

func mustWait(t *testing.T, ch <-chan *ticket) {
	t.Helper()
	select {
	case <-ch:
		t.Fatal("acquire returned while it should wait")
	case <-time.After(20 * time.Millisecond): // a short look for something that must not happen
	}
}

func TestLimiterProbesUnknownBuckets(t *testing.T) {
	clk := clock.NewManual(time.Unix(1e9, 0))
	l := newLimiter(clk, 50, time.Second)
	const route = "POST /channels/{channel.id}/messages"
	learn := &limitInfo{hash: "h", hasLimits: true, limit: 3, remaining: 2, resetAfter: time.Second}

	a1 := mustGet(t, acquireAsync(l, route, "A"))
	b1 := mustGet(t, acquireAsync(l, route, "B")) // another major: its own probe
	a2 := acquireAsync(l, route, "A")
	mustWait(t, a2) // one at a time until A's bucket is known
	l.release(a1, learn, 200)
	mustGet(t, a2)

	// The route's hash is known now, but B's probe has not answered: B stays one at a time.
	b2 := acquireAsync(l, route, "B")
	mustWait(t, b2)
	l.release(b1, learn, 200)
	mustGet(t, b2)

	// A has one request left in its window (remaining 2, one taken by a2).
	mustGet(t, acquireAsync(l, route, "A"))
	a4 := acquireAsync(l, route, "A")
	mustWait(t, a4)
	clk.Advance(time.Second + headerPrecision)
	mustGet(t, a4)
}

func TestLimiterCancelLeavesQueue(t *testing.T) {
	clk := clock.NewManual(time.Unix(1e9, 0))
	l := newLimiter(clk, 50, time.Second)
	const route = "GET /x"
	first := mustGet(t, acquireAsync(l, route, ""))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := l.acquire(ctx, route, "", false, false)
		errc <- err
	}()
	next := acquireAsync(l, route, "")
	for {
		l.mu.Lock()
		n := len(l.buckets["?"+route+"|"].queue)
		l.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(100 * time.Microsecond) // polling a condition
	}
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("cancelled acquire: %v", err)
	}
	l.release(first, &limitInfo{}, 200) // no headers: the route has no per-route limit
	mustGet(t, next)
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buckets["?"+route+"|"]; !b.unlimited || len(b.queue) != 0 {
		t.Fatalf("bucket = %+v", b)
	}
}
