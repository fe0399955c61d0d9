package daveserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/cordage/cordage/events/voice"
	"go.uber.org/zap"
)

// The events the voice server reports, one method each; every one returns what to send.

// Join records that userID identified with max_dave_protocol_version maxDAVEVersion and sends
// it the external sender when the call runs DAVE. A second Join for a connected user is a new
// session: its old MLS state is gone, so its leaf is removed and it is added again.
func (s *Server) Join(userID uint64, maxDAVEVersion int) []Out {
	m := s.members[userID]
	if m == nil {
		m = &member{id: userID}
		s.members[userID] = m
	} else {
		m.kp, m.kpRef, m.gotSender = nil, nil, false
		m.stale = s.leafOf(userID) >= 0
		s.forget(userID)
	}
	m.dave = maxDAVEVersion >= 1
	var out []Out
	if s.pv > 0 && m.dave {
		out = append(out, s.senderOut(m))
	}
	more, executed := s.dropFromTransition(userID)
	out = append(out, more...)
	if !executed {
		out = append(out, s.reconcile()...)
	}
	return out
}

func (s *Server) senderOut(m *member) Out {
	m.gotSender = true
	payload := s.extSender
	if s.faults.ForeignSenders > 0 {
		s.faults.ForeignSenders--
		if p, err := foreignSender(); err != nil {
			s.log.Error("fault: making a foreign external sender", zap.Error(err))
		} else {
			payload = p
			s.log.Debug("fault: foreign external sender", zap.Uint64("user", m.id))
		}
	}
	return Out{To: []uint64{m.id}, Op: voice.OpDAVEMLSExternalSender, Binary: slices.Clone(payload)}
}

// foreignSender is an op 25 payload for a key the server does not hold.
func foreignSender() ([]byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return externalSenderPayload(&k.PublicKey)
}

// Leave records that userID left the call: its pending Add is revoked, or its leaf removed, or
// the last member left alone is reset.
func (s *Server) Leave(userID uint64) []Out {
	if s.members[userID] == nil {
		return nil
	}
	delete(s.members, userID)
	out, executed := s.dropFromTransition(userID)
	if executed {
		return out
	}
	return append(out, s.reconcile()...)
}

// dropFromTransition stops waiting for u's op 23; if u was the last one waited for, the
// transition executes (and what follows it is in the result).
func (s *Server) dropFromTransition(u uint64) ([]Out, bool) {
	if s.tr == nil || !s.tr.waiting[u] {
		return nil, false
	}
	delete(s.tr.waiting, u)
	s.tr.to = slices.DeleteFunc(s.tr.to, func(v uint64) bool { return v == u })
	if len(s.tr.waiting) > 0 {
		return nil, false
	}
	return s.execute(), true
}

// HandleBinary handles a client's binary DAVE message: op 26 (key package) or op 28 (commit and
// optional welcome). The payload is copied; m may be reused after the call.
func (s *Server) HandleBinary(userID uint64, m voice.BinaryMessage) ([]Out, error) {
	mem := s.members[userID]
	if mem == nil || !mem.dave || s.pv == 0 {
		return nil, fmt.Errorf("%w: user %d, op %s", ErrNotMember, userID, m.Op)
	}
	switch m.Op {
	case voice.OpDAVEMLSKeyPackage:
		return s.handleKeyPackage(mem, slices.Clone(m.Payload))
	case voice.OpDAVEMLSCommitWelcome:
		return s.handleCommit(mem, slices.Clone(m.Payload))
	}
	return nil, fmt.Errorf("%w: %s in HandleBinary", ErrUnexpectedOp, m.Op)
}

func (s *Server) handleKeyPackage(m *member, payload []byte) ([]Out, error) {
	kp, err := parseKeyPackage(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyPackage, err)
	}
	if err := kp.validate(m.id); err != nil {
		return nil, err
	}
	m.kp, m.kpRef = &kp, kp.ref()
	// Key packages are single use and a client makes one only after a reset, so a member that
	// still holds a leaf has thrown that leaf's state away.
	if s.leafOf(m.id) >= 0 {
		m.stale = true
		s.forget(m.id)
	}
	s.log.Debug("key package accepted", zap.Uint64("user", m.id))
	return s.reconcile(), nil
}

