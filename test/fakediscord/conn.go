package fakediscord

import (
	"bytes"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord/internal/outbox"
	"github.com/cordage/cordage/test/fakediscord/internal/wsaccept"
)

// maxClientPayload is Discord's limit on one frame a client sends; more gets close 4002.
const maxClientPayload = 4096

// closeReplyWait bounds (in wall time) how long a connection the server closed waits for the
// client's close frame before the TCP connection is cut.
const closeReplyWait = 2 * time.Second

// opSevenLinger is how long (clock time) a connection that got op 7 instead of Hello may stay
// open: Discord closes it "a few seconds" later.
const opSevenLinger = 5 * time.Second

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 16384,
	// Loopback test server: any origin may connect.
	CheckOrigin: func(*http.Request) bool { return true },
}

// outKind is what the writer does with a queued item.
type outKind int

const (
	outFrame   outKind = iota // a JSON message
	outClose                  // a close frame, then stop writing
	outGarbage                // bytes that are not a valid message for the connection's encoding
)

type outItem struct {
	kind outKind
	data []byte
	ent  *entry // the ledger entry of a dispatch, nil for other frames
	code events.CloseCode
}

// conn is one websocket connection to the gateway.
type conn struct {
	s         *Server
	id        int
	ws        *websocket.Conn
	compress  string // "", "zlib-stream" or "zstd-stream"
	viaResume bool   // connected to the resume URL
	opened    time.Time
	noHello   bool // sent op 7 instead of Hello

	writerDone chan struct{}
	quit       chan struct{} // closed when the reader has ended
	out        *outbox.Box[outItem]

	// Guarded by Server.mu.
	sess     *session
	decided  bool // how the connection ends has been decided
	end      string
	code     events.CloseCode
	resumble bool

	// Used by the reader goroutine only.
	sendTimes []time.Time

	// Guarded by qmu.
	qmu          sync.Mutex
	stallUntil   time.Time
	lastBeat     time.Time
	boundaryNext bool
}

// push queues it for the writer. A close item is the last one: after it nothing more is
// accepted, and push reports false.
func (c *conn) push(it outItem) bool {
	if it.kind == outClose {
		return c.out.PushFinal(it)
	}
	return c.out.Push(it)
}

// kill cuts the TCP connection without a close frame.
func (c *conn) kill() { c.out.Kill() }

// isClosing reports whether a close frame is queued (or written).
func (c *conn) isClosing() bool { return c.out.Sealed() }

// waitStall blocks while the connection is stalled. It reports false if the connection ended.
func (c *conn) waitStall() bool {
	for {
		c.qmu.Lock()
		until := c.stallUntil
		c.qmu.Unlock()
		now := c.s.clk.Now()
		if !now.Before(until) {
			return true
		}
		t := c.s.clk.NewTimer(until.Sub(now))
		select {
		case <-t.C():
		case <-c.out.Killed(): // dropped or server closing: a stalled socket still dies
			t.Stop()
			return false
		case <-c.quit:
			t.Stop()
			return false
		}
		c.qmu.Lock()
		if !c.s.clk.Now().Before(c.stallUntil) {
			// The stall was the server's doing: the client gets a full interval again.
			c.lastBeat = c.s.clk.Now()
		}
		c.qmu.Unlock()
	}
}

