package messaging_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/messaging"
	"github.com/cordage/cordage/test/fakediscord/restsim"
)

// idealSchedule is the earliest time, with zero latency, at which the last of perChannel
// requests to each of channels channels can arrive under the simulator's rules: per channel,
// bucketLimit per bucketWindow in windows that open with their first request; globally,
// globalLimit per globalWindow opening the same way. Requests go as soon as both allow, filling
// one channel's window before the next (any order reaches the same end here).
func idealSchedule(channels, perChannel, bucketLimit int, bucketWindow time.Duration, globalLimit int, globalWindow time.Duration) time.Duration {
	type win struct {
		left  int
		reset time.Duration
		open  bool
	}
	left := make([]int, channels)
	buckets := make([]win, channels)
	for i := range left {
		left[i] = perChannel
	}
	var global win
	var now, last time.Duration
	remaining := channels * perChannel
	for remaining > 0 {
		if global.open && now >= global.reset {
			global.open = false
		}
		if !global.open {
			global = win{left: globalLimit, reset: now + globalWindow, open: true}
		}
		sent := false
		for c := 0; c < channels && global.left > 0; c++ {
			b := &buckets[c]
			if b.open && now >= b.reset {
				b.open = false
			}
			for left[c] > 0 && global.left > 0 {
				if !b.open {
					*b = win{left: bucketLimit, reset: now + bucketWindow, open: true}
				}
				if b.left == 0 {
					break
				}
				b.left--
				global.left--
				left[c]--
				remaining--
				last, sent = now, true
			}
		}
		if remaining == 0 {
			break
		}
		// Jump to the next moment anything can change.
		next := global.reset
		if global.left > 0 || !sent {
			next = -1
		}
		for c := range buckets {
			if left[c] > 0 && buckets[c].open && buckets[c].left == 0 && (next < 0 || buckets[c].reset < next) {
				next = buckets[c].reset
			}
		}
		if global.left == 0 && (next < 0 || global.reset > next) {
			next = max(next, global.reset)
		}
		if next <= now {
			next = now + time.Millisecond
		}
		now = next
	}
	return last
}

func TestIdealSchedule(t *testing.T) {
	// 20 channels × 50 messages at 5 per 5 s and 50 per second: ten windows per channel, and
	// each reset brings 100 requests of which the global limit lets 50 go per second.
	if got := idealSchedule(20, 50, 5, 5*time.Second, 50, time.Second); got != 46*time.Second {
		t.Fatalf("ideal = %v, want 46s", got)
	}
	if got := idealSchedule(1, 10, 2, 300*time.Millisecond, 50, time.Second); got != 1200*time.Millisecond {
		t.Fatalf("ideal = %v, want 1.2s", got)
	}
}

// BenchmarkMessageCreates sends 1,000 message creates spread over 20 channels from 50
// goroutines against restsim with Discord's default shapes (5 per 5 s per channel, 50 per
// second globally) on a scaled clock, and reports the clock time taken against the ideal
// schedule. It fails on any 429. CORDAGE_BENCH_SCALE sets the clock factor (default 5).
//
//	go test -run '^$' -bench MessageCreates -benchtime 1x ./messaging
func BenchmarkMessageCreates(b *testing.B) {
	const channels, goroutines, total = 20, 50, 1000
	factor := 5.0
	if s := os.Getenv("CORDAGE_BENCH_SCALE"); s != "" {
		if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 {
			factor = f
		}
	}
	ideal := idealSchedule(channels, total/channels, 5, 5*time.Second, 50, time.Second)
	for b.Loop() {
		clk := clock.Scaled(factor)
		sim := restsim.New(restsim.Config{Clock: clk, NoSeed: true})
		chans := make([]events.Snowflake, channels)
		g := sim.AddGuild("bench")
		for i := range chans {
			chans[i] = sim.AddChannel(g, fmt.Sprint("c", i))
		}
		ts := httptest.NewServer(sim)
		c, err := messaging.New(restsim.DefaultToken, messaging.WithBaseURL(ts.URL), messaging.WithHTTPClient(ts.Client()), messaging.WithClock(clk))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		start := clk.Now()
		wallStart := time.Now()
		var wg sync.WaitGroup
		var errs sync.Map
		for gi := range goroutines {
			wg.Go(func() {
				for k := range total / goroutines {
					n := gi*(total/goroutines) + k
					if _, err := c.CreateMessage(ctx, chans[n%channels], messaging.MessageCreate{Content: strconv.Itoa(n)}); err != nil {
						errs.Store(n, err)
					}
				}
			})
		}
		wg.Wait()
		cancel()
		elapsed := clk.Now().Sub(start)
		wall := time.Since(wallStart)
		ts.Close()
		errs.Range(func(k, v any) bool { b.Fatalf("message %v: %v", k, v); return false })
		l := sim.Ledger()
		span := l[len(l)-1].Time.Sub(l[0].Time)
		if n := count429(l); n != 0 || len(l) != total {
			for _, en := range l {
				if en.Status == 429 {
					b.Logf("429 at %v scope %s %s", en.Time.Sub(l[0].Time), en.Scope, en.Major)
				}
			}
			b.Fatalf("%d requests, %d 429s; took %v of clock, ideal %v", len(l), n, elapsed, ideal)
		}
		b.ReportMetric(elapsed.Seconds(), "clock-s")
		b.ReportMetric(span.Seconds(), "arrival-span-s")
		b.ReportMetric(ideal.Seconds(), "ideal-s")
		b.ReportMetric(elapsed.Seconds()/ideal.Seconds(), "ratio")
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(0, "429s")
	}
}
