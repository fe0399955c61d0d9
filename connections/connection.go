package connections

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections/internal/transport"
	"github.com/cordage/cordage/events"
)

// Real-time bounds on socket operations. They guard against a peer that stops reading; the
// protocol's own timing (heartbeats, backoff) runs on the configured clock.
const (
	dialTimeout  = 30 * time.Second
	writeTimeout = 10 * time.Second
)

// inKind is what the reader passes to the shard's loop.
type inKind int

const (
	inHello inKind = iota
	inAck
	inHeartbeatRequest
	inReconnect
	inInvalidSession
	inReady
	inResumed
	inReadError
	inCorrupt
	inDispatch // classify only: a dispatch, handled by the reader itself
	inIgnore   // classify only: nothing to do
)

type inMsg struct {
	kind      inKind
	interval  time.Duration // inHello
	resumable bool          // inInvalidSession
	err       error         // inReadError, inCorrupt
}

// link is one connection and the state its serve loop keeps. It lives on the heap rather than
// in serve's frame, so that an idle shard's goroutine waits with little on its stack.
type link struct {
	s          *shard
	ws         *websocket.Conn
	in         chan inMsg
	connDone   chan struct{}
	readerDone chan struct{}
	release    func() // the gate's permit until identify is sent
	resume     bool

	hello    clock.Timer
	beat     clock.Timer
	beatC    <-chan time.Time
	interval time.Duration
	sentAt   time.Time
	acked    bool
	ready    bool

	out outcome // how the connection ended
}

// connect opens one connection (release is the gate's permit when it identifies, nil when it
// resumes) and starts its reader. A link without a socket is a failed dial; its release has
// been called and its outcome says what to do.
func (s *shard) connect(release func()) *link {
	l := &link{s: s, release: release, resume: release == nil, acked: true}
	target := s.c.gatewayURL
	if l.resume {
		s.mu.Lock()
		if s.resumeURL != "" {
			target = s.resumeURL
		}
		s.mu.Unlock()
	}
	u, err := gatewayQuery(target, s.c.cfg.compression)
	if err != nil {
		return l.failed(outcome{action: actFatal, code: 0, cause: err.Error()})
	}
	s.setStatus(StatusConnecting)
	dctx, cancel := context.WithTimeout(s.ctx, dialTimeout)
	hdr := http.Header{"User-Agent": {UserAgent}}
	ws, resp, err := s.c.dialer.DialContext(dctx, u, hdr)
	cancel()
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if s.stopped() {
			return l.failed(outcome{action: actStop})
		}
		return l.failed(outcome{action: actResume, code: events.CloseAbnormal, cause: "dial: " + err.Error()})
	}
	transport.SetReadLimit(ws, 0)
	if s.dec != nil {
		s.dec.Reset()
	}
	s.window.Reset()
	s.fl.reset()

	l.ws = ws
	l.in = make(chan inMsg, 16)
	l.connDone = make(chan struct{})
	l.readerDone = make(chan struct{})
	l.hello = s.c.cfg.clock.NewTimer(helloTimeout)
	s.c.wg.Add(1)
	go newReader(s, l.in, l.connDone, l.readerDone).run(ws)
	return l
}

func (l *link) failed(out outcome) *link {
	if l.release != nil {
		l.release()
		l.release = nil
	}
	l.out = out
	return l
}

// hangUp ends the connection after serve has returned, once its reader has exited.
//
//go:noinline
func (l *link) hangUp() {
	l.hello.Stop()
	if l.beat != nil {
		l.beat.Stop()
	}
	close(l.connDone)
	l.ws.Close()
	<-l.readerDone
	if l.release != nil {
		l.release()
		l.release = nil
	}
}

// serve runs one connection: Hello, identify or resume, heartbeats, commands; l.out says how
// it ended. Only this goroutine writes to the socket.
//
// An idle shard waits in this select for its whole life, so the frame stays small: each case's
// work is in a method that returns before the next wait, and true from one means the
// connection is over.
func (l *link) serve() {
	s := l.s
	for {
		var over bool
		select {
		case <-s.ctx.Done():
			over = l.stop()
		case <-l.hello.C():
			over = l.fail(closeReconnect, "no hello")
		case <-l.beatC:
			over = l.onBeat()
		case req := <-s.sends:
			over = l.onSend(req)
		case done := <-s.barriers:
			over = l.onBarrier(done)
		case m := <-l.in:
			over = l.onMsg(m)
		}
		if over {
			return
		}
	}
}

