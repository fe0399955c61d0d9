package voice

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections/voice/rtp"
	vgw "github.com/cordage/cordage/events/voice"
)

// wire records what a Conn writes, with the clock time of each write.
type wire struct {
	mu      sync.Mutex
	clk     clock.Clock
	events  []wireEvent
	written notifier // poked at every write
}

type wireEvent struct {
	at       time.Time
	packet   []byte // nil for an op
	op       vgw.Op
	speaking SpeakingFlags
}

func (w *wire) Write(b []byte) (int, error) {
	defer w.written.poke()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, wireEvent{at: w.clk.Now(), packet: append([]byte(nil), b...)})
	return len(b), nil
}

func (w *wire) writeOp(op vgw.Op, payload any) error {
	defer w.written.poke()
	w.mu.Lock()
	defer w.mu.Unlock()
	ev := wireEvent{at: w.clk.Now(), op: op}
	if s, ok := payload.(vgw.Speaking); ok {
		ev.speaking = s.Speaking
	}
	w.events = append(w.events, ev)
	return nil
}

func (w *wire) snapshot() []wireEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]wireEvent(nil), w.events...)
}

// fakeE2EE encrypts by wrapping the frame, so a test sees which frames went through DAVE.
type fakeE2EE struct {
	e2ee
	mu        sync.Mutex
	encrypted [][]byte
}

func (f *fakeE2EE) ProtocolVersion() int { return 1 }
func (f *fakeE2EE) Encrypt(dst, opus []byte) ([]byte, error) {
	f.mu.Lock()
	f.encrypted = append(f.encrypted, append([]byte(nil), opus...))
	f.mu.Unlock()
	dst = append(dst, 0xDA)
	dst = append(dst, opus...)
	return append(dst, 0xFA, 0xFA), nil
}

var testKey = bytes.Repeat([]byte{7}, 32)

// newOfflineConn returns a Conn with a keyed transport writing to a wire, and no network.
func newOfflineConn(t testing.TB, clk clock.Clock) (*Conn, *wire) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m := NewManager(ctx, nil, Config{UserID: testBot, Clock: clk})
	c := newConn(m, JoinConfig{GuildID: testGuild, ChannelID: testChannel})
	w := &wire{clk: clk}
	c.writeOp = w.writeOp
	done := make(chan struct{})
	close(done)
	tr := &transport{w: w, ssrc: 4321, stop: make(chan struct{}), done: done}
	if err := tr.key(vgw.ModeAES256GCMRTPSize, testKey); err != nil {
		t.Fatal(err)
	}
	c.setTransport(tr)
	t.Cleanup(func() { c.cancel(); c.finishOnce(); cancel() })
	return c, w
}

// step advances the manual clock by d once the sender is parked on its timer.
func step(t *testing.T, clk *clock.Manual, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := clk.AwaitWaiters(ctx, 1); err != nil {
		t.Fatal("sender never waited on the clock")
	}
	clk.Advance(d)
}

// drive advances the clock 20 ms at a time whenever the sender waits, until Send returns.
func drive(t *testing.T, clk *clock.Manual, errc <-chan error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		wctx, stop := context.WithCancel(ctx)
		parked := make(chan error, 1)
		go func() { parked <- clk.AwaitWaiters(wctx, 1) }()
		select {
		case err := <-errc:
			stop()
			<-parked
			return err
		case err := <-parked:
			stop()
			if err != nil {
				t.Fatal("Send did not return")
			}
			clk.Advance(FrameDuration)
		}
	}
}

func openAll(t *testing.T, evs []wireEvent) []rtp.Packet {
	t.Helper()
	op, err := rtp.NewOpener(vgw.ModeAES256GCMRTPSize, testKey)
	if err != nil {
		t.Fatal(err)
	}
	var out []rtp.Packet
	for _, ev := range evs {
		if ev.packet == nil {
			continue
		}
		p, err := op.Open(nil, ev.packet)
		if err != nil {
			t.Fatal(err)
		}
		p.Payload = append([]byte(nil), p.Payload...)
		out = append(out, p)
	}
	return out
}

