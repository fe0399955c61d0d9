package voicesim

import (
	"context"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/voice"
)

// newServer starts a server that no test client has to heartbeat against (one-hour interval on
// the wall clock) unless opts say otherwise.
func newServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	srv, err := New(append([]Option{WithHeartbeatInterval(time.Hour)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return srv
}

func waitLedger(t testing.TB, srv *Server, pred func(*Ledger) bool) *Ledger {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitWall)
	defer cancel()
	if err := srv.WaitFor(ctx, pred); err != nil {
		l := srv.Ledger()
		for _, r := range l.Sessions {
			t.Logf("session %d user %d ended %q sent %v received %v rejected %v", r.ID, r.UserID, r.Ended, r.Sent, r.Received, r.DAVERejected)
		}
		t.Fatalf("ledger condition: %v", err)
	}
	return srv.Ledger()
}

func TestHandshake(t *testing.T) {
	for _, mode := range []voice.Mode{voice.ModeAES256GCMRTPSize, voice.ModeXChaCha20Poly1305RTPSize} {
		t.Run(string(mode), func(t *testing.T) {
			srv := newServer(t, WithDAVE(0, false))
			c := newClient(t, srv, 10)
			c.join(1, mode)
			if c.ready.SSRC == 0 || c.ready.IP != "127.0.0.1" || c.ready.Port != srv.UDPAddr().Port() {
				t.Fatalf("ready %+v", c.ready)
			}
			if len(c.ready.Modes) != 2 || c.ready.Modes[0] != voice.ModeAES256GCMRTPSize || c.ready.Modes[1] != voice.ModeXChaCha20Poly1305RTPSize {
				t.Fatalf("modes %v", c.ready.Modes)
			}
			if c.desc.Mode != mode || c.desc.DAVEProtocolVersion != 0 || c.desc.SecretKey == (voice.SecretKey{}) {
				t.Fatalf("session description mode %s dave %d", c.desc.Mode, c.desc.DAVEProtocolVersion)
			}
			l := srv.Ledger()
			rec, ok := l.Session(10)
			if !ok || rec.SSRC != c.ready.SSRC || rec.Mode != mode || rec.GuildID != 1 || rec.ChannelID != 2 || rec.SessionID != "sess-10" {
				t.Fatalf("ledger session %+v", rec)
			}
			// Ready and Session Description are sequenced; op 15 sits between them.
			ops := []voice.Op{}
			for i, m := range rec.Sent {
				if m.Seq != int64(i+1) || m.Written != 1 {
					t.Fatalf("sent[%d] = %+v", i, m)
				}
				ops = append(ops, m.Op)
			}
			want := []voice.Op{voice.OpReady, voice.OpMediaSinkWants, voice.OpSessionDescription}
			if len(ops) != len(want) || ops[0] != want[0] || ops[1] != want[1] || ops[2] != want[2] {
				t.Fatalf("sent ops %v, want %v", ops, want)
			}
		})
	}
}

func TestDAVENegotiation(t *testing.T) {
	cases := []struct {
		name      string
		opts      []Option
		clientMax int
		want      int
		close     int
	}{
		{"required, offered", nil, 1, 1, 0},
		{"client offers more", nil, 3, 1, 0},
		{"required, not offered", nil, 0, 0, 4017},
		{"optional, not offered", []Option{WithDAVE(1, false)}, 0, 0, 0},
		{"server without DAVE", []Option{WithDAVE(0, false)}, 1, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.opts...)
			c := newClient(t, srv, 10)
			if tc.close != 0 {
				c.identify(tc.clientMax)
				if code := c.expectClose(); code != tc.close {
					t.Fatalf("close %d, want %d", code, tc.close)
				}
				return
			}
			c.join(tc.clientMax, voice.ModeAES256GCMRTPSize)
			if c.desc.DAVEProtocolVersion != tc.want {
				t.Fatalf("dave_protocol_version %d, want %d", c.desc.DAVEProtocolVersion, tc.want)
			}
		})
	}
}