//go:noinline
func (l *link) stop() bool {
	l.s.closeWS(l.ws, events.CloseCode(l.s.stopCode.Load()), "shutting down")
	l.out = outcome{action: actStop}
	return true
}

// fail ends the connection for cause, to be resumed. A failed write (CloseAbnormal) lets the
// reader's error decide instead.
//
//go:noinline
func (l *link) fail(code events.CloseCode, cause string) bool {
	if code == events.CloseAbnormal {
		l.out = l.s.writeFailed(l.ws, l.in, cause, l.ready)
		return true
	}
	l.s.closeWS(l.ws, closeReconnect, cause)
	l.out = outcome{action: actResume, code: code, cause: cause, healthy: l.ready}
	return true
}

//go:noinline
func (l *link) onBeat() bool {
	if !l.acked {
		return l.fail(closeReconnect, "zombie: no heartbeat ACK since the last heartbeat")
	}
	if err := l.s.heartbeat(l.ws); err != nil {
		return l.fail(events.CloseAbnormal, "write heartbeat: "+err.Error())
	}
	l.acked, l.sentAt = false, l.s.c.cfg.clock.Now()
	l.beat.Reset(l.interval)
	return false
}

//go:noinline
func (l *link) onSend(req sendReq) bool {
	if err := l.s.send(l.ws, l.ready, req); err != nil && errors.Is(err, errWrite) {
		return l.fail(events.CloseAbnormal, err.Error())
	}
	return false
}

//go:noinline
func (l *link) onBarrier(done func()) bool {
	if err := l.s.fl.request(l.s, l.ws, l.ready, done); err != nil {
		return l.fail(events.CloseAbnormal, "write heartbeat: "+err.Error())
	}
	return false
}

// onMsg acts on what the reader passed on.
//
//go:noinline
func (l *link) onMsg(m inMsg) bool {
	s := l.s
	switch m.kind {
	case inHello:
		if l.beat != nil {
			return false // a second Hello on one connection: nothing to do
		}
		l.hello.Stop()
		l.interval = m.interval
		if l.resume {
			if err := s.sendResume(l.ws); err != nil {
				return l.fail(events.CloseAbnormal, "write resume: "+err.Error())
			}
			s.setStatus(StatusResuming)
		} else {
			err := s.sendIdentify(l.ws)
			l.release()
			l.release = nil
			if err != nil {
				return l.fail(events.CloseAbnormal, "write identify: "+err.Error())
			}
			s.setStatus(StatusIdentifying)
		}
		// The first heartbeat goes after interval × jitter, to spread reconnect storms.
		l.beat = s.c.cfg.clock.NewTimer(time.Duration(rand.Float64() * float64(l.interval)))
		l.beatC = l.beat.C()

	case inAck:
		if !l.acked {
			s.c.cfg.observer.HeartbeatLatency(s.id, s.c.cfg.clock.Now().Sub(l.sentAt))
		}
		l.acked = true
		s.fl.acked()

	case inHeartbeatRequest:
		// Answer at once; the regular schedule and the zombie check are unchanged.
		if err := s.heartbeat(l.ws); err != nil {
			return l.fail(events.CloseAbnormal, "write heartbeat: "+err.Error())
		}

	case inReconnect:
		return l.fail(closeReconnect, "op 7 reconnect requested")

	case inInvalidSession:
		if m.resumable && s.hasSession() {
			return l.fail(closeReconnect, "op 9 invalid session (resumable)")
		}
		s.closeWS(l.ws, closeReconnect, "invalid session")
		l.out = outcome{action: actIdentify, code: closeReconnect, cause: "op 9 invalid session", healthy: l.ready}
		return true

	case inReady, inResumed:
		l.ready = true
		s.setStatus(StatusReady)
		s.c.note(note{kind: noteReady, shard: s})
		if err := s.fl.send(s, l.ws); err != nil {
			return l.fail(events.CloseAbnormal, "write heartbeat: "+err.Error())
		}

	case inCorrupt:
		return l.fail(closeReconnect, "corrupt stream: "+m.err.Error())

	case inReadError:
		l.out = readOutcome(m.err, l.ready)
		return true
	}
	return false
}

