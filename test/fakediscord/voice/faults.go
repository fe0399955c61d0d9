package voicesim

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/voice"
)

// Faults are the knobs a test turns to make the voice server misbehave. Each acts on the live
// session of one user (the one that identified last).
type Faults struct{ s *Server }

// ErrNoSession is returned by a fault aimed at a user with no live voice session.
var ErrNoSession = errors.New("voicesim: the user has no live voice session")

// ErrNoConnection is returned by a fault that needs a connection while the session has none.
var ErrNoConnection = errors.New("voicesim: the session has no open connection")

func (f *Faults) with(user events.Snowflake, needConn bool, fn func(*session)) error {
	s := f.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var sess *session
	for _, g := range s.grants {
		if g.user == user && g.sess != nil && !g.sess.ended && (sess == nil || g.sess.num > sess.num) {
			sess = g.sess
		}
	}
	if sess == nil {
		return ErrNoSession
	}
	if needConn && (sess.conn == nil || sess.conn.decided) {
		return ErrNoConnection
	}
	fn(sess)
	s.notifyLocked()
	return nil
}

// DropWS keeps the next n sequenced messages to the user off the wire. They stay in the replay
// buffer, so a resume brings them back; the client sees a gap in seq.
func (f *Faults) DropWS(user events.Snowflake, n int) error {
	return f.with(user, false, func(sess *session) { sess.dropWS += n })
}

// WithholdACKs leaves the user's next n heartbeats unanswered (no op 6), as a connection that
// went silent; the heartbeats still count for the server's own deadline.
func (f *Faults) WithholdACKs(user events.Snowflake, n int) error {
	return f.with(user, false, func(sess *session) { sess.skipACKs += n })
}

// DuplicateWS writes each of the next n sequenced messages to the user twice.
func (f *Faults) DuplicateWS(user events.Snowflake, n int) error {
	return f.with(user, false, func(sess *session) { sess.dupWS += n })
}

// ReorderWS holds each of the next n sequenced messages back until the message after it has been
// written, so the two arrive swapped. A held message whose connection ends is only in the replay
// buffer.
func (f *Faults) ReorderWS(user events.Snowflake, n int) error {
	return f.with(user, false, func(sess *session) { sess.reorderWS += n })
}

// Close closes the user's connection with code (any code: 4001–4022 or another). The session
// stays resumable when the code's policy is resume (4015, codes below 4000), else it ends and
// the user leaves the call.
func (f *Faults) Close(user events.Snowflake, code voice.CloseCode) error {
	return f.with(user, true, func(sess *session) {
		reason := "fault"
		if info, ok := code.Info(); ok {
			reason = info.Name
		}
		f.s.closeConnLocked(sess.conn, code, reason)
	})
}

// Drop cuts the user's TCP connection without a close frame; the session stays resumable.
func (f *Faults) Drop(user events.Snowflake) error {
	return f.with(user, true, func(sess *session) {
		c := sess.conn
		f.s.decideLocked(c, "dropped", 0)
		c.kill()
	})
}

// SetUDPLoss makes the relay drop each packet to the user with probability p (0 turns it off;
// the draws come from the seeded generator).
func (f *Faults) SetUDPLoss(user events.Snowflake, p float64) error {
	return f.with(user, false, func(sess *session) { sess.udpLoss = p })
}

// SetUDPReorder makes the relay hold a packet to the user back, with probability p, and send it
// after the next one.
func (f *Faults) SetUDPReorder(user events.Snowflake, p float64) error {
	return f.with(user, false, func(sess *session) { sess.udpReorder = p })
}

// Send sends the user any sequenced JSON message: an undocumented op (12, 14–16, 18, 20, or one
// Discord has not invented yet) that a client must ignore, or a documented op out of turn. d
// must marshal to JSON.
func (f *Faults) Send(user events.Snowflake, op voice.Op, d any) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("voicesim: Send: %w", err)
	}
	return f.with(user, false, func(sess *session) { f.s.sendLocked(sess, op, json.RawMessage(raw)) })
}

// FullChannel makes joins to channel fail as on a full channel (on), or work again (off): IssueToken
// returns an empty token, and the gateway simulator then sends neither VOICE_STATE_UPDATE nor
// VOICE_SERVER_UPDATE, so a client's join must time out.
func (f *Faults) FullChannel(channel events.Snowflake, on bool) {
	s := f.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.full[channel] = true
	} else {
		delete(s.full, channel)
	}
}

// NullEndpoints makes the next n IssueToken calls return an empty endpoint, a voice server being
// reallocated: the gateway simulator sends VOICE_SERVER_UPDATE with a null endpoint and then
// another with the next token (it asks up to three times in a row).
func (f *Faults) NullEndpoints(n int) {
	s := f.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nulls = n
}
