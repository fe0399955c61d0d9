package voice

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/connections/voice/rtp"
	"github.com/cordage/cordage/events"
	vgw "github.com/cordage/cordage/events/voice"
)

const (
	testGuild   = events.Snowflake(77)
	testChannel = events.Snowflake(88)
)

type harness struct {
	fv  *fakeVoice
	gw  *fakeGateway
	m   *Manager
	ctx context.Context
}

// newHarness makes a fake voice server, a fake gateway and a Manager on a clock 100× faster
// than the wall (heartbeats every 10 ms, backoff of a few ms).
func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	fv := newFakeVoice(t)
	gw := &fakeGateway{endpoint: fv.Endpoint()}
	// Timeouts are generous in clock time (100× faster: 60 s is 0.6 s of wall time) so that a
	// busy machine does not trip them; tests of the timeouts set their own.
	cfg := Config{UserID: testBot, Insecure: true, Clock: clock.Scaled(100), DisableDAVE: true,
		Backoff:     Backoff{Min: 100 * time.Millisecond, Max: 400 * time.Millisecond},
		JoinTimeout: time.Minute, ConnectTimeout: time.Minute}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	m := NewManager(ctx, gw, cfg)
	gw.m = m
	t.Cleanup(func() { m.Close(); cancel() })
	return &harness{fv: fv, gw: gw, m: m, ctx: ctx}
}

func (h *harness) join(t *testing.T) *Conn {
	t.Helper()
	c, err := h.m.Join(h.ctx, JoinConfig{GuildID: testGuild, ChannelID: testChannel})
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	return c
}

// awaitEvent returns the first event of type T.
func awaitEvent[T Event](t *testing.T, c *Conn, d time.Duration) T {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("events closed (err %v) before a %T", c.Err(), *new(T))
			}
			if v, ok := ev.(T); ok {
				return v
			}
		case <-timer.C:
			var zero T
			t.Fatalf("no %T within %v", zero, d)
			return zero
		}
	}
}

func awaitDone(t *testing.T, c *Conn, d time.Duration) error {
	t.Helper()
	select {
	case <-c.Done():
		return c.Err()
	case <-time.After(d):
		t.Fatalf("connection still running after %v", d)
		return nil
	}
}

func TestJoinHandshake(t *testing.T) {
	h := newHarness(t, nil)
	c := h.join(t)
	id := h.fv.await(vgw.OpIdentify, 5*time.Second)
	var ident struct {
		ServerID  events.Snowflake `json:"server_id"`
		UserID    events.Snowflake `json:"user_id"`
		SessionID string           `json:"session_id"`
		Token     string           `json:"token"`
		MaxDAVE   *int             `json:"max_dave_protocol_version"`
	}
	if err := decode(vgw.OpIdentify, id.D, &ident); err != nil {
		t.Fatal(err)
	}
	if ident.ServerID != testGuild || ident.UserID != testBot || ident.SessionID != "session-1" || ident.Token != "token-1" || ident.MaxDAVE == nil {
		t.Fatalf("identify = %+v", ident)
	}
	sel := h.fv.await(vgw.OpSelectProtocol, 5*time.Second)
	var sp vgw.SelectProtocol
	_ = decode(vgw.OpSelectProtocol, sel.D, &sp)
	if sp.Protocol != "udp" || sp.Data.Address != "127.0.0.1" || sp.Data.Port == 0 || sp.Data.Mode != vgw.ModeAES256GCMRTPSize {
		t.Fatalf("select protocol = %+v", sp)
	}
	ev := awaitEvent[Connected](t, c, 5*time.Second)
	if ev.Resumed || ev.Mode != vgw.ModeAES256GCMRTPSize || ev.SSRC != 1001 {
		t.Fatalf("connected = %+v", ev)
	}
	if h.m.Conn(testGuild) != c {
		t.Fatal("Manager.Conn does not return the joined connection")
	}
	if _, err := h.m.Join(h.ctx, JoinConfig{GuildID: testGuild, ChannelID: testChannel}); !errors.Is(err, ErrAlreadyJoined) {
		t.Fatalf("second Join = %v", err)
	}
	c.Close()
	if c.Err() != nil {
		t.Fatalf("Err after Close = %v", c.Err())
	}
	if n := h.gw.callCount(); n != 2 || h.gw.calls[1].ChannelID != nil {
		t.Fatalf("gateway calls = %+v, want join then leave", h.gw.calls)
	}
}

