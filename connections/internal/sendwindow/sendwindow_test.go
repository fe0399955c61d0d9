package sendwindow

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Unix(1_700_000_000, 0)

func mustAllow(t *testing.T, w *Window, hb bool, n int) {
	t.Helper()
	for i := range n {
		if ok, ra := w.Allow(hb); !ok {
			t.Fatalf("send %d (heartbeat=%v) refused, retryAfter %v", i, hb, ra)
		}
	}
}

func mustRefuse(t *testing.T, w *Window, hb bool, wantRetry time.Duration) {
	t.Helper()
	ok, ra := w.Allow(hb)
	if ok {
		t.Fatalf("send (heartbeat=%v) allowed, want refused", hb)
	}
	if ra != wantRetry {
		t.Fatalf("retryAfter = %v, want %v", ra, wantRetry)
	}
}

func TestBurstAtOneInstant(t *testing.T) {
	c := clock.NewManual(t0)
	w := New(c, GatewayLimit, GatewayPer, 5)
	mustAllow(t, w, false, 115)
	mustRefuse(t, w, false, 60*time.Second)
	if got := w.Used(); got != 115 {
		t.Fatalf("Used = %d, want 115", got)
	}
	// The reserve is there for heartbeats, and only five of them.
	mustAllow(t, w, true, 5)
	mustRefuse(t, w, true, 60*time.Second)
	mustRefuse(t, w, false, 60*time.Second)
	if got := w.Used(); got != 120 {
		t.Fatalf("Used = %d, want 120", got)
	}

	// Exactly at the edge: one nanosecond before, nothing has expired; at t+60s all have.
	c.Advance(60*time.Second - time.Nanosecond)
	mustRefuse(t, w, true, time.Nanosecond)
	mustRefuse(t, w, false, time.Nanosecond)
	c.Advance(time.Nanosecond)
	if got := w.Used(); got != 0 {
		t.Fatalf("Used after a full period = %d, want 0", got)
	}
	mustAllow(t, w, false, 115)
}

func TestSlidingEdges(t *testing.T) {
	c := clock.NewManual(t0)
	w := New(c, 10, 10*time.Second, 2)
	// One ordinary send per second for 8 seconds fills the ordinary share.
	for i := range 8 {
		mustAllow(t, w, false, 1)
		if i < 7 {
			c.Advance(time.Second)
		}
	}
	// At t=7s: sends at 0..7. The oldest (t=0) expires at t=10s.
	mustRefuse(t, w, false, 3*time.Second)
	mustAllow(t, w, true, 2) // heartbeats at t=7
	mustRefuse(t, w, true, 3*time.Second)
	c.Advance(3 * time.Second) // t=10: the t=0 send expired, 9 in window (1..7, 7, 7)
	if got := w.Used(); got != 9 {
		t.Fatalf("Used = %d, want 9", got)
	}
	// Ordinary: 9 >= 8, so 2 must expire (t=1 at 11s, t=2 at 12s): wait until 12s.
	mustRefuse(t, w, false, 2*time.Second)
	mustAllow(t, w, true, 1) // the heartbeat fits in the tenth slot
	mustRefuse(t, w, true, time.Second)
	c.Advance(2 * time.Second) // t=12: sends at 1 and 2 expired, 8 left
	mustRefuse(t, w, false, time.Second)
	c.Advance(time.Second) // t=13
	mustAllow(t, w, false, 1)
	mustRefuse(t, w, false, time.Second)
}

// TestNoPeriodExceedsLimit checks the sliding property against the server's view: in a long
// random run, no interval of length per (wherever it starts) contains more than limit sends,
// and no interval contains more than limit-reserve ordinary sends.
func TestNoPeriodExceedsLimit(t *testing.T) {
	const limit, reserve = 20, 3
	per := 5 * time.Second
	c := clock.NewManual(t0)
	w := New(c, limit, per, reserve)
	r := rand.New(rand.NewPCG(5, 6))
	var all, ordinary []time.Time
	for range 20000 {
		c.Advance(time.Duration(r.IntN(400)) * time.Millisecond)
		hb := r.IntN(8) == 0
		if ok, _ := w.Allow(hb); ok {
			all = append(all, c.Now())
			if !hb {
				ordinary = append(ordinary, c.Now())
			}
		}
	}
	check := func(name string, ts []time.Time, max int) {
		j := 0
		for i := range ts {
			for ts[i].Sub(ts[j]) >= per {
				j++
			}
			if i-j+1 > max {
				t.Fatalf("%s: %d sends within %v ending %v", name, i-j+1, per, ts[i].Sub(t0))
			}
		}
	}
	check("all", all, limit)
	check("ordinary", ordinary, limit-reserve)
	if len(all) < 20000/2 {
		t.Fatalf("only %d sends allowed; limiter too strict", len(all))
	}
}