// readOutcome turns the error that ended the reader into what to do next, by the close code's
// policy.
func readOutcome(err error, ready bool) outcome {
	code, reason := closeCodeOf(err)
	cause := fmt.Sprintf("closed by gateway: %v", code)
	if reason != "" {
		cause += ": " + reason
	}
	if code == events.CloseAbnormal {
		cause = "connection lost: " + err.Error()
	}
	o := outcome{code: code, cause: cause, healthy: ready}
	switch code.Policy() {
	case events.PolicyResume:
		o.action = actResume
	case events.PolicyNewSession:
		o.action = actIdentify
	case events.PolicyReShard:
		o.action = actReShard
	default:
		o.action = actFatal
	}
	return o
}

// writeFailed handles a failed write. Usually the gateway has just closed the connection (its
// close frame makes every later write fail), so the reader's error, which carries the close
// code, decides what happens next rather than the write error.
func (s *shard) writeFailed(ws *websocket.Conn, in <-chan inMsg, cause string, ready bool) outcome {
	ws.Close()
	for {
		select {
		case m := <-in:
			switch m.kind {
			case inReadError:
				if code, _ := closeCodeOf(m.err); code != events.CloseAbnormal {
					return readOutcome(m.err, ready)
				}
				return outcome{action: actResume, code: events.CloseAbnormal, cause: cause, healthy: ready}
			case inCorrupt:
				return outcome{action: actResume, code: events.CloseAbnormal, cause: cause, healthy: ready}
			}
		case <-s.ctx.Done():
			return outcome{action: actStop}
		}
	}
}

func closeCodeOf(err error) (events.CloseCode, string) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		if ce.Code == websocket.CloseNoStatusReceived {
			return events.CloseAbnormal, ""
		}
		return events.CloseCode(ce.Code), ce.Text
	}
	return events.CloseAbnormal, ""
}

var errWrite = errors.New("write failed")

// send carries out one command on the live connection.
func (s *shard) send(ws *websocket.Conn, ready bool, req sendReq) error {
	if !ready {
		req.reply(fmt.Errorf("%w: shard %d is %v", ErrShardNotReady, s.id, Status(s.status.Load())))
		return nil
	}
	ok, retry := s.window.Allow(false)
	if !ok {
		req.reply(&SendWindowError{Shard: s.id, RetryAfter: retry})
		return nil
	}
	s.c.cfg.observer.SendWindow(s.id, s.window.Used())
	if err := s.write(ws, req.frame); err != nil {
		err = fmt.Errorf("connections: shard %d: %w: %v", s.id, errWrite, err)
		req.reply(err)
		return err
	}
	req.reply(nil)
	return nil
}

func (s *shard) write(ws *websocket.Conn, frame []byte) error {
	if err := ws.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	return ws.WriteMessage(websocket.TextMessage, frame)
}

func (s *shard) heartbeat(ws *websocket.Conn) error {
	s.window.Allow(true) // heartbeats always go; the reserve keeps commands from crowding them out
	s.fl.beats++
	frame := []byte(`{"op":1,"d":null}`)
	if seq := s.seq.Load(); seq > 0 {
		frame = fmt.Appendf(nil, `{"op":1,"d":%d}`, seq)
	}
	return s.write(ws, frame)
}

func (s *shard) sendIdentify(ws *websocket.Conn) error {
	cfg := s.c.cfg
	info := events.ShardInfo{s.id, s.count}
	id := events.Identify{
		Token:          s.c.token.value,
		Properties:     events.IdentifyProperties{OS: runtime.GOOS, Browser: "cordage", Device: "cordage"},
		LargeThreshold: cfg.largeThreshold,
		Shard:          &info,
		Presence:       cfg.presence,
		Intents:        cfg.intents,
	}
	return s.writeOp(ws, events.OpIdentify, id)
}

func (s *shard) sendResume(ws *websocket.Conn) error {
	s.mu.Lock()
	r := events.Resume{Token: s.c.token.value, SessionID: s.sessionID, Seq: s.seq.Load()}
	s.mu.Unlock()
	return s.writeOp(ws, events.OpResume, r)
}

// writeOp encodes and writes an identify or resume. Errors never include the payload, which
// holds the token.
func (s *shard) writeOp(ws *websocket.Conn, op events.Op, d any) error {
	env, err := events.NewEnvelope(op, d)
	if err != nil {
		return fmt.Errorf("encode %v", op)
	}
	s.window.Allow(false)
	return s.write(ws, env.AppendJSON(nil))
}