// HandleJSON handles a client's JSON DAVE message: op 23 (ready for transition) or op 31
// (invalid commit or welcome). d is the message's "d" value.
func (s *Server) HandleJSON(userID uint64, op voice.Op, d []byte) ([]Out, error) {
	mem := s.members[userID]
	if mem == nil || !mem.dave {
		return nil, fmt.Errorf("%w: user %d, op %s", ErrNotMember, userID, op)
	}
	var v struct {
		TransitionID *uint16 `json:"transition_id"`
	}
	switch op {
	case voice.OpDAVEReadyForTransition, voice.OpDAVEMLSInvalidCommitWelcome:
	default:
		return nil, fmt.Errorf("%w: %s in HandleJSON", ErrUnexpectedOp, op)
	}
	if err := json.Unmarshal(d, &v); err != nil || v.TransitionID == nil {
		return nil, voice.Malformed("daveserver."+op.String(), 0, "d is not {\"transition_id\": u16}")
	}
	tid := *v.TransitionID
	if op == voice.OpDAVEReadyForTransition {
		return s.ready(mem, tid), nil
	}
	return s.invalid(mem, tid), nil
}

func (s *Server) ready(m *member, tid uint16) []Out {
	if s.tr == nil || s.tr.id != tid {
		s.log.Debug("op 23 for no pending transition", zap.Uint64("user", m.id), zap.Uint16("transition", tid))
		return nil
	}
	if s.faults.IgnoreReady {
		s.log.Debug("fault: op 23 ignored", zap.Uint64("user", m.id))
		return nil
	}
	delete(s.tr.waiting, m.id)
	if len(s.tr.waiting) > 0 {
		return nil
	}
	return s.execute()
}

// invalid handles op 31: the member could not use a commit or welcome and has reset itself.
// Its leaf (if any) is removed and it is added again once its new key package arrives.
func (s *Server) invalid(m *member, tid uint16) []Out {
	s.log.Debug("invalid commit/welcome", zap.Uint64("user", m.id), zap.Uint16("transition", tid))
	m.kp, m.kpRef = nil, nil
	m.stale = s.leafOf(m.id) >= 0
	s.forget(m.id)
	if s.tr != nil {
		if s.tr.waiting[m.id] {
			delete(s.tr.waiting, m.id)
		}
		s.tr.to = slices.DeleteFunc(s.tr.to, func(v uint64) bool { return v == m.id })
		if len(s.tr.waiting) == 0 {
			return s.execute()
		}
		return nil
	}
	return s.reconcile()
}

// Tick sends op 22 for a transition whose participants did not all answer op 23 within the
// execute timeout, and starts a forced downgrade. Call it after the clock advances.
func (s *Server) Tick() []Out {
	var out []Out
	if s.tr != nil && !s.clk.Now().Before(s.tr.deadline) {
		s.log.Debug("transition timed out", zap.Uint16("transition", s.tr.id), zap.Int("waiting", len(s.tr.waiting)))
		out = s.execute()
	}
	if s.faults.ForceDowngrade {
		s.faults.ForceDowngrade = false
		out = append(out, s.SetProtocolVersion(0)...)
	}
	return out
}

// SetProtocolVersion moves the call to DAVE version v: 0 downgrades (op 21 with version 0, op 22
// once everyone is ready), 1 upgrades (op 24 epoch 1: every member starts a new group and sends
// a key package). The change starts once no transition is pending.
func (s *Server) SetProtocolVersion(v int) []Out {
	if v < 0 || v > voice.DAVEProtocolVersion {
		s.log.Debug("ignoring unknown protocol version", zap.Int("version", v))
		return nil
	}
	s.target = v
	return s.reconcile()
}

// execute sends op 22 for the pending transition and moves on to what waited for it.
func (s *Server) execute() []Out {
	tr := s.tr
	s.tr = nil
	var out []Out
	if to := s.connected(tr.to); len(to) > 0 {
		out = append(out, Out{To: to, Op: voice.OpDAVEExecuteTransition, JSON: voice.DAVEExecuteTransition{TransitionID: tr.id}})
	}
	if tr.downgrade {
		s.pv = 0
		s.dropGroup()
	}
	return append(out, s.reconcile()...)
}