func TestHeartbeatAndSeqAck(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	c := newClient(t, srv, 10)
	// A heartbeat before identify is allowed and answered.
	c.send(voice.OpHeartbeat, voice.Heartbeat{T: 7, SeqAck: -1})
	var ack voice.HeartbeatACK
	m := c.next()
	if m.Env.Op != voice.OpHeartbeatACK || m.Env.HasSeq || m.Env.Decode(&ack) != nil || ack.T != 7 {
		t.Fatalf("ack %+v", m)
	}
	c.join(1, voice.ModeAES256GCMRTPSize)
	if c.lastSeq != 3 {
		t.Fatalf("last seq %d, want 3", c.lastSeq)
	}
	c.send(voice.OpHeartbeat, voice.Heartbeat{T: 1234567, SeqAck: c.lastSeq})
	if err := c.expect(voice.OpHeartbeatACK).Decode(&ack); err != nil || ack.T != 1234567 {
		t.Fatalf("ack %+v %v", ack, err)
	}
	// A withheld ACK: the next heartbeat gets none, the one after it does.
	if err := srv.Faults().WithholdACKs(10, 1); err != nil {
		t.Fatal(err)
	}
	c.send(voice.OpHeartbeat, voice.Heartbeat{T: 1, SeqAck: c.lastSeq})
	c.send(voice.OpHeartbeat, voice.Heartbeat{T: 2, SeqAck: c.lastSeq})
	if err := c.expect(voice.OpHeartbeatACK).Decode(&ack); err != nil || ack.T != 2 {
		t.Fatalf("ack after a withheld one %+v %v", ack, err)
	}
	// The pre-v8 bare nonce is answered too.
	c.send(voice.OpHeartbeat, 99)
	if err := c.expect(voice.OpHeartbeatACK).Decode(&ack); err != nil || ack.T != 99 {
		t.Fatalf("ack %+v %v", ack, err)
	}
	l := waitLedger(t, srv, func(l *Ledger) bool { r, _ := l.Session(10); return r.Heartbeats == 4 })
	if r, _ := l.Session(10); r.LastSeqAck != -1 || r.ACKsWithheld != 1 {
		t.Fatalf("last seq_ack %d after a bare heartbeat, want -1", r.LastSeqAck)
	}
}

func TestHeartbeatTimeoutCloses4009(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	srv, err := New(WithClock(clk), WithHeartbeatInterval(5*time.Second), WithDAVE(0, false))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := newClient(t, srv, 10)
	c.identify(1)
	c.expect(voice.OpReady)
	// The client never heartbeats: interval + grace (7.5 s) after the connection opened, the
	// server closes.
	clk.Advance(7500 * time.Millisecond)
	if code := c.expectClose(); code != 4009 {
		t.Fatalf("close %d, want 4009", code)
	}
	l := waitLedger(t, srv, func(l *Ledger) bool { r, _ := l.Session(10); return r.Ended != "" })
	if r, _ := l.Session(10); r.Ended != "closed 4009 Session timeout" || r.Connections[0].Code != 4009 {
		t.Fatalf("session %+v", r)
	}
	c.close()
}

