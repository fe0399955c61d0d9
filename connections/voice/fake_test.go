package voice

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/connections/voice/rtp"
	"github.com/cordage/cordage/events"
	vgw "github.com/cordage/cordage/events/voice"
)

// fakeVoice is a small voice server for unit tests: websocket v8 (hello, identify, ready,
// select protocol, session description, heartbeats, resume with replay) and UDP (IP discovery,
// opening the client's packets, sending packets to it). It is test scaffolding; the simulator
// in test/fakediscord/voice is the independent implementation.
type fakeVoice struct {
	t   testing.TB
	srv *httptest.Server
	udp *net.UDPConn
	wg  sync.WaitGroup

	modes       []vgw.Mode
	daveVersion int
	noAck       atomic.Bool
	noDiscovery atomic.Bool
	badReady    atomic.Bool
	loseDisc    atomic.Int32 // discovery requests to ignore before answering
	// onIdentify, when set, decides what happens after an identify: return a close code to
	// close with instead of Ready (0: carry on).
	onIdentify func(n int) vgw.CloseCode

	mu         sync.Mutex
	ws         *websocket.Conn
	conns      []*websocket.Conn
	seq        int64
	buffer     []sentMsg
	sessionID  int
	ssrc       uint32
	mode       vgw.Mode
	key        [32]byte
	opener     *rtp.Opener
	sealer     *rtp.Sealer
	clientAddr *net.UDPAddr
	identifies int
	resumes    int

	recv       chan clientMsg
	packets    chan rtp.Packet
	keepAlives chan []byte
	closed     chan struct{}
}

type sentMsg struct {
	seq  int64
	data []byte
}

type clientMsg struct {
	Op   vgw.Op
	D    json.RawMessage
	When time.Time
}

func newFakeVoice(t testing.TB) *fakeVoice {
	t.Helper()
	f := &fakeVoice{
		t: t, modes: []vgw.Mode{vgw.ModeXChaCha20Poly1305RTPSize, vgw.ModeAES256GCMRTPSize},
		ssrc: 1000, recv: make(chan clientMsg, 4096), packets: make(chan rtp.Packet, 4096), keepAlives: make(chan []byte, 64),
		closed: make(chan struct{}),
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serveWS))
	uc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	f.udp = uc
	f.wg.Add(1)
	go f.serveUDP()
	t.Cleanup(f.Close)
	return f
}

// Endpoint is host:port, as VOICE_SERVER_UPDATE carries it.
func (f *fakeVoice) Endpoint() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *fakeVoice) Close() {
	select {
	case <-f.closed:
		return
	default:
	}
	close(f.closed)
	f.mu.Lock()
	for _, c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.srv.Close()
	_ = f.udp.Close()
	f.wg.Wait()
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (f *fakeVoice) serveWS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("v") != "8" {
		http.Error(w, "v=8 only", http.StatusBadRequest)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	f.mu.Lock()
	select {
	case <-f.closed:
		f.mu.Unlock()
		_ = ws.Close()
		return
	default:
	}
	f.ws = ws
	f.conns = append(f.conns, ws)
	f.wg.Add(1)
	f.mu.Unlock()
	defer f.wg.Done()
	defer ws.Close()
	// 10 s of clock time: 100 ms of wall time under the tests' 100× clock, long enough that a
	// busy machine does not miss acknowledgements, short enough for the heartbeat tests.
	f.write(ws, vgw.OpHello, vgw.Hello{V: 8, HeartbeatInterval: 10000}, false)
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		if typ != websocket.TextMessage {
			continue
		}
		var env vgw.Envelope
		if json.Unmarshal(data, &env) != nil {
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4002, "decode"), time.Now().Add(time.Second))
			return
		}
		select {
		case f.recv <- clientMsg{Op: env.Op, D: env.D, When: time.Now()}:
		default:
		}
		f.handle(ws, env)
	}
}

