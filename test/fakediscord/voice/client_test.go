package voicesim

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/voice"
)

// waitWall bounds every wait of the test client (wall time).
const waitWall = 5 * time.Second

// wsMsg is one message the test client read: a JSON envelope, a binary message, or the end of
// the connection (Closed, with the close code when there was a close frame).
type wsMsg struct {
	Env    voice.Envelope
	Bin    *voice.BinaryMessage
	Closed bool
	Code   int
}

// testClient is a minimal voice client written for these tests: gorilla websocket, its own UDP.
type testClient struct {
	t      testing.TB
	srv    *Server
	guild  events.Snowflake
	ch     events.Snowflake
	user   events.Snowflake
	sessID string
	token  string

	ws      *websocket.Conn
	msgs    chan wsMsg
	readers sync.WaitGroup
	lastSeq int64
	ready   voice.Ready
	desc    voice.SessionDescription

	udp *net.UDPConn
	out *transport // client → server
	in  *transport // server → client
	seq uint16
	ts  uint32
}

// newClient issues a token for user in guild/channel 1/2 and dials, without identifying.
func newClient(t testing.TB, srv *Server, user events.Snowflake) *testClient {
	t.Helper()
	c := &testClient{t: t, srv: srv, guild: 1, ch: 2, user: user, sessID: "sess-" + user.String(), lastSeq: -1}
	c.token, _ = srv.IssueToken(c.guild, c.ch, user, c.sessID)
	c.dial()
	t.Cleanup(c.closeAll)
	return c
}

func (c *testClient) dial() {
	c.t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(c.srv.URL()+"/?v=8", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	c.ws = ws
	msgs := make(chan wsMsg, 256)
	c.msgs = msgs
	c.readers.Add(1)
	go func() {
		defer c.readers.Done()
		defer close(msgs)
		for {
			typ, data, err := ws.ReadMessage()
			if err != nil {
				m := wsMsg{Closed: true}
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					m.Code = ce.Code
				}
				msgs <- m
				return
			}
			if typ == websocket.BinaryMessage {
				b, err := voice.ParseServerBinary(data)
				if err != nil {
					c.t.Errorf("binary message: %v", err)
					continue
				}
				b.Payload = append([]byte(nil), b.Payload...)
				msgs <- wsMsg{Bin: &b}
				continue
			}
			var env voice.Envelope
			if err := json.Unmarshal(data, &env); err != nil {
				c.t.Errorf("text message %q: %v", data, err)
				continue
			}
			msgs <- wsMsg{Env: env}
		}
	}()
	if m := c.next(); m.Env.Op != voice.OpHello {
		c.t.Fatalf("first message %+v, want Hello", m)
	}
}

// close cuts the websocket connection and waits for its reader; the UDP socket stays (as a
// resuming client keeps it).
func (c *testClient) close() {
	if c.ws != nil {
		_ = c.ws.Close()
		c.readers.Wait()
		c.ws = nil
	}
}

// closeAll closes the websocket connection and the UDP socket.
func (c *testClient) closeAll() {
	c.close()
	if c.udp != nil {
		_ = c.udp.Close()
		c.udp = nil
	}
}

// next returns the next message (any op), failing the test after waitWall.
func (c *testClient) next() wsMsg {
	c.t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			return wsMsg{Closed: true}
		}
		if m.Env.HasSeq {
			c.lastSeq = m.Env.Seq
		}
		if m.Bin != nil {
			c.lastSeq = int64(m.Bin.Seq)
		}
		return m
	case <-time.After(waitWall):
		c.t.Fatal("no message from the voice server")
		return wsMsg{}
	}
}

// expect returns the next message with op, skipping undocumented ops.
func (c *testClient) expect(op voice.Op) voice.Envelope {
	c.t.Helper()
	for {
		m := c.next()
		if m.Closed {
			c.t.Fatalf("connection closed (code %d) while waiting for %s", m.Code, op)
		}
		if m.Bin == nil && !m.Env.Op.Documented() {
			continue
		}
		if m.Bin != nil || m.Env.Op != op {
			c.t.Fatalf("got %+v, want op %s", m, op)
		}
		return m.Env
	}
}

// await returns the next message with op, skipping every other message.
func (c *testClient) await(op voice.Op) voice.Envelope {
	c.t.Helper()
	for {
		m := c.next()
		if m.Closed {
			c.t.Fatalf("connection closed (code %d) while waiting for %s", m.Code, op)
		}
		if m.Bin == nil && m.Env.Op == op {
			return m.Env
		}
	}
}

// expectClose reads until the connection ends and returns the close code (0 without a frame).
func (c *testClient) expectClose() int {
	c.t.Helper()
	for {
		if m := c.next(); m.Closed {
			return m.Code
		}
	}
}