func TestHeartbeatsKeepTheConnection(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	srv, err := New(WithClock(clk), WithHeartbeatInterval(5*time.Second), WithDAVE(0, false))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := newClient(t, srv, 10)
	c.identify(1)
	c.expect(voice.OpReady)
	// A heartbeat every 2.5 s of clock time, 20 times (50 s, ten intervals): no close. The
	// deadline (interval + grace = 7.5 s) is passed many times over without heartbeats between.
	for i := range 20 {
		clk.Advance(2500 * time.Millisecond)
		c.send(voice.OpHeartbeat, voice.Heartbeat{T: int64(i), SeqAck: c.lastSeq})
		for {
			m := c.next()
			if m.Closed {
				t.Fatalf("closed with %d after %d heartbeats", m.Code, i)
			}
			if m.Env.Op == voice.OpHeartbeatACK {
				break
			}
		}
	}
	// Then silence: one step past the deadline closes with 4009.
	// (The writer re-arms its timer from its own reading of the clock, which may be a step
	// behind; advancing again until the close arrives keeps the test independent of that.)
	for range 10 {
		clk.Advance(7500 * time.Millisecond)
		select {
		case m := <-c.msgs:
			if !m.Closed || m.Code != 4009 {
				t.Fatalf("got %+v, want close 4009", m)
			}
			c.close()
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatal("no close after the deadline")
}

func TestProtocolErrorsClose(t *testing.T) {
	cases := []struct {
		name string
		code int
		act  func(c *testClient)
	}{
		{"bad json", 4002, func(c *testClient) { _ = c.ws.WriteMessage(1, []byte("{nope")) }},
		{"unknown opcode", 4001, func(c *testClient) { c.identify(1); c.expect(voice.OpReady); c.send(42, map[string]any{}) }},
		{"server-only opcode", 4001, func(c *testClient) { c.identify(1); c.expect(voice.OpReady); c.send(voice.OpReady, map[string]any{}) }},
		{"binary unknown opcode", 4001, func(c *testClient) { c.identify(1); c.expect(voice.OpReady); _ = c.ws.WriteMessage(2, []byte{99, 1}) }},
		{"speaking before identify", 4003, func(c *testClient) { c.speak() }},
		{"binary before identify", 4003, func(c *testClient) { _ = c.ws.WriteMessage(2, []byte{26}) }},
		{"bad token", 4004, func(c *testClient) { c.token = "nope"; c.identify(1) }},
		{"wrong user", 4004, func(c *testClient) { c.user = 11; c.identify(1) }},
		{"wrong session id", 4004, func(c *testClient) { c.sessID = "other"; c.identify(1) }},
		{"second identify", 4005, func(c *testClient) { c.identify(1); c.expect(voice.OpReady); c.identify(1) }},
		{"wrong server id", 4011, func(c *testClient) { c.guild = 99; c.identify(1) }},
		{"protocol not udp", 4012, func(c *testClient) {
			c.identify(1)
			c.expect(voice.OpReady)
			c.send(voice.OpSelectProtocol, voice.SelectProtocol{Protocol: "webrtc", Data: voice.SelectProtocolData{Address: "127.0.0.1", Port: 1, Mode: voice.ModeAES256GCMRTPSize}})
		}},
		{"mode not offered", 4016, func(c *testClient) {
			c.identify(1)
			c.expect(voice.OpReady)
			c.send(voice.OpSelectProtocol, voice.SelectProtocol{Protocol: "udp", Data: voice.SelectProtocolData{Address: "127.0.0.1", Port: 1, Mode: "xsalsa20_poly1305"}})
		}},
		{"bad address", 4020, func(c *testClient) {
			c.identify(1)
			c.expect(voice.OpReady)
			c.send(voice.OpSelectProtocol, voice.SelectProtocol{Protocol: "udp", Data: voice.SelectProtocolData{Address: "here", Port: 1, Mode: voice.ModeAES256GCMRTPSize}})
		}},
		{"speaking with another ssrc", 4020, func(c *testClient) {
			c.identify(1)
			c.expect(voice.OpReady)
			c.send(voice.OpSpeaking, voice.Speaking{Speaking: 1, SSRC: c.ready.SSRC + 1})
		}},
		{"DAVE op without DAVE", 4020, func(c *testClient) {
			c.identify(0)
			c.expect(voice.OpReady)
			c.send(voice.OpDAVEReadyForTransition, voice.DAVEReadyForTransition{TransitionID: 1})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, WithDAVE(1, false))
			c := newClient(t, srv, 10)
			tc.act(c)
			if code := c.expectClose(); code != tc.code {
				t.Fatalf("close %d, want %d", code, tc.code)
			}
			l := waitLedger(t, srv, func(l *Ledger) bool {
				for _, code := range l.Closes() {
					if int(code) == tc.code {
						return true
					}
				}
				return false
			})
			if r, ok := l.Session(10); ok && r.Ended == "" {
				t.Fatalf("session still alive after %d: %+v", tc.code, r)
			}
		})
	}
}

// TestEveryCloseCodeOnDemand closes a live session with each documented code and checks what the
// session became: resumable for resume-policy codes, gone for every other.
func TestEveryCloseCodeOnDemand(t *testing.T) {
	codes := []voice.CloseCode{1000, 1001, 4000}
	for _, info := range voice.CloseCodes {
		codes = append(codes, info.Code)
	}
	for _, code := range codes {
		t.Run(code.String(), func(t *testing.T) {
			srv := newServer(t, WithDAVE(0, false))
			c := newClient(t, srv, 10)
			c.join(1, voice.ModeAES256GCMRTPSize)
			if err := srv.Faults().Close(10, code); err != nil {
				t.Fatal(err)
			}
			if got := c.expectClose(); got != int(code) {
				t.Fatalf("close %d, want %d", got, code)
			}
			c.close()
			c.dial()
			c.send(voice.OpResume, voice.Resume{ServerID: c.guild, SessionID: c.sessID, Token: voice.Token(c.token), SeqAck: c.lastSeq})
			if code.Policy() == voice.PolicyResume {
				c.expect(voice.OpResumed)
			} else if got := c.expectClose(); got != 4006 {
				t.Fatalf("resume after %d closed with %d, want 4006", code, got)
			}
			l := srv.Ledger()
			r, _ := l.Session(10)
			if r.Connections[0].End != "server-close" || r.Connections[0].Code != code {
				t.Fatalf("first connection %+v", r.Connections[0])
			}
		})
	}
}

func TestFaultsNeedASession(t *testing.T) {
	srv := newServer(t)
	if err := srv.Faults().Close(5, 4014); err != ErrNoSession {
		t.Fatalf("Close: %v", err)
	}
	if err := srv.Faults().DropWS(5, 1); err != ErrNoSession {
		t.Fatalf("DropWS: %v", err)
	}
}

func TestUndocumentedOpsAndClientsConnect(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	a := newClient(t, srv, 10)
	a.join(1, voice.ModeAES256GCMRTPSize)
	a.speak()
	b := newClient(t, srv, 20)
	b.identify(1)
	// b: Ready, op 15, op 11 [10], op 18, op 20 about 10, then a's speaking state.
	want := []voice.Op{voice.OpReady, voice.OpMediaSinkWants, voice.OpClientsConnect, voice.OpClientFlags, voice.OpClientPlatform, voice.OpSpeaking}
	for i, op := range want {
		m := b.next()
		if m.Env.Op != op || !m.Env.HasSeq || m.Env.Seq != int64(i+1) {
			t.Fatalf("b message %d: %+v, want %s with seq %d", i, m, op, i+1)
		}
		switch op {
		case voice.OpClientsConnect:
			var cc voice.ClientsConnect
			if err := m.Env.Decode(&cc); err != nil || len(cc.UserIDs) != 1 || cc.UserIDs[0] != 10 {
				t.Fatalf("clients connect %+v %v", cc, err)
			}
		case voice.OpSpeaking:
			var sp voice.Speaking
			if err := m.Env.Decode(&sp); err != nil || sp.UserID != 10 || sp.SSRC != a.ready.SSRC || sp.Speaking != voice.SpeakingMicrophone {
				t.Fatalf("speaking %+v %v", sp, err)
			}
		}
	}
	// a: op 11 [20] (and the undocumented 18, 20).
	var cc voice.ClientsConnect
	if err := a.expect(voice.OpClientsConnect).Decode(&cc); err != nil || len(cc.UserIDs) != 1 || cc.UserIDs[0] != 20 {
		t.Fatalf("a clients connect %+v %v", cc, err)
	}
	// Any op on demand, documented or not.
	if err := srv.Faults().Send(10, 16, map[string]any{"voice": "0.0.0"}); err != nil {
		t.Fatal(err)
	}
	for {
		m := a.next()
		if m.Env.Op == 16 {
			break
		}
		if m.Closed || m.Env.Op.Documented() {
			t.Fatalf("unexpected %+v", m)
		}
	}
	// b leaves: a gets op 13.
	srv.Leave(1, 20)
	if code := b.expectClose(); code != 4014 {
		t.Fatalf("leave closed b with %d, want 4014", code)
	}
	var cd voice.ClientDisconnect
	if err := a.expect(voice.OpClientDisconnect).Decode(&cd); err != nil || cd.UserID != 20 {
		t.Fatalf("client disconnect %+v %v", cd, err)
	}
}

func TestWithoutUndocumentedOps(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false), WithUndocumentedOps(false))
	a := newClient(t, srv, 10)
	a.identify(1)
	a.expect(voice.OpReady)
	b := newClient(t, srv, 20)
	b.identify(1)
	b.expect(voice.OpReady)
	if m := b.next(); m.Env.Op != voice.OpClientsConnect {
		t.Fatalf("after ready %+v, want op 11 with no undocumented op before it", m)
	}
	l := srv.Ledger()
	for _, s := range l.Sessions {
		for _, m := range s.Sent {
			if !m.Op.Documented() {
				t.Fatalf("sent %s", m.Op)
			}
		}
	}
}

