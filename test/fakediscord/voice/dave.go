package voicesim

import "github.com/cordage/cordage/events/voice"

// daveMember reports whether DAVE protocol frames may be relayed to the session.
func (sess *session) daveMember() bool { return sess.dave > 0 }

func (s *Server) daveJoinLocked(sess *session) { sess.joined = true }

func (s *Server) daveLeaveLocked(sess *session) { sess.joined = false }

func (s *Server) daveJSONLocked(c *wsConn, env voice.Envelope) {
	if !c.sess.joined {
		s.closeConnLocked(c, voice.CloseBadRequest, "DAVE op on a session without DAVE")
	}
}

func (s *Server) daveBinaryLocked(c *wsConn, m voice.BinaryMessage) {
	if !c.sess.joined {
		s.closeConnLocked(c, voice.CloseBadRequest, "DAVE op on a session without DAVE")
	}
}