func TestJoinMaxDAVEVersion(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.DisableDAVE = false })
	h.join(t)
	id := h.fv.await(vgw.OpIdentify, 5*time.Second)
	if !bytes.Contains(id.D, []byte(`"max_dave_protocol_version":1`)) {
		t.Fatalf("identify %s lacks max_dave_protocol_version 1", id.D)
	}
}

func TestJoinXChaChaWhenAESNotOffered(t *testing.T) {
	h := newHarness(t, nil)
	h.fv.modes = []vgw.Mode{"aead_aes256_gcm", vgw.ModeXChaCha20Poly1305RTPSize, "xsalsa20_poly1305"}
	c := h.join(t)
	if ev := awaitEvent[Connected](t, c, 5*time.Second); ev.Mode != vgw.ModeXChaCha20Poly1305RTPSize {
		t.Fatalf("mode = %s", ev.Mode)
	}
	sendAndCheck(t, h, c, 3)
}

func TestJoinNoSupportedMode(t *testing.T) {
	h := newHarness(t, nil)
	h.fv.modes = []vgw.Mode{"xsalsa20_poly1305"}
	_, err := h.m.Join(h.ctx, JoinConfig{GuildID: testGuild, ChannelID: testChannel})
	if !errors.Is(err, ErrNoMode) {
		t.Fatalf("Join = %v, want ErrNoMode", err)
	}
}

func TestJoinTimeoutFullChannel(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.JoinTimeout = 10 * time.Second })
	h.gw.silent = true
	start := time.Now()
	_, err := h.m.Join(h.ctx, JoinConfig{GuildID: testGuild, ChannelID: testChannel})
	if !errors.Is(err, ErrJoinTimeout) {
		t.Fatalf("Join = %v, want ErrJoinTimeout", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("join timeout not on the injected clock")
	}
	if h.m.Conn(testGuild) != nil {
		t.Fatal("failed join left a connection behind")
	}
}

func TestJoinWaitsThroughNullEndpoint(t *testing.T) {
	h := newHarness(t, nil)
	h.gw.null = true
	done := make(chan error, 1)
	var c *Conn
	go func() {
		var err error
		c, err = h.m.Join(h.ctx, JoinConfig{GuildID: testGuild, ChannelID: testChannel})
		done <- err
	}()
	// The null endpoint must not start a connection; a real one later does.
	waitFor(t, &h.gw.answered, func() bool { c := h.m.Conn(testGuild); return c != nil && c.creds.snapshot().ServerSeen })
	select {
	case err := <-done:
		t.Fatalf("Join returned %v on a null endpoint", err)
	default:
	}
	ep := h.fv.Endpoint()
	serverUpdate(h.m, testGuild, "token-late", &ep)
	if err := <-done; err != nil {
		t.Fatalf("Join = %v", err)
	}
	id := h.fv.await(vgw.OpIdentify, 5*time.Second)
	if !bytes.Contains(id.D, []byte(`"token":"token-late"`)) {
		t.Fatalf("identify %s does not use the later token", id.D)
	}
	c.Close()
}

func TestMoveReconnectsWithNewToken(t *testing.T) {
	h := newHarness(t, nil)
	c := h.join(t)
	awaitEvent[Connected](t, c, 5*time.Second)
	h.fv.await(vgw.OpIdentify, 5*time.Second)
	ep := h.fv.Endpoint()
	serverUpdate(h.m, testGuild, "token-moved", &ep)
	id := h.fv.await(vgw.OpIdentify, 5*time.Second)
	if !bytes.Contains(id.D, []byte(`"token":"token-moved"`)) {
		t.Fatalf("identify after move = %s", id.D)
	}
	if ev := awaitEvent[Connected](t, c, 5*time.Second); ev.Resumed {
		t.Fatal("a move resumed instead of starting a new session")
	}
}

func TestNullEndpointThenNewServer(t *testing.T) {
	h := newHarness(t, nil)
	c := h.join(t)
	awaitEvent[Connected](t, c, 5*time.Second)
	serverUpdate(h.m, testGuild, "token-x", nil)
	awaitEvent[Reconnecting](t, c, 5*time.Second)
	ep := h.fv.Endpoint()
	serverUpdate(h.m, testGuild, "token-y", &ep)
	awaitEvent[Connected](t, c, 5*time.Second)
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
}