// serveGateway upgrades a request to a gateway connection and runs its reader until it ends.
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request, viaResume bool) {
	q := r.URL.Query()
	if enc := q.Get("encoding"); enc != "" && enc != "json" {
		http.Error(w, "fakediscord speaks encoding=json only", http.StatusBadRequest)
		return
	}
	comp := q.Get("compress")
	if comp != "" && comp != "zlib-stream" && comp != "zstd-stream" {
		http.Error(w, "compress must be zlib-stream or zstd-stream", http.StatusBadRequest)
		return
	}
	ws, done := wsaccept.Accept(w, r, &upgrader, wsaccept.Server{Mu: &s.mu, Closed: &s.closed, WG: &s.wg}, 1<<20)
	if ws == nil {
		return
	}
	defer done()
	enc, err := newEncoder(comp)
	if err != nil {
		_ = ws.Close()
		return
	}
	c := &conn{
		s: s, ws: ws, compress: comp, viaResume: viaResume,
		writerDone: make(chan struct{}), quit: make(chan struct{}),
		out: outbox.New[outItem](func() { _ = ws.UnderlyingConn().Close() }),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		enc.close()
		return
	}
	s.nextConnID++
	c.id = s.nextConnID
	c.opened = s.clk.Now()
	c.lastBeat = c.opened
	s.conns[c] = struct{}{}
	if s.opSevenFirst > 0 {
		s.opSevenFirst--
		c.noHello = true
	}
	s.notifyLocked()
	s.mu.Unlock()

	s.wg.Go(func() { c.writeLoop(enc) })

	if v := q.Get("v"); v != "" && v != "10" {
		s.closeConn(c, events.CloseInvalidAPIVersion)
	} else if c.noHello {
		c.push(outItem{kind: outFrame, data: envelopeBytes(events.OpReconnect, nil)})
	} else {
		hello, _ := jsonBytes(map[string]any{
			"heartbeat_interval": s.cfg.heartbeatInterval.Milliseconds(),
			"_trace":             []string{`["fakediscord-gateway",{"micros":0}]`},
		})
		c.push(outItem{kind: outFrame, data: envelopeBytes(events.OpHello, hello)})
	}

	c.readLoop()

	close(c.quit)
	c.kill()
	<-c.writerDone
	s.mu.Lock()
	delete(s.conns, c)
	s.notifyLocked()
	s.mu.Unlock()
}

func (c *conn) readLoop() {
	s := c.s
	for {
		if !c.waitStall() {
			return
		}
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			s.mu.Lock()
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				code := events.CloseCode(ce.Code)
				// A client that closes with 1000 or 1001 ends its session for good; any other code
				// leaves it resumable.
				resumable := code != events.CloseNormal && code != events.CloseGoingAway
				s.decideEndLocked(c, EndClientClose, code, resumable)
			} else {
				s.decideEndLocked(c, EndDropped, events.CloseAbnormal, true)
			}
			s.notifyLocked()
			s.mu.Unlock()
			return
		}
		if !c.waitStall() {
			return
		}
		if c.isClosing() {
			continue // the server is closing: what the client still sends is not read
		}
		s.handleFrame(c, data)
	}
}

// writeLoop owns every write to the socket and the connection's compression context. It also
// enforces the heartbeat deadline.
func (c *conn) writeLoop(enc encoder) {
	s := c.s
	defer close(c.writerDone)
	defer enc.close()
	deadline := s.cfg.heartbeatInterval + s.cfg.heartbeatGrace
	if c.noHello {
		deadline = opSevenLinger
	}
	hb := s.clk.NewTimer(deadline)
	defer hb.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-s.quit:
			return
		case <-c.out.Ready():
		case <-hb.C():
			closing := c.out.Sealed()
			c.qmu.Lock()
			last := c.lastBeat
			if c.stallUntil.After(last) {
				last = c.stallUntil // a stall is the server's doing: the client's clock restarts after it
			}
			c.qmu.Unlock()
			now := s.clk.Now()
			if closing {
				continue
			}
			if due := last.Add(deadline); now.Before(due) {
				hb.Reset(due.Sub(now))
				continue
			}
			if c.noHello {
				s.closeConn(c, events.CloseUnknownError)
			} else {
				s.log.Info("heartbeat deadline missed", zap.Int("conn", c.id))
				s.closeConn(c, events.CloseSessionTimedOut)
			}
		}
		for {
			it, ok := c.out.Pop()
			if !ok {
				break
			}
			boundary := false
			if it.ent != nil {
				c.qmu.Lock()
				boundary, c.boundaryNext = c.boundaryNext, false
				c.qmu.Unlock()
			}
			if !c.waitStall() {
				return
			}
			// Counted before the write so that a client that has read the frame sees it counted.
			if it.ent != nil {
				it.ent.writes.Add(1)
			}
			if err := c.write(enc, it, boundary); err != nil {
				if it.ent != nil {
					it.ent.writes.Add(-1)
				}
				s.log.Debug("write failed", zap.Int("conn", c.id), zap.Error(err))
				c.kill()
				return
			}
			if it.kind == outClose {
				// Wait for the client's close frame, but not forever.
				_ = c.ws.SetReadDeadline(time.Now().Add(closeReplyWait))
				return
			}
		}
	}
}

