package fakediscord

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/cordage/cordage/events"
)

// session is a gateway session: what Identify starts and Resume continues.
type session struct {
	id             string
	shard, count   int
	intents        events.Intent
	largeThreshold int
	started        time.Time
	seq            int64
	entries        []*entry
	firstReplay    int   // index of the oldest entry still kept for replay
	conn           *conn // nil while no connection carries it
	state          SessionState
	detachedAt     time.Time
	resumes        []ResumeRecord
	conns          []ConnRecord
}

// aliveLocked reports whether sess still takes dispatches: connected, or resumable within the
// resume window. An expired session becomes dead here.
func (s *Server) aliveLocked(sess *session, now time.Time) bool {
	switch sess.state {
	case SessionConnected:
		return true
	case SessionResumable:
		if now.Sub(sess.detachedAt) > s.cfg.resumeWindow {
			sess.state = SessionDead
			return false
		}
		return true
	}
	return false
}

// attachLocked makes c carry sess.
func (s *Server) attachLocked(c *conn, sess *session) {
	sess.conn = c
	sess.state = SessionConnected
	c.sess = sess
	sess.conns = append(sess.conns, ConnRecord{ConnID: c.id, Opened: c.opened})
}

// dispatchLocked appends a dispatch to sess and queues it on the session's connection, if any.
func (s *Server) dispatchLocked(sess *session, t string, guild events.Snowflake, d []byte, eventID string) *entry {
	sess.seq++
	e := &entry{seq: sess.seq, t: t, guild: guild, eventID: eventID, hash: PayloadHash(d), at: s.clk.Now(), d: d}
	sess.entries = append(sess.entries, e)
	if lim := s.cfg.replayLimit; lim > 0 && len(sess.entries)-sess.firstReplay > lim {
		sess.entries[sess.firstReplay].d = nil // the ledger keeps the entry, not its bytes
		sess.firstReplay++
	}
	if sess.conn != nil {
		sess.conn.push(outItem{kind: outFrame, data: dispatchBytes(e), ent: e})
	}
	return e
}

// dispatchNewLocked is dispatchLocked for an event of its own (not shared with other sessions).
func (s *Server) dispatchNewLocked(sess *session, t string, guild events.Snowflake, d any) error {
	raw, err := jsonBytes(d)
	if err != nil {
		return err
	}
	s.dispatchLocked(sess, t, guild, raw, s.newEventIDLocked())
	return nil
}

// dispatchBytes writes a dispatch in Discord's own key order, {"t":…,"s":…,"op":0,"d":…}: clients
// (Cordage's ParseEnvelope among them) may read the head of the frame without scanning d.
func dispatchBytes(e *entry) []byte {
	buf := make([]byte, 0, len(e.d)+len(e.t)+48)
	buf = append(buf, `{"t":`...)
	tj, _ := json.Marshal(e.t)
	buf = append(buf, tj...)
	buf = append(buf, `,"s":`...)
	buf = strconv.AppendInt(buf, e.seq, 10)
	buf = append(buf, `,"op":0,"d":`...)
	if len(e.d) == 0 {
		buf = append(buf, "null"...)
	} else {
		buf = append(buf, e.d...)
	}
	return append(buf, '}')
}

func envelopeBytes(op events.Op, d []byte) []byte {
	return events.Envelope{Op: op, D: d}.AppendJSON(nil)
}

func jsonBytes(v any) ([]byte, error) {
	if raw, ok := v.(json.RawMessage); ok {
		if !json.Valid(raw) {
			return nil, fmt.Errorf("fakediscord: payload is not valid JSON")
		}
		return raw, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("fakediscord: encode payload: %w", err)
	}
	return b, nil
}

// Dispatch sends event t with data d to every live session whose shard (id>>22) % count routes
// guildID to; guildID 0 means a guild-less event (DM, entitlement…), which goes to shard 0.
// Sessions that are between connections but resumable buffer the event for the replay. d may be
// a json.RawMessage. Every session that gets it records the same event id in the ledger. It
// returns ErrNoSession if no live session took the event. With WithIntentFilter, sessions
// without the event's intent are skipped.
func (s *Server) Dispatch(guildID events.Snowflake, t string, d any) error {
	raw, err := jsonBytes(d)
	if err != nil {
		return err
	}
	return s.route(func(sess *session) bool {
		if guildID == 0 {
			return sess.shard == 0
		}
		return guildID.ShardID(sess.count) == sess.shard
	}, guildID, t, raw)
}

// wants reports whether sess receives event t in guild under the intent filter.
func (s *Server) wants(sess *session, t string, guild events.Snowflake) bool {
	if !s.cfg.intentFilter {
		return true
	}
	need := intentFor(t, guild)
	return need == 0 || sess.intents.Has(need)
}

// DispatchToShard sends event t with data d to every live session of shard (whatever its shard
// count). It returns ErrNoSession if there is none.
func (s *Server) DispatchToShard(shard int, t string, d any) error {
	raw, err := jsonBytes(d)
	if err != nil {
		return err
	}
	return s.route(func(sess *session) bool { return sess.shard == shard }, 0, t, raw)
}

func (s *Server) route(match func(*session) bool, guild events.Snowflake, t string, raw []byte) error {
	if t == "" {
		return fmt.Errorf("fakediscord: dispatch needs an event name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	now := s.clk.Now()
	id := s.newEventIDLocked()
	sent := 0
	for _, sess := range s.sessionOrder {
		if !match(sess) || !s.wants(sess, t, guild) || !s.aliveLocked(sess, now) {
			continue
		}
		s.dispatchLocked(sess, t, guild, raw, id)
		sent++
	}
	if sent == 0 {
		return ErrNoSession
	}
	s.notifyLocked()
	return nil
}

// liveConnsLocked returns the connections that carry sessions of shard.
func (s *Server) liveConnsLocked(shard int) []*conn {
	var out []*conn
	for _, sess := range s.sessionOrder {
		if sess.shard == shard && sess.conn != nil {
			out = append(out, sess.conn)
		}
	}
	return out
}

func (s *Server) newSessionIDLocked() string {
	return fmt.Sprintf("%016x%016x", s.rng.Uint64(), s.rng.Uint64())
}