// sendAndCheck sends n distinct frames and checks that the fake server opens them in order,
// after a speaking op, with consecutive seq and timestamps, then five silence frames.
func sendAndCheck(t *testing.T, h *harness, c *Conn, n int) {
	t.Helper()
	frames := make(chan []byte, n)
	for i := range n {
		frames <- opusFrame(i)
	}
	close(frames)
	if err := c.Send(h.ctx, frames); err != nil {
		t.Fatalf("Send: %v", err)
	}
	sp := h.fv.await(vgw.OpSpeaking, 5*time.Second)
	var s vgw.Speaking
	_ = decode(vgw.OpSpeaking, sp.D, &s)
	if s.Speaking != SpeakingMicrophone || s.SSRC == 0 {
		t.Fatalf("speaking = %+v", s)
	}
	var first rtp.Packet
	for i := range n + silenceFrames {
		var p rtp.Packet
		select {
		case p = <-h.fv.packets:
		case <-time.After(5 * time.Second):
			t.Fatalf("packet %d never arrived", i)
		}
		if i == 0 {
			first = p
		}
		want := silence
		if i < n {
			want = opusFrame(i)
		}
		if !bytes.Equal(p.Payload, want) {
			t.Fatalf("packet %d payload %x, want %x", i, p.Payload, want)
		}
		if p.Header.SSRC != s.SSRC || p.Header.PayloadType != rtp.PayloadTypeOpus ||
			p.Header.Seq != first.Header.Seq+uint16(i) || p.Header.Timestamp != first.Header.Timestamp+uint32(i)*rtp.TimestampStep {
			t.Fatalf("packet %d header %+v (first %+v)", i, p.Header, first.Header)
		}
	}
	off := h.fv.await(vgw.OpSpeaking, 5*time.Second)
	_ = decode(vgw.OpSpeaking, off.D, &s)
	if s.Speaking != 0 {
		t.Fatalf("speaking after the stream = %+v, want 0", s)
	}
}

// opusFrame is a fake 20 ms CELT frame (TOC config 31, one frame) carrying i.
func opusFrame(i int) []byte { return []byte{0xF8, byte(i >> 8), byte(i), 0xAA, 0x55} }

