package fakediscord

import (
	"context"
	"time"

	"github.com/cordage/cordage/events"
)

// Snapshot is a consistent view of the server's state for WaitFor predicates. It is cheap: it
// holds no ledger entries.
type Snapshot struct {
	// Now is the clock time of the snapshot.
	Now time.Time
	// Connections is the number of open gateway connections.
	Connections int
	// Sessions in the order they were started.
	Sessions []SessionInfo
	// Identifies is the identify log (see Server.IdentifyLog).
	Identifies []IdentifyRecord
	// Received counts client frames other than heartbeats, per shard.
	Received map[int]int
	// SpacingViolations is Server.SpacingViolations.
	SpacingViolations int
	// Chaos is how many faults StartChaos has injected (len(Server.ChaosLog())).
	Chaos int
}

// SessionInfo is one session in a Snapshot.
type SessionInfo struct {
	ID           string
	Shard        int
	ShardCount   int
	State        SessionState
	LastSeq      int64 // seq of the last dispatch created for it
	Resumes      int
	Connections  int    // connections that carried it so far
	LastEnd      string // how the last connection ended (EndOpen while connected)
	LastCode     events.CloseCode
	ConnectionID int // of the connection that carries it now, 0 if none
}

// Live returns the sessions of shard that are connected.
func (sn *Snapshot) Live(shard int) []SessionInfo {
	var out []SessionInfo
	for _, s := range sn.Sessions {
		if s.Shard == shard && s.State == SessionConnected {
			out = append(out, s)
		}
	}
	return out
}

// Session returns the session with id.
func (sn *Snapshot) Session(id string) (SessionInfo, bool) {
	for _, s := range sn.Sessions {
		if s.ID == id {
			return s, true
		}
	}
	return SessionInfo{}, false
}

// Snapshot returns the server's state now.
func (s *Server) Snapshot() *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotLocked()
}

func (s *Server) snapshotLocked() *Snapshot {
	now := s.clk.Now()
	sn := &Snapshot{
		Now:               now,
		Connections:       len(s.conns),
		Identifies:        append([]IdentifyRecord(nil), s.identifyLog...),
		Received:          make(map[int]int, len(s.received)),
		SpacingViolations: s.spacingViolations,
		Chaos:             len(s.chaosLog),
	}
	for shard, r := range s.received {
		sn.Received[shard] = len(r)
	}
	for _, sess := range s.sessionOrder {
		s.aliveLocked(sess, now)
		info := SessionInfo{
			ID: sess.id, Shard: sess.shard, ShardCount: sess.count, State: sess.state,
			LastSeq: sess.seq, Resumes: len(sess.resumes), Connections: len(sess.conns),
		}
		if n := len(sess.conns); n > 0 {
			info.LastEnd, info.LastCode = sess.conns[n-1].End, sess.conns[n-1].Code
		}
		if sess.conn != nil {
			info.ConnectionID = sess.conn.id
		}
		sn.Sessions = append(sn.Sessions, info)
	}
	return sn
}

// WaitFor blocks until pred holds for a snapshot of the server, or ctx ends (then it returns
// ctx's error). pred runs each time the server's state changes, on a fresh snapshot, without
// the server's lock held; it must not block.
//
//	err := srv.WaitFor(ctx, func(sn *fakediscord.Snapshot) bool { return len(sn.Live(0)) == 1 })
func (s *Server) WaitFor(ctx context.Context, pred func(*Snapshot) bool) error {
	for {
		s.mu.Lock()
		sn := s.snapshotLocked()
		changed := s.changed
		closed := s.closed
		s.mu.Unlock()
		if pred(sn) {
			return nil
		}
		if closed {
			return ErrClosed
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-s.quit:
		}
	}
}

// Changed returns a channel that is closed at the next change of the server's state, for
// callers that want to build their own wait loop.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Ledger returns a copy of every session's dispatches, resumes and connections.
func (s *Server) Ledger() *Ledger {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	l := &Ledger{Sessions: make([]LedgerSession, 0, len(s.sessionOrder))}
	for _, sess := range s.sessionOrder {
		s.aliveLocked(sess, now)
		ls := LedgerSession{
			ID: sess.id, Shard: sess.shard, ShardCount: sess.count, Intents: sess.intents,
			Started: sess.started, State: sess.state,
			Dispatches:  make([]LedgerEntry, len(sess.entries)),
			Connections: append([]ConnRecord(nil), sess.conns...),
		}
		for i, e := range sess.entries {
			ls.Dispatches[i] = e.snapshot()
		}
		for _, r := range sess.resumes {
			r.Replayed = append([]int64(nil), r.Replayed...)
			ls.Resumes = append(ls.Resumes, r)
		}
		l.Sessions = append(l.Sessions, ls)
	}
	return l
}

// IdentifyLog returns every identify the server received, accepted or not, in order.
func (s *Server) IdentifyLog() []IdentifyRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]IdentifyRecord(nil), s.identifyLog...)
}

// SpacingViolations counts identifies the server refused (op 9) because another identify in the
// same shard % max_concurrency bucket had been accepted less than 5 s before: client
// misbehaviour.
func (s *Server) SpacingViolations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spacingViolations
}

// Received returns the frames the client sent for sessions of shard, other than heartbeats, in
// order: identifies and resumes, presence updates, voice state updates, member, soundboard and
// channel-info requests.
func (s *Server) Received(shard int) []events.Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]events.Envelope(nil), s.received[shard]...)
}

// UserAgents returns the User-Agent header of every REST request, in order.
func (s *Server) UserAgents() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.userAgents...)
}

// SessionStartLimit returns the session-start budget as GET /gateway/bot reports it now.
func (s *Server) SessionStartLimit() events.SessionStartLimit {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	s.refreshBudgetLocked(now)
	return events.SessionStartLimit{
		Total: s.cfg.sessionTotal, Remaining: s.remaining,
		ResetAfter: int(s.resetAt.Sub(now).Milliseconds()), MaxConcurrency: s.cfg.maxConcurrency,
	}
}