func (f *fakeVoice) handle(ws *websocket.Conn, env vgw.Envelope) {
	switch env.Op {
	case vgw.OpIdentify:
		f.mu.Lock()
		f.identifies++
		n := f.identifies
		f.mu.Unlock()
		if f.onIdentify != nil {
			if code := f.onIdentify(n); code != 0 {
				f.closeConn(ws, code)
				return
			}
		}
		f.mu.Lock()
		f.ssrc++
		f.seq, f.buffer = 0, nil
		ssrc := f.ssrc
		f.mu.Unlock()
		port := f.udp.LocalAddr().(*net.UDPAddr).Port
		if f.badReady.Load() {
			f.push(vgw.OpReady, map[string]any{"ssrc": "not a number"}, true)
			return
		}
		f.push(vgw.OpReady, vgw.Ready{SSRC: ssrc, IP: "127.0.0.1", Port: uint16(port), Modes: f.modes}, true)
	case vgw.OpSelectProtocol:
		var sp vgw.SelectProtocol
		_ = json.Unmarshal(env.D, &sp)
		var key [32]byte
		_, _ = rand.Read(key[:])
		op, err1 := rtp.NewOpener(sp.Data.Mode, key[:])
		se, err2 := rtp.NewSealer(sp.Data.Mode, key[:])
		if err1 != nil || err2 != nil {
			f.closeConn(ws, vgw.CloseUnknownEncryptionMode)
			return
		}
		f.mu.Lock()
		f.mode, f.key, f.opener, f.sealer = sp.Data.Mode, key, op, se
		f.mu.Unlock()
		f.push(vgw.OpSessionDescription, vgw.SessionDescription{Mode: sp.Data.Mode, SecretKey: key, DAVEProtocolVersion: f.daveVersion}, true)
	case vgw.OpHeartbeat:
		if f.noAck.Load() {
			return
		}
		var hb vgw.Heartbeat
		_ = json.Unmarshal(env.D, &hb)
		f.write(ws, vgw.OpHeartbeatACK, vgw.HeartbeatACK{T: hb.T}, false)
	case vgw.OpResume:
		var rs vgw.Resume
		_ = json.Unmarshal(env.D, &rs)
		f.mu.Lock()
		f.resumes++
		var replay []sentMsg
		for _, m := range f.buffer {
			if m.seq > rs.SeqAck {
				replay = append(replay, m)
			}
		}
		f.mu.Unlock()
		f.write(ws, vgw.OpResumed, nil, false)
		for _, m := range replay {
			f.mu.Lock()
			_ = ws.WriteMessage(websocket.TextMessage, m.data)
			f.mu.Unlock()
		}
	}
}

// push sends a message that carries a seq and keeps it for replay; deliver false only buffers
// it (as if it was lost on a dying connection).
func (f *fakeVoice) push(op vgw.Op, d any, deliver bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	b, err := vgw.EncodeSeq(op, d, f.seq)
	if err != nil {
		f.t.Errorf("encode: %v", err)
		return
	}
	f.buffer = append(f.buffer, sentMsg{seq: f.seq, data: b})
	if deliver && f.ws != nil {
		_ = f.ws.WriteMessage(websocket.TextMessage, b)
	}
}

// pushBinary sends a binary server message with the next seq.
func (f *fakeVoice) pushBinary(op vgw.Op, payload []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	if f.ws != nil {
		_ = f.ws.WriteMessage(websocket.BinaryMessage, vgw.AppendServerBinary(nil, uint16(f.seq), op, payload))
	}
}

// raw writes an arbitrary text message.
func (f *fakeVoice) raw(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ws != nil {
		_ = f.ws.WriteMessage(websocket.TextMessage, []byte(s))
	}
}

func (f *fakeVoice) write(ws *websocket.Conn, op vgw.Op, d any, _ bool) {
	b, err := vgw.Encode(op, d)
	if err != nil {
		f.t.Errorf("encode: %v", err)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = ws.WriteMessage(websocket.TextMessage, b)
}

func (f *fakeVoice) closeConn(ws *websocket.Conn, code vgw.CloseCode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if code == vgw.CloseAbnormal {
		_ = ws.Close() // no close frame: a dropped connection
		return
	}
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(int(code), "fake"), time.Now().Add(time.Second))
	_ = ws.Close()
}

// closeWith closes the current connection with code.
func (f *fakeVoice) closeWith(code vgw.CloseCode) {
	f.mu.Lock()
	ws := f.ws
	f.mu.Unlock()
	if ws != nil {
		f.closeConn(ws, code)
	}
}

func (f *fakeVoice) counts() (identifies, resumes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.identifies, f.resumes
}