func TestSendReachesServer(t *testing.T) {
	h := newHarness(t, nil)
	c := h.join(t)
	sendAndCheck(t, h, c, 10)
	if st := c.Stats(); st.PacketsSent != 10+silenceFrames || st.FramesDropped != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestReceiveDemux(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PacketBuffer = 4 })
	var handled notifier // one poke per datagram the UDP reader is done with
	h.m.afterDatagram = handled.poke
	c := h.join(t)
	sendAndCheck(t, h, c, 1) // teaches the fake our UDP address
	const other = events.Snowflake(5151)
	// Before a speaking event maps SSRC 9 its packet has no user: it is held, not dropped.
	h.fv.sendRTP(rtp.Header{PayloadType: rtp.PayloadTypeOpus, Seq: 1, Timestamp: 960, SSRC: 9}, []byte{1, 2, 3})
	h.fv.push(vgw.OpSpeaking, vgw.Speaking{Speaking: SpeakingMicrophone, SSRC: 9, UserID: other}, true)
	if ev := awaitEvent[SpeakingUpdate](t, c, 5*time.Second); ev.UserID != other || ev.SSRC != 9 {
		t.Fatalf("speaking event = %+v", ev)
	}
	// RTCP is ignored without counting it as a failure.
	h.fv.sendRaw([]byte{0x80, 200, 0, 6, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0})
	// CSRCs and a header extension: the extension body is encrypted in front of the payload.
	hx := rtp.Header{PayloadType: rtp.PayloadTypeOpus, Seq: 2, Timestamp: 1920, SSRC: 9, CSRCCount: 2,
		Extension: true, ExtensionProfile: rtp.ExtensionProfileOneByte, ExtensionWords: 1}
	hx.CSRC[0], hx.CSRC[1] = 11, 12
	h.fv.sendRTP(hx, []byte{0x10, 0xAB, 0, 0, 7, 8, 9})
	// Garbage fails to open: counted.
	h.fv.sendRaw([]byte{0x80, 0x78, 0, 3, 0, 0, 0, 1, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	for i, want := range []Packet{
		{UserID: other, SSRC: 9, Seq: 1, Timestamp: 960, Opus: []byte{1, 2, 3}}, // the held one
		{UserID: other, SSRC: 9, Seq: 2, Timestamp: 1920, Opus: []byte{7, 8, 9}},
	} {
		var p Packet
		select {
		case p = <-c.Packets():
		case <-time.After(5 * time.Second):
			t.Fatalf("no packet %d", i)
		}
		if p.UserID != want.UserID || p.SSRC != want.SSRC || p.Seq != want.Seq || p.Timestamp != want.Timestamp || !bytes.Equal(p.Opus, want.Opus) {
			t.Fatalf("packet %d = %+v, want %+v", i, p, want)
		}
	}
	waitFor(t, &handled, func() bool { return c.Stats().PacketsUndecrypt == 1 })
	// A reader that does not read: the buffer (4) fills, the rest is dropped and counted,
	// and the connection keeps working.
	for i := range 10 {
		h.fv.sendRTP(rtp.Header{PayloadType: rtp.PayloadTypeOpus, Seq: uint16(10 + i), SSRC: 9}, []byte{byte(i)})
	}
	waitFor(t, &handled, func() bool { s := c.Stats(); return s.PacketsReceived+s.PacketsDropped == 12 })
	if s := c.Stats(); s.PacketsReceived != 6 || s.PacketsDropped != 6 || s.PacketsUnknownSSRC != 0 {
		t.Fatalf("stats = %+v", s)
	}
	// A packet from an SSRC nobody ever maps is dropped (and counted) once it is a second old.
	k := handled.count()
	h.fv.sendRTP(rtp.Header{PayloadType: rtp.PayloadTypeOpus, Seq: 1, SSRC: 10}, []byte{1})
	waitPokes(t, &handled, k+1) // held now, stamped with the clock's time
	clock.Sleep(c.clk, holdFor, nil)
	h.fv.sendRTP(rtp.Header{PayloadType: rtp.PayloadTypeOpus, Seq: 99, SSRC: 9}, []byte{1}) // wakes the reader
	waitPokes(t, &handled, k+2)
	if n := c.Stats().PacketsUnknownSSRC; n != 1 {
		t.Fatalf("%d packets counted as from an unknown SSRC, want the expired one", n)
	}
	h.fv.push(vgw.OpClientDisconnect, vgw.ClientDisconnect{UserID: other}, true)
	if ev := awaitEvent[UserDisconnected](t, c, 5*time.Second); ev.UserID != other {
		t.Fatalf("disconnect = %+v", ev)
	}
	if _, ok := c.ssrcs.get(9); ok {
		t.Fatal("SSRC of a departed user still mapped")
	}
}

// notifier wakes the tests waiting on it whenever what they watch may have changed: a
// datagram handled, a write recorded, a dispatch handed over.
type notifier struct {
	mu sync.Mutex
	n  int
	ch chan struct{}
}

func (n *notifier) poke() {
	n.mu.Lock()
	n.n++
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
	n.mu.Unlock()
}

// next returns a channel closed at the next poke.
func (n *notifier) next() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *notifier) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.n
}

// waitFor waits until cond holds, checking it again at every poke of n, for at most 5 s.
func waitFor(t *testing.T, n *notifier, cond func() bool) {
	t.Helper()
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	for {
		ch := n.next() // before cond: a change after the check still wakes us
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			t.Fatal("condition not met within 5 s")
		}
	}
}

// waitPokes waits until n has been poked at least k times in all.
func waitPokes(t *testing.T, n *notifier, k int) {
	t.Helper()
	waitFor(t, n, func() bool { return n.count() >= k })
}

func TestCloseStopsSendAndLeaves(t *testing.T) {
	h := newHarness(t, nil)
	c := h.join(t)
	frames := make(chan []byte) // never fed: Send waits for the first frame
	errc := make(chan error, 1)
	go func() { errc <- c.Send(context.Background(), frames) }()
	c.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close = %v", err)
	}
	if _, ok := <-c.Packets(); ok {
		t.Fatal("Packets not closed")
	}
	if _, ok := <-c.Events(); ok {
		for range c.Events() {
		}
	}
	c.Close() // twice is fine
	if n := h.gw.callCount(); n != 2 {
		t.Fatalf("%d gateway calls, want join and one leave", n)
	}
}

