package voicesim

import (
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/voice"
	"github.com/cordage/cordage/test/fakediscord/voice/daveserver"
)

// The DAVE side of a call is daveserver's state machine, one per call. The voice server feeds it
// joins, leaves, the clients' DAVE messages and clock ticks, and routes what it returns. It never
// sees media keys: the relay passes DAVE frames through untouched.

// daveMember reports whether DAVE protocol frames may be relayed to the session: its client
// negotiated DAVE. (A member still waiting for its welcome receives frames it cannot decrypt
// yet, as on Discord.)
func (sess *session) daveMember() bool { return sess.dave > 0 }

// daveLocked returns the call's DAVE server, creating it on first use; nil when the server runs
// without DAVE.
func (s *Server) daveLocked(cl *call) *daveserver.Server {
	if s.cfg.daveVersion == 0 {
		return nil
	}
	if cl.dave == nil {
		channel := cl.channel
		if channel == 0 {
			channel = cl.guild // the MLS group id needs a non-zero id
		}
		d, err := daveserver.New(daveserver.Config{Clock: s.clk, ExecuteTimeout: s.cfg.executeTimeout,
			Logger: s.log.Named("dave"), ProtocolVersion: s.cfg.daveVersion, ChannelID: uint64(channel)})
		if err != nil {
			s.log.Error("creating the call's DAVE server", zap.Error(err))
			return nil
		}
		cl.dave = d
	}
	return cl.dave
}

// daveVersionLocked is the dave_protocol_version Session Description gives the session: what
// the client and the server both speak, and 0 while the call runs without DAVE (downgraded).
func (s *Server) daveVersionLocked(sess *session) int {
	if sess.dave == 0 {
		return 0
	}
	d := s.daveLocked(sess.call)
	if d == nil {
		return 0
	}
	return min(sess.dave, d.ProtocolVersion())
}

// daveJoinLocked tells the call's DAVE server that the session is in the call (after its first
// Session Description, so the client knows the protocol version before op 25 arrives).
func (s *Server) daveJoinLocked(sess *session) {
	d := s.daveLocked(sess.call)
	if d == nil || sess.joined {
		return
	}
	sess.joined = true
	s.routeDAVELocked(sess.call, d.Join(uint64(sess.user()), sess.dave))
}

func (s *Server) daveLeaveLocked(sess *session) {
	if !sess.joined || sess.call.dave == nil {
		return
	}
	sess.joined = false
	s.routeDAVELocked(sess.call, sess.call.dave.Leave(uint64(sess.user())))
}

func (s *Server) daveJSONLocked(c *wsConn, env voice.Envelope) {
	sess := c.sess
	if sess.dave == 0 || !sess.joined {
		s.closeConnLocked(c, voice.CloseBadRequest, "DAVE op on a session without DAVE")
		return
	}
	out, err := sess.call.dave.HandleJSON(uint64(sess.user()), env.Op, env.D)
	s.daveResultLocked(sess, env.Op, out, err)
}

func (s *Server) daveBinaryLocked(c *wsConn, m voice.BinaryMessage) {
	sess := c.sess
	if sess.dave == 0 || !sess.joined {
		s.closeConnLocked(c, voice.CloseBadRequest, "DAVE op on a session without DAVE")
		return
	}
	out, err := sess.call.dave.HandleBinary(uint64(sess.user()), m)
	s.daveResultLocked(sess, m.Op, out, err)
}

// daveResultLocked routes what a DAVE message produced. A message the DAVE server refuses is
// recorded and ignored, as Discord ignores a bad DAVE message rather than closing.
func (s *Server) daveResultLocked(sess *session, op voice.Op, out []daveserver.Out, err error) {
	if err != nil {
		rec := s.recLocked(sess)
		rec.DAVERejected = append(rec.DAVERejected, DAVERejection{Op: op, Err: err.Error()})
		s.log.Debug("DAVE message refused", zap.Stringer("op", op), zap.Error(err))
	}
	s.routeDAVELocked(sess.call, out)
}

// routeDAVELocked sends the DAVE server's messages: to the users named, or to every member of the
// call that negotiated DAVE.
func (s *Server) routeDAVELocked(cl *call, out []daveserver.Out) {
	for _, o := range out {
		var to []*session
		if o.To == nil {
			for _, m := range s.membersLocked(cl) {
				if m.dave > 0 && m.joined {
					to = append(to, m)
				}
			}
		} else {
			for _, u := range o.To {
				if m := cl.members[events.Snowflake(u)]; m != nil {
					to = append(to, m)
				}
			}
		}
		for _, m := range to {
			if o.Op.Binary() {
				s.sendBinaryLocked(m, o.Op, o.Binary)
			} else {
				s.sendLocked(m, o.Op, o.JSON)
			}
		}
	}
}

// tickDAVE runs the DAVE servers' timers (transition timeouts, forced downgrades) until the
// server closes.
func (s *Server) tickDAVE() {
	every := max(s.cfg.executeTimeout/8, time.Millisecond)
	t := s.clk.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C():
		case <-s.done:
			return
		}
		s.mu.Lock()
		for _, cl := range s.calls {
			if cl.dave != nil {
				s.routeDAVELocked(cl, cl.dave.Tick())
			}
		}
		s.mu.Unlock()
	}
}

// ErrNoCall is returned for a channel no user has joined.
var ErrNoCall = errors.New("voicesim: no call in that channel")

// ErrNoDAVE is returned by DAVE controls on a server running without DAVE.
var ErrNoDAVE = errors.New("voicesim: the server runs without DAVE")

func (s *Server) withDAVE(channel events.Snowflake, fn func(*call, *daveserver.Server)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl := s.calls[channel]
	if cl == nil {
		return ErrNoCall
	}
	d := s.daveLocked(cl)
	if d == nil {
		return ErrNoDAVE
	}
	fn(cl, d)
	s.notifyLocked()
	return nil
}

// SetDAVEProtocolVersion moves the call in channel to DAVE protocol version v: 0 downgrades
// (op 21 with version 0, op 22 once every member is ready or the execute timeout passed), 1
// upgrades again (op 24 epoch 1: every member starts a new group).
func (s *Server) SetDAVEProtocolVersion(channel events.Snowflake, v int) error {
	return s.withDAVE(channel, func(cl *call, d *daveserver.Server) {
		s.routeDAVELocked(cl, d.SetProtocolVersion(v))
	})
}

// SetDAVEFaults replaces the DAVE fault knobs of the call in channel (invalid commits, a foreign
// external sender, stale epochs, ignored ready-for-transition, a forced downgrade); see
// daveserver.Faults.
func (s *Server) SetDAVEFaults(channel events.Snowflake, f daveserver.Faults) error {
	return s.withDAVE(channel, func(_ *call, d *daveserver.Server) { d.SetFaults(f) })
}

// DAVEState is the DAVE side of one call, as the ledger shows it.
type DAVEState struct {
	ProtocolVersion int    `json:"protocol_version"`
	Epoch           uint64 `json:"epoch"`
	// Members are the users holding a leaf in the MLS group, in leaf order.
	Members []events.Snowflake `json:"members"`
	// Transition is the id of the transition waiting for ready-for-transition, 0 for none.
	Transition uint16 `json:"transition"`
}

func daveState(d *daveserver.Server) DAVEState {
	st := DAVEState{ProtocolVersion: d.ProtocolVersion(), Epoch: d.Epoch()}
	for _, u := range d.Members() {
		st.Members = append(st.Members, events.Snowflake(u))
	}
	st.Transition, _ = d.TransitionPending()
	return st
}
