package voice

import (
	"context"
	"flag"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections/voice/rtp"
	"github.com/cordage/cordage/events"
	vgw "github.com/cordage/cordage/events/voice"
)

type discard struct{ n int }

func (d *discard) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }

// benchFrame is a typical 20 ms Opus frame at ~64 kbit/s.
var benchFrame = celt20(160, 0x42)

func BenchmarkSendFrame(b *testing.B) {
	for _, mode := range []vgw.Mode{vgw.ModeAES256GCMRTPSize, vgw.ModeXChaCha20Poly1305RTPSize} {
		b.Run(string(mode), func(b *testing.B) {
			c, _ := newOfflineConn(b, clock.Real())
			tr := c.transport()
			if err := tr.key(mode, testKey); err != nil {
				b.Fatal(err)
			}
			tr.w = &discard{}
			s := &c.snd
			_ = c.announce(s, tr)
			b.ReportAllocs()
			b.SetBytes(int64(len(benchFrame)))
			for b.Loop() {
				c.sendFrame(s, benchFrame, false)
			}
		})
	}
}

// BenchmarkSendFrameUDP includes the sendto syscall on a loopback socket.
func BenchmarkSendFrameUDP(b *testing.B) {
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	uc, err := net.DialUDP("udp", nil, sink.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer uc.Close()
	c, _ := newOfflineConn(b, clock.Real())
	tr := c.transport()
	tr.w = uc
	s := &c.snd
	_ = c.announce(s, tr)
	b.ReportAllocs()
	for b.Loop() {
		c.sendFrame(s, benchFrame, false)
	}
}

// BenchmarkSendLoop runs the whole Send loop (channel, pacing timer, seal, write) on a clock a
// million times faster than the wall, so the pacing logic runs but never waits long.
func BenchmarkSendLoop(b *testing.B) {
	c, _ := newOfflineConn(b, clock.Scaled(1e6))
	c.transport().w = &discard{}
	frames := make(chan []byte, 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = c.Send(ctx, frames)
	}()
	b.ReportAllocs()
	for b.Loop() {
		frames <- benchFrame
	}
	close(frames)
	wg.Wait()
}

// BenchmarkReceive runs the UDP reader's path for one datagram: transport decryption, SSRC
// lookup, the slab copy, the hand-off on Packets.
func BenchmarkReceive(b *testing.B) {
	c, _ := newOfflineConn(b, clock.Real())
	tr := c.transport()
	c.ssrcs.set(99, events.Snowflake(5))
	se, _ := rtp.NewSealer(vgw.ModeAES256GCMRTPSize, testKey)
	pkt := se.Seal(nil, &rtp.Header{PayloadType: rtp.PayloadTypeOpus, SSRC: 99}, benchFrame)
	r := receiver{c: c, tr: tr, plain: make([]byte, maxDatagram), dec: make([]byte, maxDatagram)}
	b.ReportAllocs()
	for b.Loop() {
		r.datagram(pkt)
		<-c.packets
	}
}

func TestSendFrameAllocs(t *testing.T) {
	c, _ := newOfflineConn(t, clock.Real())
	tr := c.transport()
	tr.w = &discard{}
	s := &c.snd
	_ = c.announce(s, tr)
	if n := testing.AllocsPerRun(200, func() { c.sendFrame(s, benchFrame, false) }); n != 0 {
		t.Fatalf("%.1f allocations per frame sent, want 0", n)
	}
}

var jitterFor = flag.Duration("voice.jitter", 0, "measure the 20 ms send clock's jitter on the wall clock for this long (e.g. 60s)")

// TestSendClockJitter measures how far each packet leaves from its ideal time (first packet +
// n·20 ms) on the real clock. It runs only with -voice.jitter=DURATION, since it takes that long:
//
//	go test ./connections/voice -run SendClockJitter -voice.jitter=60s -v
func TestSendClockJitter(t *testing.T) {
	if *jitterFor <= 0 {
		t.Skip("pass -voice.jitter=60s to measure")
	}
	n := int(*jitterFor / FrameDuration)
	c, _ := newOfflineConn(t, clock.Real())
	rec := &timeRecorder{at: make([]time.Time, 0, n+silenceFrames+1)}
	c.transport().w = rec
	frames := make(chan []byte, 64)
	go func() {
		defer close(frames)
		for range n {
			frames <- benchFrame
		}
	}()
	// A baseline beside it: how late a bare timer wakes on the same 20 ms grid, which is what
	// the machine's scheduling costs any sender.
	base := make([]time.Duration, 0, n)
	baseDone := make(chan struct{})
	go func() {
		defer close(baseDone)
		start := time.Now()
		for i := 1; i <= n; i++ {
			dl := start.Add(time.Duration(i) * FrameDuration)
			time.Sleep(time.Until(dl))
			base = append(base, time.Since(dl))
		}
	}()
	if err := c.Send(context.Background(), frames); err != nil {
		t.Fatal(err)
	}
	<-baseDone
	slices.Sort(base)
	t.Logf("bare timer on the same grid, same time: lateness p50 %v, p99 %v, max %v",
		base[len(base)/2], base[len(base)*99/100], base[len(base)-1])
	at := rec.at[:n]
	dev := make([]time.Duration, len(at))
	for i, a := range at {
		d := a.Sub(at[0].Add(time.Duration(i) * FrameDuration))
		if d < 0 {
			d = -d
		}
		dev[i] = d
	}
	slices.Sort(dev)
	p := func(q float64) time.Duration { return dev[int(q*float64(len(dev)-1))] }
	t.Logf("send clock over %v (%d frames): deviation p50 %v, p99 %v, max %v; total drift %v",
		*jitterFor, n, p(0.50), p(0.99), dev[len(dev)-1], at[len(at)-1].Sub(at[0])-time.Duration(n-1)*FrameDuration)
}

type timeRecorder struct{ at []time.Time }

func (r *timeRecorder) Write(b []byte) (int, error) {
	r.at = append(r.at, time.Now())
	return len(b), nil
}