func (c *testClient) send(op voice.Op, d any) {
	c.t.Helper()
	b, err := voice.Encode(op, d)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *testClient) identify(maxDAVE int) {
	c.send(voice.OpIdentify, voice.Identify{ServerID: c.guild, UserID: c.user, SessionID: c.sessID,
		Token: voice.Token(c.token), MaxDAVEProtocolVersion: maxDAVE})
}

// join identifies, reads Ready, does IP discovery and selects mode; it returns after Session
// Description.
func (c *testClient) join(maxDAVE int, mode voice.Mode) {
	c.t.Helper()
	c.identify(maxDAVE)
	if err := c.expect(voice.OpReady).Decode(&c.ready); err != nil {
		c.t.Fatal(err)
	}
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		c.t.Fatal(err)
	}
	c.udp = u
	addr := c.discover()
	c.send(voice.OpSelectProtocol, voice.SelectProtocol{Protocol: "udp",
		Data: voice.SelectProtocolData{Address: addr.Addr().String(), Port: addr.Port(), Mode: mode}})
	if err := c.await(voice.OpSessionDescription).Decode(&c.desc); err != nil {
		c.t.Fatal(err)
	}
	if c.out, err = newTransport(c.desc.Mode, c.desc.SecretKey[:]); err != nil {
		c.t.Fatal(err)
	}
	c.in, _ = newTransport(c.desc.Mode, c.desc.SecretKey[:])
}

func (c *testClient) serverUDP() netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr(c.ready.IP), c.ready.Port)
}

// discover runs IP discovery and returns the address the server saw.
func (c *testClient) discover() netip.AddrPort {
	c.t.Helper()
	req := make([]byte, discoveryLen)
	binary.BigEndian.PutUint16(req, discoveryRequest)
	binary.BigEndian.PutUint16(req[2:], 70)
	binary.BigEndian.PutUint32(req[4:], c.ready.SSRC)
	for range 5 { // UDP may lose a datagram; retry
		if _, err := c.udp.WriteToUDPAddrPort(req, c.serverUDP()); err != nil {
			c.t.Fatal(err)
		}
		b, ok := c.readUDP(time.Second)
		if !ok {
			continue
		}
		if len(b) != discoveryLen || binary.BigEndian.Uint16(b) != discoveryReply || binary.BigEndian.Uint32(b[4:]) != c.ready.SSRC {
			c.t.Fatalf("bad discovery reply %x", b)
		}
		ipText := string(b[8:72])
		for i := range ipText {
			if ipText[i] == 0 {
				ipText = ipText[:i]
				break
			}
		}
		return netip.AddrPortFrom(netip.MustParseAddr(ipText), binary.BigEndian.Uint16(b[72:]))
	}
	c.t.Fatal("no IP discovery reply")
	return netip.AddrPort{}
}

func (c *testClient) readUDP(d time.Duration) ([]byte, bool) {
	_ = c.udp.SetReadDeadline(time.Now().Add(d))
	b := make([]byte, 2048)
	n, _, err := c.udp.ReadFromUDPAddrPort(b)
	if err != nil {
		return nil, false
	}
	return b[:n], true
}

func (c *testClient) speak() {
	c.send(voice.OpSpeaking, voice.Speaking{Speaking: voice.SpeakingMicrophone, SSRC: c.ready.SSRC})
}

// sendRTP seals one Opus payload with the client's key and sends it.
func (c *testClient) sendRTP(opus []byte) {
	c.t.Helper()
	c.seq++
	c.ts += 960
	h := make([]byte, 12)
	h[0], h[1] = 0x80, 0x78
	binary.BigEndian.PutUint16(h[2:], c.seq)
	binary.BigEndian.PutUint32(h[4:], c.ts)
	binary.BigEndian.PutUint32(h[8:], c.ready.SSRC)
	if _, err := c.udp.WriteToUDPAddrPort(c.out.seal(nil, h, opus), c.serverUDP()); err != nil {
		c.t.Fatal(err)
	}
}

// received is one relayed packet as the test client opened it.
type received struct {
	ssrc uint32
	seq  uint16
	ts   uint32
	ext  []byte
	opus []byte
}

// recvRTP reads and opens one packet with the client's key; ok is false after d.
func (c *testClient) recvRTP(d time.Duration) (received, bool) {
	c.t.Helper()
	b, ok := c.readUDP(d)
	if !ok {
		return received{}, false
	}
	h, ok := parseRTP(b)
	if !ok {
		c.t.Fatalf("relayed packet is not RTP: %x", b)
	}
	pt, err := c.in.open(nil, b, h)
	if err != nil {
		c.t.Fatalf("relayed packet does not open with the receiver's key: %v", err)
	}
	return received{ssrc: h.ssrc, seq: h.seq, ts: h.ts, ext: pt[:h.extBody], opus: pt[h.extBody:]}, true
}
