package voice

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
)

// TestUDPKeepAlive drives the keepalive on a manual clock against the fake voice server: a
// datagram every 5 s of clock time in which no audio went out, none in an interval that
// carried audio, counters in the datagram, the server's echoes ignored by the reader, and the
// send clock's RTP state untouched.
func TestUDPKeepAlive(t *testing.T) {
	clk := clock.NewManual(time.Unix(1_700_000_000, 0))
	h := newHarness(t, func(c *Config) { c.Clock = clk })
	var handled notifier
	h.m.afterDatagram = handled.poke
	c := h.join(t)
	// Armed now: the session's connect timer and heartbeat ticker, and the keepalive timer.
	armed := clk.Waiters()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// tick moves the clock one keepalive interval and waits until the keepalive goroutine has
	// handled it (it re-arms its timer last).
	tick := func() {
		t.Helper()
		clk.Advance(keepAliveInterval)
		if err := clk.AwaitWaiters(ctx, armed); err != nil {
			t.Fatalf("the keepalive did not re-arm: %v", err)
		}
	}
	c.stats.sent.Add(1) // as if Send had sent a packet in this interval
	tick()
	if n := c.Stats().KeepAlivesSent; n != 0 {
		t.Fatalf("%d keepalives in an interval with audio, want 0", n)
	}
	for i := range 2 {
		tick()
		if n := c.Stats().KeepAlivesSent; n != uint64(i+1) {
			t.Fatalf("%d keepalives after %d silent intervals", n, i+1)
		}
		select {
		case b := <-h.fv.keepAlives:
			if want := []byte{byte(i), 0, 0, 0, 0, 0, 0, 0}; !bytes.Equal(b, want) {
				t.Fatalf("keepalive %d = %x, want %x", i, b, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("keepalive %d did not reach the server", i)
		}
	}
	waitPokes(t, &handled, 2) // both echoes went through the reader
	if s := c.Stats(); s.PacketsUndecrypt != 0 || s.PacketsReceived != 0 || s.PacketsSent != 1 {
		t.Fatalf("stats %+v: echoes must be neither audio nor failures, keepalives not packets", s)
	}
	if c.snd.seq != 0 || c.snd.ts != 0 {
		t.Fatalf("RTP state moved (seq %d, timestamp %d): keepalives must leave the send clock alone", c.snd.seq, c.snd.ts)
	}
	c.Close() // the keepalive ends with the transport; goleak checks it
	select {
	case b := <-h.fv.keepAlives:
		t.Fatalf("an extra keepalive %x", b)
	default:
	}
}