func (c *conn) write(enc encoder, it outItem, boundary bool) error {
	switch it.kind {
	case outClose:
		msg := websocket.FormatCloseMessage(int(it.code), closeReason(it.code))
		return c.ws.WriteMessage(websocket.CloseMessage, msg)
	case outGarbage:
		if c.compress == "" {
			return c.ws.WriteMessage(websocket.TextMessage, []byte("\xff\xfe{garbage"))
		}
		// 0xff starts a deflate block with the reserved type 11 and a zstd block header with the
		// reserved type 3: either way the client's decompressor fails here.
		return c.ws.WriteMessage(websocket.BinaryMessage, bytes.Repeat([]byte{0xff}, 16))
	}
	data := it.data
	if c.compress == "" {
		return c.ws.WriteMessage(websocket.TextMessage, data)
	}
	if boundary {
		data = padToWindow(data, enc.total())
	}
	out, err := enc.encode(data)
	if err != nil {
		return err
	}
	split := c.s.cfg.zlibSplit
	if c.compress != "zlib-stream" || split <= 0 {
		return c.ws.WriteMessage(websocket.BinaryMessage, out)
	}
	for len(out) > 0 {
		n := min(split, len(out))
		if err := c.ws.WriteMessage(websocket.BinaryMessage, out[:n]); err != nil {
			return err
		}
		out = out[n:]
	}
	return nil
}

func closeReason(code events.CloseCode) string {
	if info, ok := code.Info(); ok {
		return info.Name
	}
	return ""
}

// closeConn makes the server close c with code: the session's fate follows the close-code table
// (a code whose policy is resume leaves it resumable).
func (s *Server) closeConn(c *conn, code events.CloseCode) {
	s.mu.Lock()
	s.closeConnLocked(c, code)
	s.mu.Unlock()
}

func (s *Server) closeConnLocked(c *conn, code events.CloseCode) {
	s.decideEndLocked(c, EndServerClose, code, code.Policy() == events.PolicyResume)
	c.push(outItem{kind: outClose, code: code})
	s.notifyLocked()
}

// decideEndLocked records how c ends, once, and detaches its session: from now on dispatches
// for the session are buffered for a resume (or dropped with it).
func (s *Server) decideEndLocked(c *conn, end string, code events.CloseCode, resumable bool) {
	if c.decided {
		return
	}
	c.decided, c.end, c.code, c.resumble = true, end, code, resumable
	if c.sess != nil {
		s.detachLocked(c, end, code, resumable)
	}
}

// detachLocked separates c from its session, recording how the connection ended for it.
func (s *Server) detachLocked(c *conn, end string, code events.CloseCode, resumable bool) {
	sess := c.sess
	c.sess = nil
	if sess == nil || sess.conn != c {
		return
	}
	sess.conn = nil
	now := s.clk.Now()
	if n := len(sess.conns); n > 0 && sess.conns[n-1].ConnID == c.id {
		r := &sess.conns[n-1]
		r.Ended, r.End, r.Code, r.Resumable = now, end, code, resumable
	}
	if resumable && sess.state != SessionDead {
		sess.state = SessionResumable
		sess.detachedAt = now
	} else {
		sess.state = SessionDead
	}
}
