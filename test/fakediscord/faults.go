package fakediscord

import (
	"fmt"
	"time"

	"github.com/cordage/cordage/events"
)

// faultConns runs f on every connection that carries a session of shard, under the server lock.
func (s *Server) faultConns(shard int, f func(c *conn)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	conns := s.liveConnsLocked(shard)
	if len(conns) == 0 {
		return ErrNoSession
	}
	for _, c := range conns {
		f(c)
	}
	s.notifyLocked()
	return nil
}

// Drop cuts the TCP connection of every live session of shard without a close frame. The
// sessions stay resumable.
func (s *Server) Drop(shard int) error {
	return s.faultConns(shard, func(c *conn) {
		s.decideEndLocked(c, EndDropped, events.CloseAbnormal, true)
		c.kill()
	})
}

// Stall makes the connections of shard stop reading, writing and acknowledging heartbeats for d
// of clock time, as a hung server would. What the client sends meanwhile is processed after the
// stall, and the heartbeat deadline restarts when the stall ends.
func (s *Server) Stall(shard int, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("fakediscord: stall needs a positive duration")
	}
	until := s.clk.Now().Add(d)
	return s.faultConns(shard, func(c *conn) {
		c.qmu.Lock()
		if until.After(c.stallUntil) {
			c.stallUntil = until
		}
		c.qmu.Unlock()
	})
}

// CorruptNext makes the next frame sent on the connections of shard garbage: invalid JSON on an
// uncompressed connection, bytes that break the decompressor on a compressed one (the stream
// cannot recover, so the client must reconnect). No dispatch is lost: the garbage goes before it.
func (s *Server) CorruptNext(shard int) error {
	return s.faultConns(shard, func(c *conn) { c.push(outItem{kind: outGarbage}) })
}

// SendReconnect sends op 7 on the connections of shard. The session stays attached until the
// client closes the connection (with a code other than 1000/1001) and resumes.
func (s *Server) SendReconnect(shard int) error {
	return s.faultConns(shard, func(c *conn) {
		c.push(outItem{kind: outFrame, data: envelopeBytes(events.OpReconnect, nil)})
	})
}

// InvalidateSession sends op 9 with d=resumable on the connections of shard and detaches their
// sessions: with resumable the session waits for a resume (on this socket or a new one);
// without, it is gone and the client must identify again.
func (s *Server) InvalidateSession(shard int, resumable bool) error {
	d := []byte("false")
	if resumable {
		d = []byte("true")
	}
	return s.faultConns(shard, func(c *conn) {
		s.detachLocked(c, EndInvalidated, 0, resumable)
		c.push(outItem{kind: outFrame, data: envelopeBytes(events.OpInvalidSession, d)})
	})
}

// RequestHeartbeat sends op 1 on the connections of shard; the client must heartbeat at once.
func (s *Server) RequestHeartbeat(shard int) error {
	return s.faultConns(shard, func(c *conn) {
		c.push(outItem{kind: outFrame, data: envelopeBytes(events.OpHeartbeat, nil)})
	})
}

// CloseWith closes the connections of shard with code. The session stays resumable when the
// close-code table's policy for code is resume (events.CloseCode.Policy), and is gone otherwise.
func (s *Server) CloseWith(shard int, code events.CloseCode) error {
	if code < 1000 || code > 4999 {
		return fmt.Errorf("fakediscord: %d is not a websocket close code", int(code))
	}
	return s.faultConns(shard, func(c *conn) { s.closeConnLocked(c, code) })
}

// RefuseResumes makes every resume attempt fail with op 9 d=false (the session is then gone)
// while on is true.
func (s *Server) RefuseResumes(on bool) {
	s.mu.Lock()
	s.refuseResumes = on
	s.mu.Unlock()
}

// ReconnectBeforeHello makes the next n connections receive op 7 instead of Hello, as Discord
// may do; if the client does not leave, the server closes with 4000 five seconds (clock time)
// later.
func (s *Server) ReconnectBeforeHello(n int) {
	s.mu.Lock()
	s.opSevenFirst = max(n, 0)
	s.mu.Unlock()
}

// ZlibBoundaryNext pads the next dispatch sent on the zlib-stream connections of shard so that
// the message's inflated output ends exactly on a multiple of 32 KiB of the whole stream, the
// case in which Go's flate readers stop early (docs: perf.md, "The window-boundary bug"). The
// padding is an extra "_pad" member of the envelope. It fails if no connection of the shard
// uses zlib-stream.
func (s *Server) ZlibBoundaryNext(shard int) error {
	found := false
	err := s.faultConns(shard, func(c *conn) {
		if c.compress != "zlib-stream" {
			return
		}
		found = true
		c.qmu.Lock()
		c.boundaryNext = true
		c.qmu.Unlock()
	})
	if err == nil && !found {
		return fmt.Errorf("fakediscord: shard %d has no zlib-stream connection", shard)
	}
	return err
}

// WithholdGuildCreate makes sessions that start while on is true leave guild out of the
// GUILD_CREATEs that follow READY: READY lists it as unavailable and it stays so, as in an
// outage. Sessions already running are not affected.
func (s *Server) WithholdGuildCreate(guild events.Snowflake, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.withheldGuilds == nil {
		s.withheldGuilds = make(map[events.Snowflake]bool)
	}
	s.withheldGuilds[guild] = on
}
