package transport

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Benchmarks run one pass over a pre-compressed corpus per iteration, one decoder per pass
// (as one connection). MB/s is inflated bytes; allocs/msg is allocations per gateway message.
//
//	go test -run '^$' -bench . -benchtime 20x -count 6 ./connections/internal/transport/
//
// Variants:
//   - naive-zlib: compress/zlib reader kept across messages (naiveZlib), the stdlib baseline
//   - zlib:       NewZlibStream
//   - zstd:       NewZstdStream (2 MiB window, like Discord's streams)

type benchCorpus struct {
	name  string
	msgs  [][]byte
	zlib  [][]byte
	zstd  [][]byte
	bytes int64
}

var (
	corpusOnce sync.Once
	corpora    []*benchCorpus
)

func loadCorpora(b *testing.B) []*benchCorpus {
	corpusOnce.Do(func() {
		steady := steadyMessages(100, 2000)
		g := newCorpus(101)
		var startup [][]byte
		startup = append(startup, g.guildCreate(100)) // READY-sized opener
		for _, members := range []int{40, 250, 600, 1200, 2500, 300, 900, 150} {
			startup = append(startup, g.guildCreate(members))
		}
		for _, c := range []struct {
			name string
			msgs [][]byte
		}{{"steady", steady}, {"startup", startup}} {
			bc := &benchCorpus{name: c.name, msgs: c.msgs}
			bc.zlib = zlibChunks(b, c.msgs, 6, false)
			bc.zstd = zstdChunks(b, c.msgs, zstd.WithWindowSize(2<<20))
			for _, m := range c.msgs {
				bc.bytes += int64(len(m))
			}
			corpora = append(corpora, bc)
		}
	})
	return corpora
}

func BenchmarkInflate(b *testing.B) {
	for _, c := range loadCorpora(b) {
		wire := func(chunks [][]byte) (n int64) {
			for _, ch := range chunks {
				n += int64(len(ch))
			}
			return n
		}
		b.Run(c.name+"/naive-zlib", func(b *testing.B) {
			b.SetBytes(c.bytes)
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				var d naiveZlib
				for i, ch := range c.zlib {
					msg, err := d.Decode(ch)
					if err != nil || len(msg) != len(c.msgs[i]) {
						b.Fatalf("message %d: %v", i, err)
					}
				}
			}
			reportPerMsg(b, len(c.msgs), c.bytes, cpuTime()-cpu0, float64(c.bytes)/float64(wire(c.zlib)))
		})
		for _, v := range []struct {
			name   string
			new    func() Decompressor
			chunks [][]byte
		}{
			{"zlib", func() Decompressor { return NewZlibStream(0) }, c.zlib},
			{"zstd", func() Decompressor { return NewZstdStream(0) }, c.zstd},
		} {
			b.Run(c.name+"/"+v.name, func(b *testing.B) {
				b.SetBytes(c.bytes)
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					d := v.new()
					for i, ch := range v.chunks {
						msg, ok, err := d.Decode(ch)
						if err != nil || !ok || len(msg) != len(c.msgs[i]) {
							b.Fatalf("message %d: ok=%v err=%v", i, ok, err)
						}
					}
					d.Close()
				}
				reportPerMsg(b, len(c.msgs), c.bytes, cpuTime()-cpu0, float64(c.bytes)/float64(wire(v.chunks)))
			})
		}
	}
}

func reportPerMsg(b *testing.B, msgs int, bytes int64, cpu time.Duration, ratio float64) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*msgs), "ns/msg")
	if cpu > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
	}
	b.ReportMetric(ratio, "x-compression")
}

// BenchmarkInflateSteadyWarm measures the per-message cost on a warm decoder, without the
// per-connection setup: allocs/op here is allocations per message in steady state.
func BenchmarkInflateSteadyWarm(b *testing.B) {
	c := loadCorpora(b)[0]
	b.Run("zlib", func(b *testing.B) {
		d := NewZlibStream(0)
		defer d.Close()
		benchWarm(b, c, c.zlib, d)
	})
	b.Run("zstd", func(b *testing.B) {
		d := NewZstdStream(0)
		defer d.Close()
		benchWarm(b, c, c.zstd, d)
	})
	b.Run("naive-zlib", func(b *testing.B) {
		var d naiveZlib
		i := 0
		b.SetBytes(c.bytes / int64(len(c.msgs)))
		b.ReportAllocs()
		for b.Loop() {
			if i == len(c.zlib) {
				d = naiveZlib{}
				i = 0
			}
			if _, err := d.Decode(c.zlib[i]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func benchWarm(b *testing.B, c *benchCorpus, chunks [][]byte, d Decompressor) {
	i := 0
	b.SetBytes(c.bytes / int64(len(c.msgs)))
	b.ReportAllocs()
	for b.Loop() {
		if i == len(chunks) {
			d.Reset()
			i = 0
		}
		if _, ok, err := d.Decode(chunks[i]); err != nil || !ok {
			b.Fatalf("message %d: %v", i, err)
		}
		i++
	}
}

// idleBytesPerDecoder opens n decoders, warms each with 20 steady messages of its own
// stream, and returns the retained heap per decoder.
func idleBytesPerDecoder(tb testing.TB, kind string, n int) float64 {
	msgs := steadyMessages(200, 20)
	var chunks [][]byte
	switch kind {
	case "zstd":
		chunks = zstdChunks(tb, msgs, zstd.WithWindowSize(2<<20))
	default:
		chunks = zlibChunks(tb, msgs, 6, false)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	keep := make([]any, n)
	for i := range keep {
		switch kind {
		case "naive-zlib":
			d := &naiveZlib{}
			for _, ch := range chunks {
				if _, err := d.Decode(ch); err != nil {
					tb.Fatal(err)
				}
			}
			keep[i] = d
		default:
			var d Decompressor
			if kind == "zstd" {
				d = NewZstdStream(0)
			} else {
				d = NewZlibStream(0)
			}
			for _, ch := range chunks {
				if _, _, err := d.Decode(ch); err != nil {
					tb.Fatal(err)
				}
			}
			keep[i] = d
		}
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	for _, k := range keep {
		if d, ok := k.(Decompressor); ok {
			d.Close()
		}
	}
	runtime.KeepAlive(keep)
	return per
}

// BenchmarkIdleMemory reports the heap one idle decoder keeps after 20 messages.
//
//	go test -run '^$' -bench IdleMemory -benchtime 1x ./connections/internal/transport/
func BenchmarkIdleMemory(b *testing.B) {
	for _, kind := range []string{"naive-zlib", "zlib", "zstd"} {
		b.Run(kind, func(b *testing.B) {
			var per float64
			for b.Loop() {
				per = idleBytesPerDecoder(b, kind, 100)
			}
			b.ReportMetric(per/1024, "KiB/decoder")
		})
	}
}

// TestIdleMemoryBound guards the zlib decoder's footprint: flate state (~38 KiB) plus the
// exact 32 KiB history plus a small message buffer. A regression to an unbounded history or
// a retained big buffer fails it.
func TestIdleMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap of 50 decoders")
	}
	per := idleBytesPerDecoder(t, "zlib", 50)
	t.Logf("zlib: %.1f KiB per idle decoder", per/1024)
	if per > 100<<10 {
		t.Fatalf("zlib idle decoder holds %.1f KiB, want <= 100 KiB", per/1024)
	}
}
