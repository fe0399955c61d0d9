package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "server":
		os.Exit(runSimChild())
	case "idle":
		os.Exit(runIdleChild())
	}
	goleak.VerifyTestMain(m,
		// Peers keep package-level goroutines alive after their gateways close.
		goleak.IgnoreAnyFunction("github.com/diamondburned/arikawa/v3/utils/ws.(*Gateway).spin"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("github.com/disgoorg/disgo/rest.(*rateLimiterImpl).cleanup"),
	)
}

// counter counts dispatches handed to the caller and lets the benchmark wait for a total.
type counter struct {
	n     atomic.Int64
	ready atomic.Int64 // READY dispatches
	want  atomic.Int64
	mu    sync.Mutex
	ch    chan struct{}
}

func (c *counter) on(t string) {
	if t == "READY" {
		c.ready.Add(1)
	}
	if v := c.n.Add(1); v == c.want.Load() {
		c.mu.Lock()
		if c.ch != nil {
			close(c.ch)
			c.ch = nil
		}
		c.mu.Unlock()
	}
}

// waitFor waits until at least target dispatches were counted.
func (c *counter) waitFor(target int64, timeout time.Duration) bool {
	ch := make(chan struct{})
	c.mu.Lock()
	c.ch = ch
	c.want.Store(target)
	c.mu.Unlock()
	if c.n.Load() >= target {
		return true
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return c.n.Load() >= target
	}
}

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEvents measures dispatches delivered to the caller. One op is one event. The
// simulator runs in a child process, so the figures that matter are the client's own:
// ev/cpu-s (events per second of client CPU: events/s per core), allocs/ev and B/ev (every
// allocation in the client process during the run, divided by events). ns/op is wall time and
// mostly the simulator's compression speed; ignore it.
func BenchmarkEvents(b *testing.B) {
	for _, mode := range []string{"buffered", "live"} {
		for _, set := range []string{"steady", "startup"} {
			for _, comp := range []string{compNone, compZlib, compZstd} {
				for _, c := range contenders(comp) {
					if mode == "buffered" && c.noDial || mode == "live" && set != "steady" {
						continue
					}
					b.Run(fmt.Sprintf("mode=%s/set=%s/comp=%s/lib=%s", mode, set, comp, c.name), func(b *testing.B) {
						runEvents(b, c, set, mode == "buffered", 1)
					})
				}
			}
		}
	}
}

// eventShards is how many shards BenchmarkEventsShards runs in one process.
const eventShards = 4

// BenchmarkEventsShards is the buffered steady run of BenchmarkEvents with eventShards shards
// in one client process, every shard's socket filled before the clock starts: what one
// process does with both cores. Besides ev/cpu-s it reports ev/s, events per second of wall
// time, which a pipeline that keeps several cores busy raises above ev/cpu-s. One op is one
// event over all shards.
func BenchmarkEventsShards(b *testing.B) {
	for _, comp := range []string{compNone, compZlib, compZstd} {
		for _, c := range contenders(comp) {
			if c.noDial || c.typed {
				continue
			}
			b.Run(fmt.Sprintf("mode=buffered/set=steady/shards=%d/comp=%s/lib=%s", eventShards, comp, c.name), func(b *testing.B) {
				runEvents(b, c, "steady", true, eventShards)
			})
		}
	}
}

func runEvents(b *testing.B, c contender, set string, buffered bool, shards int) {
	b.StopTimer()
	// One guild per shard and every shard in one identify bucket, so all are up at once.
	sim := startSim(b, serverConfig{Shards: shards, MaxConcurrency: shards, Guilds: shards, Members: 5})
	defer sim.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var cnt counter
	var g *gate
	var dial netDial
	if buffered {
		g = newGate()
		dial = g.dial
	}
	ids := make([]int, shards)
	for i := range ids {
		ids[i] = i
	}
	closeFn, err := c.open(ctx, sim, ids, shards, shards, cnt.on, dial)
	if err != nil {
		b.Fatal(err)
	}
	defer closeFn()
	// Every shard's READY and the guilds' GUILD_CREATEs come first.
	if !cnt.waitFor(int64(2*shards), 30*time.Second) {
		b.Fatalf("%s: not ready (%d dispatches)", c.name, cnt.n.Load())
	}
	base := cnt.n.Load()
	corp := steady()
	if set == "startup" {
		corp = startup()
	}
	perShard := (b.N + shards - 1) / shards
	total := perShard * shards // every shard gets the same events; total ≥ b.N
	var bytes int64
	for i := range perShard {
		bytes += int64(shards * len(corp.events[i%len(corp.events)].D))
	}
	if buffered {
		g.setShut(true)
		sim.send(b, set, perShard, shards)
		g.quiet(300 * time.Millisecond)
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := cpuTime()
	stopProfile := profileWindow(b)
	b.StartTimer()
	start := time.Now()
	if buffered {
		g.setShut(false)
	} else {
		sim.send(b, set, perShard, shards)
	}
	if !cnt.waitFor(base+int64(total), 5*time.Minute) {
		b.Fatalf("%s: got %d of %d events", c.name, cnt.n.Load()-base, total)
	}
	wall := time.Since(start)
	b.StopTimer()
	stopProfile()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&m1)
	n := float64(total)
	if shards > 1 {
		b.ReportMetric(n/wall.Seconds(), "ev/s")
	}
	b.ReportMetric(n/cpu.Seconds(), "ev/cpu-s")
	b.ReportMetric(float64(bytes)/1e6/cpu.Seconds(), "MB/cpu-s")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/n, "allocs/ev")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/n, "B/ev")
}

// profileWindow starts a CPU profile of the measured part of a run alone (not the set-up, the
// corpus or the gate's pump filling up) when CORDAGE_BENCH_CPUPROFILE names a file; the
// returned func stops it. With several sub-benchmarks in one run the last one's profile wins.
func profileWindow(b *testing.B) func() {
	path := os.Getenv("CORDAGE_BENCH_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}
