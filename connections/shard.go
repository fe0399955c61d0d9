package connections

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections/internal/transport"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/shardctl"
)

// closeReconnect is the code the runtime closes with when it means to resume: anything but
// 1000/1001 keeps the session alive on Discord's side.
const closeReconnect events.CloseCode = 4900

// helloTimeout bounds the wait for Hello after the websocket opened (clock time).
const helloTimeout = 2 * time.Minute

// shard is one shard's session and the goroutine that keeps it connected. Its run goroutine
// owns the websocket's write side and every per-connection decision; a reader goroutine per
// connection reads frames, delivers dispatches to the queue and passes everything else back.
type shard struct {
	c     *Conn
	id    int
	count int
	log   *zap.Logger

	ctx      context.Context // cancelled to stop the shard
	cancel   context.CancelFunc
	stopCode atomic.Int32 // the close code to stop with; set before cancel
	done     chan struct{}

	sends chan sendReq

	status atomic.Int32
	seq    atomic.Int64 // last sequence number read in the current session

	mu        sync.Mutex
	sessionID string
	resumeURL string
	lost      *events.SessionReplaced // a given-up session, reported before the next READY

	dec    transport.Decompressor
	window sendLimiter

	set      *shardSet   // the shard set it belongs to; its events go out through set (reshard_feed.go)
	barriers chan func() // flush requests of a re-shard (reshard_barrier.go)
	fl       flusher
}

type sendReq struct {
	op    events.Op
	frame []byte
	reply func(error)
}

func newShard(c *Conn, st ShardState) *shard {
	ctx, cancel := context.WithCancel(c.ctx)
	s := &shard{
		c: c, id: st.ID, count: st.Count,
		log:    c.log.Named("shard").With(zap.Int("shard", st.ID), zap.Int("shards", st.Count)),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
		sends:  make(chan sendReq, 64),
		window: newSendLimiter(c.cfg.clock),
	}
	s.barriers = make(chan func(), 4)
	s.stopCode.Store(int32(events.CloseNormal))
	s.sessionID, s.resumeURL = st.SessionID, st.ResumeURL
	s.seq.Store(st.Seq)
	switch c.cfg.compression {
	case ZlibStream:
		s.dec = transport.NewZlibStream(0)
	case ZstdStream:
		s.dec = transport.NewZstdStream(0)
	}
	return s
}

// stop ends the shard, closing its connection with code. Safe to call more than once; the
// first code wins.
func (s *shard) stop(code events.CloseCode) {
	if s.ctx.Err() == nil {
		s.stopCode.CompareAndSwap(int32(events.CloseNormal), int32(code))
	}
	s.cancel()
}

func (s *shard) stopped() bool { return s.ctx.Err() != nil }

func (s *shard) setStatus(st Status) {
	if Status(s.status.Swap(int32(st))) != st {
		s.c.cfg.observer.ShardStatus(s.id, st)
	}
}

func (s *shard) state() ShardState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ShardState{
		ID: s.id, Count: s.count, SessionID: s.sessionID, Seq: s.seq.Load(),
		ResumeURL: s.resumeURL, Status: Status(s.status.Load()),
	}
}

func (s *shard) hasSession() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessionID != ""
}

// dropSession forgets the session so that the next connection identifies. It is reported
// (SessionReplaced) right before the next READY.
func (s *shard) dropSession(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessionID != "" && s.lost == nil {
		s.lost = &events.SessionReplaced{Shard: s.id, OldSessionID: s.sessionID, LastSeq: s.seq.Load(), Reason: reason}
	}
	s.sessionID, s.resumeURL = "", ""
	s.seq.Store(0)
}

func (s *shard) emit(k Kind, detail any) { s.push(runtimeEvent(s.id, k, detail)) }

type action int

const (
	actStop     action = iota // the caller stopped the shard
	actResume                 // reconnect and resume (identify if there is no session)
	actIdentify               // the session is gone: identify afresh
	actReShard                // 4011
	actFatal                  // no retry can help
)

type outcome struct {
	action  action
	code    events.CloseCode
	cause   string
	healthy bool // the connection reached READY or RESUMED
}

// run keeps the shard connected until it is stopped or stops for good.
//
// An idle shard spends its life in link.serve's select, called from here, so run's own frame
// stays small: everything deep (backoff, the gate, the dial, what a lost connection means) is
// in calls that have returned before serve waits. With only run, serve and the select on the
// stack while it waits, the runtime can halve the goroutine's stack from 8 to 4 KiB at GC.
func (s *shard) run() {
	defer s.exit()
	attempt := 0
	for !s.stopped() {
		l, again := s.open(attempt)
		if l == nil {
			if !again {
				return
			}
			attempt++
			continue
		}
		if l.ws != nil {
			l.serve()
			l.hangUp()
		}
		if !s.after(l.out, &attempt) {
			return
		}
	}
}

