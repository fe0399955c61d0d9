package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"
)

var idleShards = flag.Int("idle-shards", 1000, "shards per contender in BenchmarkIdleShards")

// idleResult is what an idle child measured, per shard.
type idleResult struct {
	HeapPerShard  float64 // bytes of live heap after GC
	StackPerShard float64 // bytes of goroutine stacks
	GoroutinesPer float64
	RSSPerShard   float64 // bytes, after FreeOSMemory
	Error         string
}

// BenchmarkIdleShards connects 1,000 shards per contender (each warmed with 20 steady events so
// the inflater's window is in use, as on a real bot) and reports memory per idle shard. Each
// contender runs in its own child process, with the simulator in a grandchild, so the heap
// figures are the contender's alone.
func BenchmarkIdleShards(b *testing.B) {
	for _, comp := range []string{compNone, compZlib, compZstd} {
		for _, c := range contenders(comp) {
			if c.name == "cordage+typed" {
				continue // the same connection as cordage
			}
			b.Run(fmt.Sprintf("comp=%s/lib=%s", comp, c.name), func(b *testing.B) {
				for b.Loop() {
					r := runIdle(b, comp, c.name, *idleShards)
					b.ReportMetric(r.HeapPerShard/1024, "heap-KiB/shard")
					b.ReportMetric(r.StackPerShard/1024, "stack-KiB/shard")
					b.ReportMetric((r.HeapPerShard+r.StackPerShard)/1024, "KiB/shard")
					b.ReportMetric(r.RSSPerShard/1024, "rss-KiB/shard")
					b.ReportMetric(r.GoroutinesPer, "goroutines/shard")
				}
			})
		}
	}
}

func runIdle(b *testing.B, comp, name string, shards int) idleResult {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=idle", "CORDAGE_BENCH_IDLE="+comp+","+name+","+strconv.Itoa(shards))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("idle child %s/%s: %v\n%s", comp, name, err, out.String())
	}
	var r idleResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		b.Fatalf("idle child %s/%s said %q: %v", comp, name, out.String(), err)
	}
	if r.Error != "" {
		b.Fatalf("idle child %s/%s: %s", comp, name, r.Error)
	}
	return r
}

// childTB lets the child use the helpers that take a testing.TB: a failure ends the child with
// the message as its result.
type childTB struct{ testing.TB }

func (childTB) Helper() {}
func (childTB) Fatal(args ...any) {
	panic(childFail(fmt.Sprint(args...)))
}
func (childTB) Fatalf(f string, args ...any) {
	panic(childFail(fmt.Sprintf(f, args...)))
}

type childFail string

func rssBytes() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize())
}

func settle() (runtime.MemStats, float64, int) {
	for range 3 {
		runtime.GC()
	}
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m, rssBytes(), runtime.NumGoroutine()
}

func runIdleChild() (code int) {
	var res idleResult
	defer func() {
		if r := recover(); r != nil {
			res = idleResult{Error: fmt.Sprint(r)}
		}
		raw, _ := json.Marshal(res)
		os.Stdout.Write(raw)
		code = 0
	}()
	if os.Getenv("CORDAGE_BENCH_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 1 // every allocation, so small per-shard objects show up
	}
	f := strings.Split(os.Getenv("CORDAGE_BENCH_IDLE"), ",")
	comp, name := f[0], f[1]
	n, _ := strconv.Atoi(f[2])
	var c *contender
	for _, k := range contenders(comp) {
		if k.name == name {
			c = &k
		}
	}
	if c == nil {
		panic("no contender " + name + " for " + comp)
	}
	tb := childTB{}
	sim := startSim(tb, serverConfig{Shards: n, MaxConcurrency: n, Guilds: 16, Members: 5})
	defer sim.stop()
	corp := steady() // build it before the baseline
	_ = corp
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	m0, rss0, g0 := settle()
	var cnt counter
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	closeFn, err := c.open(ctx, sim, ids, n, n, cnt.on, nil)
	if err != nil {
		panic(err)
	}
	defer closeFn()
	deadline := time.Now().Add(5 * time.Minute)
	for cnt.ready.Load() < int64(n) {
		if time.Now().After(deadline) {
			panic(fmt.Sprintf("%d of %d shards ready", cnt.ready.Load(), n))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The guilds' GUILD_CREATEs follow READY; wait for the count to stop moving, then warm
	// every shard with 20 events.
	for prev := int64(-1); prev != cnt.n.Load(); {
		prev = cnt.n.Load()
		time.Sleep(500 * time.Millisecond)
	}
	base := cnt.n.Load()
	const warm = 20
	sim.send(tb, "steady", warm, n)
	if !cnt.waitFor(base+int64(warm*n), 5*time.Minute) {
		panic(fmt.Sprintf("warm-up: %d of %d events", cnt.n.Load()-base, warm*n))
	}
	time.Sleep(time.Second) // let handler goroutines (discordgo) finish
	m1, rss1, g1 := settle()
	if path := os.Getenv("CORDAGE_BENCH_HEAPPROFILE"); path != "" {
		// Where the idle shards' memory sits: go tool pprof -sample_index=inuse_space.
		if f, err := os.Create(path); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	fn := float64(n)
	res = idleResult{
		HeapPerShard:  (float64(m1.HeapAlloc) - float64(m0.HeapAlloc)) / fn,
		StackPerShard: (float64(m1.StackInuse) - float64(m0.StackInuse)) / fn,
		GoroutinesPer: float64(g1-g0) / fn,
		RSSPerShard:   (rss1 - rss0) / fn,
	}
	runtime.KeepAlive(corp)
	return 0
}