func (f *fakeVoice) serveUDP() {
	defer f.wg.Done()
	buf := make([]byte, 4096)
	plain := make([]byte, 4096)
	for {
		n, from, err := f.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		b := buf[:n]
		if n == keepAliveLen {
			// A keepalive: recorded, and echoed as Discord's voice servers do.
			select {
			case f.keepAlives <- append([]byte(nil), b...):
			default:
			}
			_, _ = f.udp.WriteToUDPAddrPort(b, from)
			continue
		}
		if n == rtp.DiscoveryLen {
			if d, err := rtp.ParseDiscovery(b); err == nil && d.Type == rtp.DiscoveryRequest {
				if f.noDiscovery.Load() || f.loseDisc.Add(-1) >= 0 {
					continue
				}
				resp := rtp.AppendDiscoveryResponse(nil, d.SSRC, netip.MustParseAddr("127.0.0.1"), from.Port())
				_, _ = f.udp.WriteToUDPAddrPort(resp, from)
				continue
			}
		}
		f.mu.Lock()
		f.clientAddr = net.UDPAddrFromAddrPort(from)
		op := f.opener
		f.mu.Unlock()
		if op == nil {
			continue
		}
		p, err := op.Open(plain[:0], b)
		if err != nil {
			f.t.Errorf("fake voice: client packet does not open: %v", err)
			continue
		}
		p.Payload = append([]byte(nil), p.Payload...)
		p.Extension = nil
		select {
		case f.packets <- p:
		default:
		}
	}
}

// sendRTP seals a packet for the client with the session key, as the voice server relays
// another user's audio.
func (f *fakeVoice) sendRTP(h rtp.Header, payload []byte) {
	f.mu.Lock()
	se, to := f.sealer, f.clientAddr
	f.mu.Unlock()
	if se == nil || to == nil {
		f.t.Errorf("fake voice: no session or client address yet")
		return
	}
	pkt := se.Seal(nil, &h, payload)
	_, _ = f.udp.WriteToUDP(pkt, to)
}

// sendRaw writes an arbitrary datagram to the client.
func (f *fakeVoice) sendRaw(b []byte) {
	f.mu.Lock()
	to := f.clientAddr
	f.mu.Unlock()
	_, _ = f.udp.WriteToUDP(b, to)
}

// await returns the next client message with op, failing the test after d.
func (f *fakeVoice) await(op vgw.Op, d time.Duration) clientMsg {
	f.t.Helper()
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case m := <-f.recv:
			if m.Op == op {
				return m
			}
		case <-t.C:
			f.t.Fatalf("no %s from the client within %v", op, d)
			return clientMsg{}
		}
	}
}

// fakeGateway answers op 4 the way Discord does, by feeding the Manager the two dispatches.
type fakeGateway struct {
	mu       sync.Mutex
	m        *Manager
	endpoint string
	silent   bool // answer nothing (a full channel)
	null     bool // the next VOICE_SERVER_UPDATE has a null endpoint
	calls    []connections.VoiceStateUpdate
	n        int
	token    string
	answered notifier // poked once the Manager has been handed the answer to a call
}

const testBot = events.Snowflake(4242)

func (g *fakeGateway) UpdateVoiceState(ctx context.Context, v connections.VoiceStateUpdate) error {
	defer g.answered.poke()
	g.mu.Lock()
	g.calls = append(g.calls, v)
	g.n++
	n, m, silent, ep, null, token := g.n, g.m, g.silent, g.endpoint, g.null, g.token
	g.null = false
	g.mu.Unlock()
	if silent {
		return nil
	}
	m.Handle(dispatch(events.EventVoiceStateUpdate, events.VoiceState{
		GuildID: v.GuildID, ChannelID: v.ChannelID, UserID: testBot, SessionID: fmt.Sprintf("session-%d", n),
	}))
	if v.ChannelID == nil {
		return nil
	}
	if token == "" {
		token = fmt.Sprintf("token-%d", n)
	}
	su := events.VoiceServerUpdate{Token: token, GuildID: v.GuildID, Endpoint: &ep}
	if null {
		su.Endpoint = nil
	}
	m.Handle(dispatch(events.EventVoiceServerUpdate, su))
	return nil
}

func (g *fakeGateway) callCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

func dispatch(name string, d any) connections.Event {
	b, _ := json.Marshal(d)
	return connections.Event{Kind: connections.KindDispatch, Type: name, Data: b}
}

// serverUpdate feeds a VOICE_SERVER_UPDATE as Discord sends on a move or a server change.
func serverUpdate(m *Manager, guild events.Snowflake, token string, endpoint *string) {
	m.Handle(dispatch(events.EventVoiceServerUpdate, events.VoiceServerUpdate{Token: token, GuildID: guild, Endpoint: endpoint}))
}
