package voicesim

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/cordage/cordage/events/voice"
	"github.com/cordage/cordage/test/fakediscord/internal/outbox"
	"github.com/cordage/cordage/test/fakediscord/internal/wsaccept"
)

// closeReplyWait bounds (wall time) how long a connection the server closed waits for the
// client's close frame before the TCP connection is cut.
const closeReplyWait = 2 * time.Second

// writeWait bounds (wall time) one websocket write.
const writeWait = 5 * time.Second

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 8192,
	CheckOrigin:     func(*http.Request) bool { return true }, // loopback test server
}

type outKind int

const (
	outText outKind = iota
	outBinary
	outClose
)

type outItem struct {
	kind   outKind
	data   []byte
	code   voice.CloseCode
	reason string
}

// wsConn is one voice websocket connection. Its reader runs on the HTTP handler's goroutine;
// a writer goroutine owns every write and the heartbeat deadline.
type wsConn struct {
	s      *Server
	ws     *websocket.Conn
	opened time.Time
	out    *outbox.Box[outItem]
	quit   chan struct{} // closed when the reader has ended

	// Guarded by Server.mu.
	sess    *session
	connIdx int // index in the session record's Connections
	decided bool
	end     string
	code    voice.CloseCode

	// Guarded by qmu.
	qmu      sync.Mutex
	lastBeat time.Time
}

// push queues it for the writer. A close item is the last one: after it nothing more is
// accepted, and push reports false.
func (c *wsConn) push(it outItem) bool {
	if it.kind == outClose {
		return c.out.PushFinal(it)
	}
	return c.out.Push(it)
}

// kill cuts the TCP connection without a close frame.
func (c *wsConn) kill() { c.out.Kill() }

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if v := r.URL.Query().Get("v"); v != "8" {
		http.Error(w, "the fake voice server speaks v=8 only", http.StatusBadRequest)
		return
	}
	ws, done := wsaccept.Accept(w, r, &upgrader, wsaccept.Server{Mu: &s.mu, Closed: &s.closed, WG: &s.wg}, 1<<20)
	if ws == nil {
		return
	}
	defer done()
	c := &wsConn{s: s, ws: ws, quit: make(chan struct{}), connIdx: -1,
		out: outbox.New[outItem](func() { _ = ws.UnderlyingConn().Close() })}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	c.opened = s.clk.Now()
	c.lastBeat = c.opened
	s.conns[c] = struct{}{}
	s.mu.Unlock()

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	c.push(outItem{kind: outText, data: mustEncode(voice.OpHello, voice.Hello{V: 8,
		HeartbeatInterval: float64(s.cfg.heartbeatInterval) / float64(time.Millisecond)})})

	var readErr error
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			readErr = err
			break
		}
		s.mu.Lock()
		if typ == websocket.BinaryMessage {
			s.handleBinaryLocked(c, data)
		} else {
			s.handleTextLocked(c, data)
		}
		s.notifyLocked()
		s.mu.Unlock()
	}
	close(c.quit)
	s.mu.Lock()
	var ce *websocket.CloseError
	if errors.As(readErr, &ce) {
		s.decideLocked(c, "client-close", voice.CloseCode(ce.Code))
	} else {
		s.decideLocked(c, "dropped", 0)
	}
	s.connEndedLocked(c)
	s.mu.Unlock()
	c.kill()
	<-writerDone
	s.mu.Lock()
	delete(s.conns, c)
	s.notifyLocked()
	s.mu.Unlock()
}

// writeLoop writes queued items in order and closes the connection with 4009 when a heartbeat is
// late. It ends when the connection is killed or after it wrote a close frame.
func (c *wsConn) writeLoop() {
	s := c.s
	deadline := s.cfg.heartbeatInterval + s.cfg.heartbeatGrace
	t := s.clk.NewTimer(deadline)
	defer t.Stop()
	var q []outItem
	for {
		q = c.out.Drain(q[:0])
		for _, it := range q {
			_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
			switch it.kind {
			case outText, outBinary:
				typ := websocket.TextMessage
				if it.kind == outBinary {
					typ = websocket.BinaryMessage
				}
				if err := c.ws.WriteMessage(typ, it.data); err != nil {
					c.kill()
					return
				}
			case outClose:
				msg := websocket.FormatCloseMessage(int(it.code), it.reason)
				_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeWait))
				// The client answers with its own close frame, which ends the reader; a client
				// that does not answer is cut after closeReplyWait.
				wall := time.NewTimer(closeReplyWait)
				select {
				case <-c.quit:
				case <-c.out.Killed():
				case <-wall.C:
				}
				wall.Stop()
				c.kill()
				return
			}
		}
		clear(q) // the written frames need not stay alive until the next wake-up
		select {
		case <-c.out.Ready():
		case <-c.out.Killed():
			return
		case <-t.C():
			c.qmu.Lock()
			due := c.lastBeat.Add(deadline)
			c.qmu.Unlock()
			if left := due.Sub(s.clk.Now()); left > 0 {
				t.Reset(left)
				continue
			}
			s.mu.Lock()
			s.closeConnLocked(c, voice.CloseSessionTimeout, "heartbeat timeout")
			s.mu.Unlock()
			t.Reset(deadline) // the close item is queued; the next turn writes it
		}
	}
}

// closeConnLocked closes c with code. The session's fate follows the code's policy: a resume
// code keeps it resumable, every other code ends it.
func (s *Server) closeConnLocked(c *wsConn, code voice.CloseCode, reason string) {
	if c.decided {
		return
	}
	s.decideLocked(c, "server-close", code)
	s.log.Debug("voice close", zap.Int("code", int(code)), zap.String("reason", reason))
	c.push(outItem{kind: outClose, code: code, reason: reason})
	if sess := c.sess; sess != nil && !sess.ended && sess.conn == c && code.Policy() != voice.PolicyResume {
		s.endSessionLocked(sess, "closed "+code.String(), 0)
	}
	s.notifyLocked()
}

// decideLocked settles how c ends, once, and writes it to the ledger.
func (s *Server) decideLocked(c *wsConn, end string, code voice.CloseCode) {
	if c.decided {
		return
	}
	c.decided, c.end, c.code = true, end, code
	if c.sess != nil {
		r := &s.recLocked(c.sess).Connections[c.connIdx]
		r.End, r.Code = end, code
	}
}

// connEndedLocked records how c ended and, for the session's current connection, starts the
// resume window.
func (s *Server) connEndedLocked(c *wsConn) {
	rec := ConnRecord{Opened: c.opened, Closed: s.clk.Now(), End: c.end, Code: c.code}
	sess := c.sess
	if sess == nil {
		s.ledger.Refused = append(s.ledger.Refused, rec)
		return
	}
	s.ledger.Sessions[sess.rec].Connections[c.connIdx] = rec
	if sess.conn != c {
		return
	}
	sess.conn = nil
	sess.held = nil
	if !sess.ended {
		s.startResumeWindowLocked(sess)
	}
}

func (s *Server) touchBeat(c *wsConn) {
	c.qmu.Lock()
	c.lastBeat = s.clk.Now()
	c.qmu.Unlock()
}