func TestNewTokenRevokesTheOldOne(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	c := newClient(t, srv, 10)
	old := c.token
	c.token, _ = srv.IssueToken(1, 3, 10, c.sessID) // moved to channel 3
	c.token = old
	c.identify(1)
	if code := c.expectClose(); code != 4004 {
		t.Fatalf("identify with a revoked token closed with %d, want 4004", code)
	}
}

func TestNewIdentifyReplacesTheSession(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	a := newClient(t, srv, 10)
	a.join(1, voice.ModeAES256GCMRTPSize)
	other := newClient(t, srv, 20)
	other.join(1, voice.ModeAES256GCMRTPSize)
	a2 := &testClient{t: t, srv: srv, guild: 1, ch: 2, user: 10, sessID: a.sessID, token: a.token, lastSeq: -1}
	a2.dial()
	t.Cleanup(a2.closeAll)
	a2.identify(1)
	a2.expect(voice.OpReady)
	if code := a.expectClose(); code != 4006 {
		t.Fatalf("replaced session closed with %d, want 4006", code)
	}
	// The other member sees the old session leave and the new one arrive.
	other.expect(voice.OpClientDisconnect)
	other.expect(voice.OpClientsConnect)
	l := srv.Ledger()
	if len(l.Sessions) != 3 || l.Sessions[0].Ended != "replaced by a new identify" || l.Sessions[2].Ended != "" {
		t.Fatalf("sessions %+v", l.Sessions)
	}
}