func (s *shard) closeWS(ws *websocket.Conn, code events.CloseCode, text string) {
	msg := websocket.FormatCloseMessage(int(code), text)
	_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
}

// run is the connection's reader: it never waits on the consumer (dispatches go to the
// queue, which does not block) and stops when the socket fails. It closes r.done when it
// has stopped.
//
// Its own frame stays small and the work on a message happens in handle: this goroutine
// spends an idle shard's life blocked in the socket read, and a shallow stack there lets the
// runtime shrink it to 4 KiB.
func (r *reader) run(ws *websocket.Conn) {
	for {
		r.idle()
		mt, rd, err := ws.NextReader()
		if err == nil {
			err = r.readFrame(rd)
		}
		if err != nil || !r.handle(mt) {
			r.stop(err)
			return
		}
	}
}

//go:noinline
func newReader(s *shard, in chan<- inMsg, connDone <-chan struct{}, readerDone chan<- struct{}) *reader {
	return &reader{s: s, in: in, connDone: connDone, done: readerDone}
}

// stop ends the reader; err is the read error that ended it, if any.
//
//go:noinline
func (r *reader) stop(err error) {
	if err != nil {
		r.pass(inMsg{kind: inReadError, err: err})
	}
	r.idle()
	close(r.done)
	r.s.c.wg.Done()
}

// reader is one connection's reader state.
type reader struct {
	s        *shard
	in       chan<- inMsg
	connDone <-chan struct{}
	done     chan<- struct{} // closed when the reader has stopped
	frame    *frameBuf       // the current websocket message, borrowed from frameBufs
	replayed int             // dispatches since the connection opened, for ShardResumed
}

// frameBuf carries a websocket message buffer through frameBufs.
type frameBuf struct{ b []byte }

// frameBufs lends websocket message buffers to readers while they handle a message, so that
// an idle connection holds none. Buffers over maxLentFrame are not taken back.
var frameBufs sync.Pool

const (
	maxLentFrame = 64 << 10
	bigFrame     = 8 << 10
)

// idle gives back what the reader does not need while it waits for the next frame.
// A frame over bigFrame (compressed: a quarter of it) keeps its buffer: big frames (READY, GUILD_CREATEs) come in bursts,
// and growing a borrowed buffer for each would cost allocations and copies per frame. The
// first small frame after them gives the big buffer up.
func (r *reader) idle() {
	if r.s.dec != nil {
		r.s.dec.Release()
	}
	f := r.frame
	big := bigFrame
	if r.s.dec != nil {
		big /= 4 // compressed frames: a 2 KiB frame already inflates to about 10 KiB
	}
	if f == nil || len(f.b) > big {
		return
	}
	r.frame = nil
	if cap(f.b) <= maxLentFrame {
		f.b = f.b[:0]
		frameBufs.Put(f)
	}
}

func (r *reader) readFrame(rd io.Reader) error {
	f := r.frame // kept after a big frame
	if f == nil {
		f, _ = frameBufs.Get().(*frameBuf)
	}
	if f == nil {
		f = new(frameBuf)
	}
	r.frame = f
	var err error
	f.b, err = readMessage(f.b, rd)
	return err
}

func (r *reader) pass(m inMsg) bool {
	select {
	case r.in <- m:
		return true
	case <-r.connDone:
		return false
	}
}

// handle decodes and delivers the message in r.frame; false means the reader stops.
//
//go:noinline
func (r *reader) handle(mt int) bool {
	s := r.s
	msg := r.frame.b
	if s.dec != nil && mt == websocket.BinaryMessage {
		m, ok, err := s.dec.Decode(msg)
		if err != nil {
			r.pass(inMsg{kind: inCorrupt, err: err})
			return false
		}
		if !ok {
			return true
		}
		msg = m
	}
	env, m, err := classify(msg)
	switch {
	case err != nil && m.kind == inCorrupt:
		r.pass(m)
		return false
	case err != nil:
		s.log.Warn("undecodable gateway message", zap.Int("bytes", len(msg)), zap.Error(err))
		return true
	case m.kind == inIgnore:
		if ce := s.log.Check(zap.DebugLevel, "ignoring unknown opcode"); ce != nil {
			ce.Write(zap.Stringer("op", env.Op))
		}
		return true
	case m.kind == inDispatch:
		// D points into a buffer the next read reuses; the event gets its own copy.
		env.D = bytes.Clone(env.D)
		k, ok := s.dispatch(env, &r.replayed)
		if !ok {
			return true
		}
		m.kind = k
	}
	return r.pass(m)
}

