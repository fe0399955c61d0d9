package bench

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	disgogw "github.com/disgoorg/disgo/gateway"
	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
)

// Ready-time setup: readyShards shards at readyConc max_concurrency need
// (readyShards/readyConc − 1) identify windows of 5 s after the first round. The simulator's
// clock runs readyScale times faster than the wall clock; the contenders that let their identify
// wait be set (Cordage through its clock, disgo through WithIdentifyWait) run at the same scale.
// discordgo has no identify gate of its own and arikawa's waits on the wall clock, so they are
// not in this benchmark.
const (
	readyShards = 32
	readyConc   = 4
	readyScale  = 50.0
)

// BenchmarkReady reports the time until every shard got READY, in simulator clock seconds, and
// its ratio to the ideal schedule (ready-ratio, 1.0 = no time lost), plus the simulator's count
// of identifies that broke the max_concurrency spacing rule (must be 0).
func BenchmarkReady(b *testing.B) {
	ideal := time.Duration(readyShards/readyConc-1) * 5 * time.Second
	type opener func(ctx context.Context, sim *simProc, ids []int, on func(string)) (func(), error)
	libs := []struct {
		name string
		open opener
	}{
		{"cordage", func(ctx context.Context, sim *simProc, ids []int, on func(string)) (func(), error) {
			c := cordage(connections.ZlibStream, false)
			return c.openWith(ctx, sim, ids, readyShards, readyConc, on, connections.WithClock(clock.Scaled(readyScale)))
		}},
		{"disgo", func(ctx context.Context, sim *simProc, ids []int, on func(string)) (func(), error) {
			lim := disgogw.NewIdentifyRateLimiter(disgogw.WithIdentifyMaxConcurrency(readyConc),
				disgogw.WithIdentifyWait(time.Duration(float64(5*time.Second)/readyScale)),
				disgogw.WithIdentifyRateLimiterLogger(slog.New(slog.DiscardHandler)))
			var mu sync.Mutex
			var gws []disgogw.Gateway
			var wg sync.WaitGroup
			var firstErr error
			for _, id := range ids {
				wg.Go(func() {
					g := disgogw.New(sim.Token, func(_ disgogw.Gateway, t disgogw.EventType, _ int, _ disgogw.EventData) { on(string(t)) },
						disgogw.WithURL(sim.Gateway), disgogw.WithCompression(disgogw.CompressionZlibStream),
						disgogw.WithIntents(disgogw.Intents(events.IntentsAll)), disgogw.WithShardID(id), disgogw.WithShardCount(readyShards),
						disgogw.WithAutoReconnect(false), disgogw.WithIdentifyRateLimiter(lim), disgogw.WithDialer(websocket.DefaultDialer),
						disgogw.WithLogger(slog.New(slog.DiscardHandler)))
					err := g.Open(ctx)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						firstErr = err
					}
					gws = append(gws, g)
				})
			}
			wg.Wait()
			closeAll := func() {
				var cw sync.WaitGroup
				for _, g := range gws {
					cw.Go(func() { g.Close(context.Background()) })
				}
				cw.Wait()
			}
			if firstErr != nil {
				closeAll()
				return nil, firstErr
			}
			return closeAll, nil
		}},
	}
	for _, lib := range libs {
		b.Run(fmt.Sprintf("shards=%d/conc=%d/lib=%s", readyShards, readyConc, lib.name), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				sim := startSim(b, serverConfig{Shards: readyShards, MaxConcurrency: readyConc, Guilds: 8, Members: 5, Scale: readyScale})
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				var cnt counter
				ids := make([]int, readyShards)
				for i := range ids {
					ids[i] = i
				}
				b.StartTimer()
				start := time.Now()
				closeFn, err := lib.open(ctx, sim, ids, cnt.on)
				if err != nil {
					b.Fatal(err)
				}
				for cnt.ready.Load() < readyShards {
					if time.Since(start) > 2*time.Minute {
						b.Fatalf("%d of %d ready", cnt.ready.Load(), readyShards)
					}
					time.Sleep(time.Millisecond) // polling a count, not timing a rule
				}
				took := time.Since(start)
				b.StopTimer()
				v := sim.do(b, "violations")
				viol, _ := strconv.Atoi(strings.TrimPrefix(v, "OK "))
				closeFn()
				cancel()
				sim.stop()
				clockTook := time.Duration(float64(took) * readyScale)
				b.ReportMetric(clockTook.Seconds(), "ready-clock-s")
				b.ReportMetric(ideal.Seconds(), "ideal-clock-s")
				b.ReportMetric(clockTook.Seconds()/ideal.Seconds(), "ready-ratio")
				b.ReportMetric(float64(viol), "spacing-violations")
				b.StartTimer()
			}
		})
	}
}