// exit is what run does last, whichever way it ends.
//
//go:noinline
func (s *shard) exit() {
	if s.dec != nil {
		s.dec.Close()
	}
	s.drainSends()
	close(s.done)
}

// open waits out the backoff before the attempt-th consecutive reconnect and the identify gate
// (when there is no session to resume), then dials. A nil link means no connection: again
// says whether run tries again (one more attempt) or stops. A link without a socket is a
// failed dial, its outcome set.
//
//go:noinline
func (s *shard) open(attempt int) (l *link, again bool) {
	if attempt > 0 {
		delay := s.c.backoffDelay(attempt)
		resume := s.hasSession()
		s.setStatus(StatusReconnecting)
		s.emit(KindShardReconnecting, events.ShardReconnecting{Shard: s.id, Attempt: attempt, Delay: delay, Resume: resume})
		if !clock.Sleep(s.c.cfg.clock, delay, s.ctx.Done()) {
			return nil, false
		}
	}
	var release func()
	if !s.hasSession() {
		s.setStatus(StatusWaitingGate)
		start := s.c.cfg.clock.Now()
		rel, err := s.c.gate.Wait(s.ctx, s.id)
		if err != nil {
			if s.stopped() {
				return nil, false
			}
			if errors.Is(err, shardctl.ErrBudgetExhausted) {
				s.fatal(&CloseError{Shard: s.id, Code: 0, Reason: "session start budget exhausted; identifying again would reset the token"})
				return nil, false
			}
			if errors.Is(err, shardctl.ErrGateClosed) {
				s.fatal(&CloseError{Shard: s.id, Code: 0, Reason: "identify gate closed"})
				return nil, false
			}
			s.log.Warn("identify gate failed", zap.Error(err))
			return nil, true
		}
		s.c.cfg.observer.GateWait(s.id, s.c.cfg.clock.Now().Sub(start))
		release = rel
	}
	return s.connect(release), false
}

// after acts on how a connection ended: false means run stops. attempt is the count of
// consecutive reconnects, which a healthy connection resets.
//
//go:noinline
func (s *shard) after(out outcome, attempt *int) bool {
	if out.action == actStop {
		return false
	}
	policy := events.PolicyResume
	switch out.action {
	case actIdentify:
		policy = events.PolicyNewSession
	case actReShard:
		policy = events.PolicyReShard
	case actFatal:
		policy = events.PolicyFatal
	}
	s.emit(KindShardDisconnected, events.ShardDisconnected{Shard: s.id, Code: out.code, Cause: out.cause, Policy: policy})
	switch out.action {
	case actFatal:
		s.log.Error("shard stopped for good", zap.Stringer("code", out.code), zap.String("cause", out.cause))
		s.fatal(&CloseError{Shard: s.id, Code: out.code, Reason: out.cause})
		return false
	case actReShard:
		s.log.Warn("discord requires more shards", zap.Stringer("code", out.code))
		s.setStatus(StatusStopped)
		s.c.note(note{kind: noteReShard, shard: s})
		return false
	case actIdentify:
		s.dropSession(out.cause)
	}
	s.log.Warn("reconnecting", zap.Stringer("code", out.code), zap.String("cause", out.cause))
	s.c.cfg.observer.Reconnect(s.id, out.cause)
	if out.healthy {
		*attempt = 1
	} else {
		*attempt++
	}
	return true
}

func (s *shard) fatal(err *CloseError) {
	s.setStatus(StatusStopped)
	s.emit(KindShardStopped, events.ShardStopped{Shard: s.id, Code: err.Code, Reason: err.Reason})
	s.c.note(note{kind: noteFatal, shard: s, err: err})
}

// drainSends answers commands still queued for a shard that has stopped.
func (s *shard) drainSends() {
	for {
		select {
		case req := <-s.sends:
			req.reply(fmt.Errorf("%w: shard %d stopped", ErrClosed, s.id))
		default:
			return
		}
	}
}

// backoffDelay returns the wait before the attempt-th consecutive reconnect (attempt ≥ 1). The
// first goes almost at once (within Base × Jitter, so that shards dropped together do not all
// redial in the same instant); later ones back off exponentially.
func (c *Conn) backoffDelay(attempt int) time.Duration {
	b := c.cfg.backoff
	if attempt <= 1 {
		return time.Duration(rand.Float64() * b.Jitter * float64(b.Base))
	}
	d := float64(b.Base)
	for i := 2; i < attempt && d < float64(b.Max); i++ {
		d *= b.Multiplier
	}
	d = min(d, float64(b.Max))
	d *= 1 + b.Jitter*(2*rand.Float64()-1)
	return time.Duration(d)
}