// TestRetryAfterIsExact follows every refusal's retryAfter: advancing by it must make the same
// kind of send succeed, and advancing by one nanosecond less must not.
func TestRetryAfterIsExact(t *testing.T) {
	c := clock.NewManual(t0)
	w := New(c, 12, 3*time.Second, 4)
	r := rand.New(rand.NewPCG(7, 8))
	refusals := 0
	for range 5000 {
		c.Advance(time.Duration(r.IntN(100)) * time.Millisecond)
		hb := r.IntN(5) == 0
		ok, ra := w.Allow(hb)
		if ok {
			continue
		}
		refusals++
		if ra <= 0 {
			t.Fatalf("refused with retryAfter %v", ra)
		}
		c.Advance(ra - 1)
		if ok, ra2 := w.Allow(hb); ok || ra2 != 1 {
			t.Fatalf("1ns early: ok=%v retryAfter=%v", ok, ra2)
		}
		c.Advance(1)
		if ok, ra2 := w.Allow(hb); !ok {
			t.Fatalf("refused again after waiting retryAfter (%v more)", ra2)
		}
	}
	if refusals < 100 {
		t.Fatalf("only %d refusals: test exercises too little", refusals)
	}
}

func TestReset(t *testing.T) {
	c := clock.NewManual(t0)
	w := New(c, GatewayLimit, GatewayPer, 5)
	mustAllow(t, w, true, 120)
	mustRefuse(t, w, true, GatewayPer)
	w.Reset()
	if got := w.Used(); got != 0 {
		t.Fatalf("Used after Reset = %d", got)
	}
	mustAllow(t, w, false, 115)
	mustAllow(t, w, true, 5)
}

func TestClamping(t *testing.T) {
	c := clock.NewManual(t0)
	for _, tc := range []struct {
		limit, reserve         int
		per                    time.Duration
		wantOrdinary, wantBeat int
	}{
		{0, 0, time.Second, 1, 1},
		{-5, 3, time.Second, 0, 1},
		{10, -1, time.Second, 10, 10},
		{10, 11, time.Second, 0, 10},
		{10, 10, 0, 0, 10},
	} {
		t.Run(fmt.Sprint(tc.limit, tc.reserve, tc.per), func(t *testing.T) {
			w := New(c, tc.limit, tc.per, tc.reserve)
			mustAllow(t, w, false, tc.wantOrdinary)
			if ok, ra := w.Allow(false); ok || ra <= 0 {
				t.Fatalf("ordinary beyond share: ok=%v retryAfter=%v", ok, ra)
			}
			mustAllow(t, w, true, tc.wantBeat-tc.wantOrdinary)
			if ok, _ := w.Allow(true); ok {
				t.Fatal("heartbeat beyond limit allowed")
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	c := clock.NewManual(t0)
	w := New(c, GatewayLimit, GatewayPer, 5)
	var ordinary, beats atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for range 50 {
				hb := g%4 == 0
				if ok, _ := w.Allow(hb); ok {
					if hb {
						beats.Add(1)
					} else {
						ordinary.Add(1)
					}
				}
				_ = w.Used()
			}
		})
	}
	wg.Wait()
	total := ordinary.Load() + beats.Load()
	if total != 120 {
		t.Fatalf("allowed %d sends in one instant, want exactly 120", total)
	}
	if ordinary.Load() > 115 {
		t.Fatalf("ordinary sends took %d slots, more than 115", ordinary.Load())
	}
	if w.Used() != 120 {
		t.Fatalf("Used = %d", w.Used())
	}
}

func BenchmarkAllow(b *testing.B) {
	c := clock.NewManual(t0)
	w := New(c, GatewayLimit, GatewayPer, 5)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := w.Allow(false); !ok {
			c.Advance(GatewayPer)
		}
	}
}

func Example() {
	c := clock.NewManual(time.Unix(0, 0))
	w := New(c, GatewayLimit, GatewayPer, 5)
	for range 115 {
		w.Allow(false) // a burst of commands
	}
	ok, retry := w.Allow(false)
	fmt.Println("command:", ok, retry)
	ok, _ = w.Allow(true)
	fmt.Println("heartbeat:", ok, w.Used())
	// Output:
	// command: false 1m0s
	// heartbeat: true 116
}