// TestSendClock checks the schedule on a manual clock: speaking first, the first packet one
// frame period later, then one packet per 20 ms on absolute deadlines; a producer that falls
// silent gets one frame period of grace, then five silence frames and speaking off; audio after
// the pause announces speaking again.
func TestSendClock(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	clk := clock.NewManual(t0)
	c, w := newOfflineConn(t, clk)
	d := &fakeE2EE{}
	c.setE2EE(d)
	frames := make(chan []byte, 8)
	for i := range 3 {
		frames <- opusFrame(i)
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Send(context.Background(), frames) }()
	for range 3 + silenceFrames + 1 { // 3 frames, the grace slot, the silence frames (the first needs no wait)
		step(t, clk, FrameDuration)
	}
	waitFor(t, &w.written, func() bool { return len(w.snapshot()) == 1+3+silenceFrames+1 })
	evs := w.snapshot()
	ms := func(ev wireEvent) int { return int(ev.at.Sub(t0) / time.Millisecond) }
	if evs[0].op != vgw.OpSpeaking || evs[0].speaking != SpeakingMicrophone || ms(evs[0]) != 0 {
		t.Fatalf("first event %+v, want speaking at 0 ms", evs[0])
	}
	wantAt := []int{20, 40, 60, 100, 120, 140, 160, 180}
	for i, at := range wantAt {
		if got := ms(evs[1+i]); evs[1+i].packet == nil || got != at {
			t.Fatalf("event %d at %d ms (packet %v), want a packet at %d ms", 1+i, got, evs[1+i].packet != nil, at)
		}
	}
	last := evs[len(evs)-1]
	if last.op != vgw.OpSpeaking || last.speaking != 0 {
		t.Fatalf("last event %+v, want speaking 0", last)
	}
	pkts := openAll(t, evs)
	for i, p := range pkts {
		wantTS := uint32(i) * rtp.TimestampStep
		if i >= 3 {
			wantTS += rtp.TimestampStep // the empty grace slot
		}
		if p.Header.Seq != uint16(i) || p.Header.Timestamp != wantTS || p.Header.SSRC != 4321 {
			t.Fatalf("packet %d header %+v", i, p.Header)
		}
		if i < 3 {
			if want := append(append([]byte{0xDA}, opusFrame(i)...), 0xFA, 0xFA); !bytes.Equal(p.Payload, want) {
				t.Fatalf("packet %d payload %x, want DAVE-wrapped %x", i, p.Payload, want)
			}
		} else if !bytes.Equal(p.Payload, silence) {
			t.Fatalf("packet %d payload %x, want plain silence", i, p.Payload)
		}
	}
	if len(d.encrypted) != 3 {
		t.Fatalf("%d frames went through DAVE, want 3 (never silence)", len(d.encrypted))
	}

	// Audio again after the pause: speaking again, then the frame, then (closed) silence.
	frames <- opusFrame(9)
	close(frames)
	for range 1 + silenceFrames {
		step(t, clk, FrameDuration)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Send = %v", err)
	}
	evs = w.snapshot()[len(evs):]
	if len(evs) != 1+1+silenceFrames+1 || evs[0].op != vgw.OpSpeaking || evs[0].speaking == 0 || evs[len(evs)-1].speaking != 0 {
		t.Fatalf("second stretch: %+v", evs)
	}
	pkts = openAll(t, evs)
	// The RTP timestamp followed the wall clock over the pause.
	if pkts[0].Header.Seq != 8 || pkts[0].Header.Timestamp <= 7*rtp.TimestampStep {
		t.Fatalf("after the pause: %+v", pkts[0].Header)
	}
	if st := c.Stats(); st.PacketsSent != 14 || st.FramesDropped != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestSendClockAbsoluteDeadlines: a late wake-up does not shift the schedule; the next packet
// still goes at start + n·20 ms.
func TestSendClockAbsoluteDeadlines(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	clk := clock.NewManual(t0)
	c, w := newOfflineConn(t, clk)
	frames := make(chan []byte, 10)
	for i := range 10 {
		frames <- opusFrame(i)
	}
	close(frames)
	errc := make(chan error, 1)
	go func() { errc <- c.Send(context.Background(), frames) }()
	step(t, clk, 20*time.Millisecond) // first packet at 20
	step(t, clk, 27*time.Millisecond) // woken 7 ms late: packet 2 at 47
	step(t, clk, 13*time.Millisecond) // packet 3 back on the grid at 60
	if err := drive(t, clk, errc); err != nil {
		t.Fatal(err)
	}
	var at []int
	for _, ev := range w.snapshot() {
		if ev.packet != nil {
			at = append(at, int(ev.at.Sub(t0)/time.Millisecond))
		}
	}
	want := []int{20, 47, 60, 80, 100}
	for i, a := range want {
		if at[i] != a {
			t.Fatalf("packet times %v, want prefix %v", at, want)
		}
	}
}

func TestSendBusyAndCancel(t *testing.T) {
	clk := clock.NewManual(time.Unix(0, 0))
	c, w := newOfflineConn(t, clk)
	frames := make(chan []byte, 1)
	frames <- opusFrame(1)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Send(ctx, frames) }()
	step(t, clk, FrameDuration)
	waitFor(t, &w.written, func() bool { return len(w.snapshot()) >= 2 })
	if err := c.Send(context.Background(), frames); !errors.Is(err, ErrSendBusy) {
		t.Fatalf("second Send = %v", err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v", err)
	}
	// Cancelled mid-stream: the silence frames go out at once, then speaking off.
	evs := w.snapshot()
	if n := len(openAll(t, evs)); n != 1+silenceFrames {
		t.Fatalf("%d packets, want 1 + %d silence", n, silenceFrames)
	}
	if last := evs[len(evs)-1]; last.op != vgw.OpSpeaking || last.speaking != 0 {
		t.Fatalf("last = %+v", last)
	}
}

func TestSendDropsWithoutTransport(t *testing.T) {
	clk := clock.NewManual(time.Unix(0, 0))
	c, w := newOfflineConn(t, clk)
	c.setTransport(nil)
	frames := make(chan []byte, 3)
	for i := range 3 {
		frames <- opusFrame(i)
	}
	close(frames)
	errc := make(chan error, 1)
	go func() { errc <- c.Send(context.Background(), frames) }()
	if err := drive(t, clk, errc); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.FramesDropped != 3+silenceFrames || st.PacketsSent != 0 || len(w.snapshot()) != 0 {
		t.Fatalf("stats %+v, wire %d", st, len(w.snapshot()))
	}
}