// classify decodes one gateway message and says what the reader does with it. A message that
// is not an envelope is an error to log and skip; a Hello without a usable interval breaks the
// connection (inCorrupt). For a dispatch, env.D still points into msg.
func classify(msg []byte) (events.Envelope, inMsg, error) {
	env, err := events.ParseEnvelope(msg)
	if err != nil {
		return env, inMsg{kind: inIgnore}, err
	}
	switch env.Op {
	case events.OpDispatch:
		return env, inMsg{kind: inDispatch}, nil
	case events.OpHello:
		var h events.Hello
		if err := env.Decode(&h); err != nil || h.HeartbeatInterval <= 0 {
			err = fmt.Errorf("connections: bad hello (%d bytes)", len(msg))
			return env, inMsg{kind: inCorrupt, err: err}, err
		}
		return env, inMsg{kind: inHello, interval: time.Duration(h.HeartbeatInterval) * time.Millisecond}, nil
	case events.OpHeartbeatACK:
		return env, inMsg{kind: inAck}, nil
	case events.OpHeartbeat:
		return env, inMsg{kind: inHeartbeatRequest}, nil
	case events.OpReconnect:
		return env, inMsg{kind: inReconnect}, nil
	case events.OpInvalidSession:
		// Anything but true (false, null, garbage) means the session cannot be resumed.
		var r bool
		_ = json.Unmarshal(env.D, &r)
		return env, inMsg{kind: inInvalidSession, resumable: r}, nil
	}
	return env, inMsg{kind: inIgnore}, nil
}

// readMessage reads one websocket message into buf's storage, which it reuses from message to
// message (a big READY does not pin its buffer for the life of the connection).
func readMessage(buf []byte, r io.Reader) ([]byte, error) {
	if cap(buf) > 1<<20 {
		buf = nil
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

type readyInfo struct {
	SessionID        string            `json:"session_id"`
	ResumeGatewayURL string            `json:"resume_gateway_url"`
	Guilds           []json.RawMessage `json:"guilds"`
}

// dispatch records the sequence number, drops a dispatch already delivered (a replay
// overlapping what arrived before the connection broke) and queues the rest. READY and RESUMED
// also tell the loop.
func (s *shard) dispatch(env events.Envelope, replayed *int) (inKind, bool) {
	if env.S > 0 {
		last := s.seq.Load()
		if env.S <= last {
			if ce := s.log.Check(zap.DebugLevel, "dropping duplicate dispatch"); ce != nil {
				ce.Write(zap.Int64("seq", env.S), zap.Int64("last", last))
			}
			return 0, false
		}
		if last > 0 && env.S != last+1 {
			s.log.Warn("sequence gap: the gateway skipped dispatches", zap.Int64("seq", env.S), zap.Int64("last", last))
		}
		s.seq.Store(env.S)
	}
	ev := Event{Shard: s.id, Kind: KindDispatch, Type: env.T, Seq: env.S, Data: env.D}
	switch env.T {
	case events.EventReady:
		var r readyInfo
		if err := json.Unmarshal(env.D, &r); err != nil || r.SessionID == "" {
			s.log.Warn("READY without a session id")
		}
		s.mu.Lock()
		lost := s.lost
		s.lost = nil
		s.sessionID, s.resumeURL = r.SessionID, r.ResumeGatewayURL
		s.mu.Unlock()
		if lost != nil {
			s.emit(KindSessionReplaced, *lost)
		}
		s.push(ev)
		s.emit(KindShardReady, events.ShardReady{Shard: s.id, Shards: s.count, SessionID: r.SessionID, Guilds: len(r.Guilds)})
		s.log.Info("ready", zap.Int("guilds", len(r.Guilds)))
		return inReady, true
	case events.EventResumed:
		s.push(ev)
		s.mu.Lock()
		sid := s.sessionID
		s.mu.Unlock()
		s.emit(KindShardResumed, events.ShardResumed{Shard: s.id, SessionID: sid, Replayed: *replayed})
		s.log.Info("resumed", zap.Int("replayed", *replayed))
		*replayed = 0
		return inResumed, true
	}
	*replayed++
	s.push(ev)
	return 0, false
}