func TestResumeWindowExpires(t *testing.T) {
	srv, err := New(WithClock(clock.Scaled(1000)), WithHeartbeatInterval(time.Hour), WithResumeWindow(10*time.Second), WithDAVE(0, false))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a := newClient(t, srv, 10)
	a.identify(1)
	a.expect(voice.OpReady)
	b := newClient(t, srv, 20)
	b.identify(1)
	b.expect(voice.OpReady)
	a.expect(voice.OpClientsConnect)
	if err := srv.Faults().Drop(20); err != nil {
		t.Fatal(err)
	}
	if code := b.expectClose(); code != 0 && code != 1006 {
		t.Fatalf("drop gave close code %d", code)
	}
	var cd voice.ClientDisconnect
	if err := a.expect(voice.OpClientDisconnect).Decode(&cd); err != nil || cd.UserID != 20 {
		t.Fatalf("client disconnect %+v %v", cd, err)
	}
	r, _ := srv.Ledger().Session(20)
	if r.Ended != "resume window expired" || r.Connections[0].End != "dropped" {
		t.Fatalf("session %+v", r)
	}
	a.close()
	b.close()
}

func TestWaitForStopsOnContext(t *testing.T) {
	srv := newServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.WaitFor(ctx, func(*Ledger) bool { return false }); err != context.Canceled {
		t.Fatalf("WaitFor: %v", err)
	}
	_ = events.Snowflake(0)
}

func TestBackendVersionRequestIsAnswered(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	c := newClient(t, srv, 10)
	c.join(1, voice.ModeAES256GCMRTPSize)
	c.send(voice.OpVoiceBackendVersion, map[string]any{})
	for {
		m := c.next()
		if m.Closed {
			t.Fatalf("closed with %d", m.Code)
		}
		if m.Env.Op == voice.OpVoiceBackendVersion {
			return
		}
	}
}