func TestFatalCloseLeavesChannel(t *testing.T) {
	h := newHarness(t, nil)
	c := h.join(t)
	awaitEvent[Connected](t, c, 5*time.Second)
	h.fv.closeWith(vgw.CloseCallTerminated)
	awaitDone(t, c, 5*time.Second)
	if n := h.gw.callCount(); n != 2 || h.gw.calls[1].ChannelID != nil {
		t.Fatalf("gateway calls %+v, want join then leave", h.gw.calls)
	}
	if h.m.Conn(testGuild) != nil {
		t.Fatal("ended connection still registered")
	}
	// The guild can be joined again.
	c2 := h.join(t)
	c2.Close()
}

func TestManagerContextStopsEverything(t *testing.T) {
	fv := newFakeVoice(t)
	gw := &fakeGateway{endpoint: fv.Endpoint()}
	ctx, cancel := context.WithCancel(context.Background())
	m := NewManager(ctx, gw, Config{UserID: testBot, Insecure: true, Clock: clock.Scaled(100), DisableDAVE: true})
	gw.m = m
	c, err := m.Join(ctx, JoinConfig{GuildID: testGuild, ChannelID: testChannel})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	awaitDone(t, c, 5*time.Second)
	// The context's end leaves the channel as Close does: op 4 with no channel, once.
	if n := gw.callCount(); n != 2 || gw.calls[1].ChannelID != nil {
		t.Fatalf("gateway calls %+v, want join then leave", gw.calls)
	}
	c.Close()
	m.Close() // waits; goleak checks that nothing is left
	if n := gw.callCount(); n != 2 {
		t.Fatalf("%d gateway calls after Close, want join and one leave", n)
	}
	if _, err := m.Join(context.Background(), JoinConfig{GuildID: testGuild, ChannelID: testChannel}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Join after the context ended = %v", err)
	}
}

// stuckGateway takes the join but never answers the leave: a gateway that died with the bot.
type stuckGateway struct {
	*fakeGateway
	leaveDeadline chan time.Duration // how long the leave's context had
}

func (g *stuckGateway) UpdateVoiceState(ctx context.Context, v connections.VoiceStateUpdate) error {
	if v.ChannelID != nil {
		return g.fakeGateway.UpdateVoiceState(ctx, v)
	}
	dl, ok := ctx.Deadline()
	if !ok {
		g.leaveDeadline <- -1
		return errors.New("no deadline")
	}
	g.leaveDeadline <- time.Until(dl)
	<-ctx.Done()
	return ctx.Err()
}

// TestLeaveBoundedOnDeadGateway: when the gateway cannot take the leave, the Conn still ends,
// after leaveTimeout on its clock (2 s of clock time: 20 ms here), whether the Manager's
// context or Close ends it.
func TestLeaveBoundedOnDeadGateway(t *testing.T) {
	for _, how := range []string{"context", "close"} {
		t.Run(how, func(t *testing.T) {
			fv := newFakeVoice(t)
			gw := &stuckGateway{fakeGateway: &fakeGateway{endpoint: fv.Endpoint()}, leaveDeadline: make(chan time.Duration, 2)}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			m := NewManager(ctx, gw, Config{UserID: testBot, Insecure: true, Clock: clock.Scaled(100), DisableDAVE: true})
			gw.m = m
			c, err := m.Join(ctx, JoinConfig{GuildID: testGuild, ChannelID: testChannel})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if how == "context" {
				cancel()
				awaitDone(t, c, 5*time.Second)
			}
			m.Close()
			if took := time.Since(start); took > 5*time.Second {
				t.Fatalf("shutdown took %v with a dead gateway", took)
			}
			select {
			case d := <-gw.leaveDeadline:
				if d <= 0 || d > leaveTimeout/100+time.Second {
					t.Fatalf("the leave had %v, want about %v", d, leaveTimeout/100)
				}
			default:
				t.Fatal("no leave was attempted")
			}
			if len(gw.leaveDeadline) != 0 {
				t.Fatal("two leaves")
			}
		})
	}
}
