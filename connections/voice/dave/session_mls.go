package dave

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.uber.org/zap"

	"github.com/cordage/cordage/connections/voice/mls"
	"github.com/cordage/cordage/events/voice"
)

// The MLS side of a Session: what each DAVE gateway message does to the group and which
// messages go back. Every handler runs under s.mu.
//
// Handlers may return messages together with an error: after an unusable commit or welcome the
// session has already recovered (op 31, reset, a new key package) and the messages must still
// be sent; the error says what went wrong.

// SetProtocolVersion applies the dave_protocol_version of the session description (op 4). It
// is the version in effect at once (no transition). Above 0 the session starts afresh: a new
// key package (op 26), and a pending group as soon as the external sender (op 25) is known.
func (s *Session) SetProtocolVersion(v int) ([]Message, error) {
	if v < 0 || v > voice.DAVEProtocolVersion {
		return nil, &SessionError{Kind: ErrUnsupportedVersion, Op: voice.OpSessionDescription, Err: fmt.Errorf("version %d", v)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = v
	s.log.Debug("dave protocol version", zap.Int("version", v))
	if v == 0 {
		s.clearGroup()
		s.execute(transition{version: 0})
		return nil, nil
	}
	msg, err := s.reset()
	if err != nil {
		return nil, err
	}
	s.execute(transition{version: v})
	s.setReceivePassthrough(false, 0)
	return []Message{msg}, nil
}

// ClientsConnect records users the voice gateway says are in the call (op 11): the only users
// an Add proposal may add.
func (s *Session) ClientsConnect(userIDs []uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range userIDs {
		s.recognized[id] = struct{}{}
	}
}

// ClientDisconnect forgets a user that left the call (op 13).
func (s *Session) ClientDisconnect(userID uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.recognized, userID)
}

// HandleJSON handles a DAVE JSON op from the voice gateway: prepare transition (21), execute
// transition (22) or prepare epoch (24); d is the message's "d" value.
func (s *Session) HandleJSON(op voice.Op, d []byte) ([]Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case voice.OpDAVEPrepareTransition:
		var p voice.DAVEPrepareTransition
		if err := json.Unmarshal(d, &p); err != nil {
			return nil, fmt.Errorf("dave: op %d %v: %w", op, op, err)
		}
		return s.prepareTransition(p)
	case voice.OpDAVEExecuteTransition:
		var p voice.DAVEExecuteTransition
		if err := json.Unmarshal(d, &p); err != nil {
			return nil, fmt.Errorf("dave: op %d %v: %w", op, op, err)
		}
		s.executeTransition(p.TransitionID)
		return nil, nil
	case voice.OpDAVEPrepareEpoch:
		var p voice.DAVEPrepareEpoch
		if err := json.Unmarshal(d, &p); err != nil {
			return nil, fmt.Errorf("dave: op %d %v: %w", op, op, err)
		}
		return s.prepareEpoch(p)
	}
	return nil, fmt.Errorf("dave: op %d %v is not a DAVE JSON op from the server", int(op), op)
}

// HandleBinary handles a binary DAVE op from the voice gateway: external sender (25), proposals
// (27), announce commit (29) or welcome (30).
func (s *Session) HandleBinary(m voice.BinaryMessage) ([]Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch m.Op {
	case voice.OpDAVEMLSExternalSender:
		return nil, s.setExternalSender(m.Payload)
	case voice.OpDAVEMLSProposals:
		return s.proposals(m.Payload)
	case voice.OpDAVEMLSAnnounceCommit:
		return s.announceCommit(m.Payload)
	case voice.OpDAVEMLSWelcome:
		return s.welcome(m.Payload)
	}
	return nil, fmt.Errorf("dave: op %d %v is not a DAVE binary op from the server", int(m.Op), m.Op)
}

// reset drops every group state and makes a new key package (op 26), and a new pending group
// if the external sender is known. Key packages are single use, so every reset makes one.
func (s *Session) reset() (Message, error) {
	s.clearGroup()
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], s.userID)
	b, err := mls.NewKeyPackage(s.signer, id[:])
	if err != nil {
		return Message{}, fmt.Errorf("dave: key package: %w", err)
	}
	s.bundle = b
	s.createPending()
	s.log.Debug("dave reset: new key package")
	return Message{Op: voice.OpDAVEMLSKeyPackage, Binary: b.KeyPackage.Marshal()}, nil
}

// clearGroup forgets the established and pending groups, queued proposals, the cached commit and
// prepared transitions. Keys of the old epoch keep decrypting for KeyExpiry.
func (s *Session) clearGroup() {
	if s.group != nil {
		s.forgetReceiveKeys()
	}
	s.group, s.pending, s.bundle, s.outbound = nil, nil, nil, nil
	s.authCode = ""
	clear(s.transitions)
}

// createPending makes the local group with this member alone, once both the key package and
// the external sender are known and no group is established.
func (s *Session) createPending() {
	if s.bundle == nil || s.extSender == nil || s.group != nil {
		return
	}
	g, err := mls.NewGroup(s.groupID, s.bundle, mls.ExternalSendersExtension(*s.extSender))
	if err != nil {
		// Only a nil bundle or a bad extension fails, and both were checked.
		s.log.Error("dave: pending group", zap.Error(err))
		return
	}
	s.pending, s.outbound = g, nil
}

func (s *Session) setExternalSender(p []byte) error {
	es, err := voice.ParseExternalSender(p)
	if err != nil {
		return err
	}
	if s.group != nil {
		s.log.Warn("dave: external sender ignored: a group is established")
		return nil
	}
	s.extSender = &mls.ExternalSender{
		SignatureKey: slices.Clone(es.SignatureKey),
		Credential:   mls.Credential{Type: mls.CredentialTypeBasic, Identity: slices.Clone(es.Identity)},
	}
	s.createPending()
	return nil
}

// base is the group proposals and commits apply to: the pending group before one is
// established, else the established one.
func (s *Session) base() *mls.Group {
	if s.pending != nil {
		return s.pending
	}
	return s.group
}

// proposals appends or revokes proposals (op 27), then commits all queued ones (op 28).
func (s *Session) proposals(p []byte) ([]Message, error) {
	props, err := voice.ParseProposals(p)
	if err != nil {
		return nil, err
	}
	g := s.base()
	if g == nil {
		s.log.Debug("dave: proposals ignored: no local group")
		return nil, nil
	}
	fail := func(err error) ([]Message, error) {
		return nil, &SessionError{Kind: ErrProposals, Op: voice.OpDAVEMLSProposals, Err: err}
	}
	switch props.Op {
	case voice.ProposalsAppend:
		msgs, err := mls.SplitMLSMessages(props.Messages)
		if err != nil {
			return fail(err)
		}
		var added [][]byte
		for _, m := range msgs {
			rp, err := g.ReceiveProposal(m)
			if err == nil {
				err = s.allowed(rp)
				added = append(added, rp.Ref)
			}
			if err != nil {
				// All or nothing: a refused message drops what it queued.
				for _, ref := range added {
					_ = g.RevokeProposal(ref)
				}
				return fail(err)
			}
		}
	case voice.ProposalsRevoke:
		for _, ref := range props.Refs {
			if err := g.RevokeProposal(ref); err != nil {
				return fail(err)
			}
		}
	}
	if len(g.PendingProposals()) == 0 {
		return nil, nil
	}
	res, err := g.Commit()
	if err != nil {
		return nil, &SessionError{Kind: ErrCommit, Op: voice.OpDAVEMLSProposals, Err: err}
	}
	// Every commit of this epoch stays cached: whichever the gateway announces, this member
	// adopts the state that goes with it.
	s.outbound = append(s.outbound, res)
	s.log.Debug("dave commit", zap.Uint64("epoch", g.Epoch()), zap.Int("proposals", len(g.PendingProposals())), zap.Bool("welcome", res.Welcome != nil))
	return []Message{{Op: voice.OpDAVEMLSCommitWelcome, Binary: voice.AppendCommitWelcome(nil, res.Commit, res.Welcome)}}, nil
}

// allowed is DAVE's policy on top of MLS: proposals come from the external sender, and are an
// Add of a user announced in clients-connect, or a Remove.
func (s *Session) allowed(rp *mls.ReceivedProposal) error {
	if rp.Sender.Type != mls.SenderExternal {
		return fmt.Errorf("proposal from sender type %d, not the external sender", rp.Sender.Type)
	}
	switch rp.Proposal.Type {
	case mls.ProposalTypeRemove:
		return nil
	case mls.ProposalTypeAdd:
		id := rp.Proposal.Add.LeafNode.Credential.Identity
		if len(id) != 8 {
			return fmt.Errorf("add of an identity of %d bytes", len(id))
		}
		uid := binary.BigEndian.Uint64(id)
		if _, ok := s.recognized[uid]; !ok {
			return fmt.Errorf("add of user %d, not in the call", uid)
		}
		return nil
	}
	return fmt.Errorf("proposal type %d", rp.Proposal.Type)
}

// announceCommit handles the winning commit of a transition (op 29).
func (s *Session) announceCommit(p []byte) ([]Message, error) {
	t, err := voice.ParseTransition(p)
	if err != nil {
		return nil, err
	}
	var next *mls.Group
	switch {
	case s.ownCommit(t.Data) != nil:
		next = s.ownCommit(t.Data)
	case s.group == nil:
		// DAVE: a member without an established group processes only its own commit. One that
		// carries this member's signature but other bytes is its own commit damaged on the way:
		// unusable. Any other is another member's first commit; if it adds this member, a
		// welcome (op 30) follows.
		if s.signedByUs(t.Data) {
			return s.recover(ErrCommit, voice.OpDAVEMLSAnnounceCommit, t.TransitionID, errors.New("announced commit is this member's own, altered"))
		}
		s.log.Debug("dave: commit ignored: no established group", zap.Uint16("transition", t.TransitionID))
		return nil, nil
	default:
		if m, _, err := mls.ReadMLSMessage(t.Data); err == nil && m.Public != nil && m.Public.Content.Epoch < s.group.Epoch() {
			// A commit this member's state already includes (the one its welcome came from).
			s.log.Debug("dave: stale commit ignored", zap.Uint16("transition", t.TransitionID), zap.Uint64("epoch", m.Public.Content.Epoch))
			return nil, nil
		}
		if next, err = s.group.ProcessCommit(t.Data); err != nil {
			return s.recover(ErrCommit, voice.OpDAVEMLSAnnounceCommit, t.TransitionID, err)
		}
	}
	return s.adopt(next, voice.OpDAVEMLSAnnounceCommit, t.TransitionID)
}

// ownCommit returns the next state of a commit this member sent in the current epoch.
func (s *Session) ownCommit(commit []byte) *mls.Group {
	for _, c := range s.outbound {
		if bytes.Equal(commit, c.Commit) {
			return c.Next
		}
	}
	return nil
}

// signedByUs reports whether a commit carries the signature of one of this member's commits of
// the current epoch.
func (s *Session) signedByUs(commit []byte) bool {
	m, _, err := mls.ReadMLSMessage(commit)
	if err != nil || m.Public == nil || len(m.Public.Signature) == 0 {
		return false
	}
	for _, c := range s.outbound {
		if own, _, err := mls.ReadMLSMessage(c.Commit); err == nil && own.Public != nil && bytes.Equal(own.Public.Signature, m.Public.Signature) {
			return true
		}
	}
	return false
}

// welcome joins the group from a welcome (op 30).
func (s *Session) welcome(p []byte) ([]Message, error) {
	t, err := voice.ParseTransition(p)
	if err != nil {
		return nil, err
	}
	if s.group != nil {
		s.log.Warn("dave: welcome ignored: a group is established", zap.Uint16("transition", t.TransitionID))
		return nil, nil
	}
	if s.bundle == nil || s.extSender == nil {
		return s.recover(ErrWelcome, voice.OpDAVEMLSWelcome, t.TransitionID, errors.New("no key package or external sender to join with"))
	}
	g, err := mls.JoinWelcome(t.Data, s.bundle)
	if err != nil {
		return s.recover(ErrWelcome, voice.OpDAVEMLSWelcome, t.TransitionID, err)
	}
	ext := g.ExternalSenders()
	if len(ext) != 1 || !bytes.Equal(ext[0].SignatureKey, s.extSender.SignatureKey) ||
		ext[0].Credential.Type != s.extSender.Credential.Type || !bytes.Equal(ext[0].Credential.Identity, s.extSender.Credential.Identity) {
		return s.recover(ErrWelcome, voice.OpDAVEMLSWelcome, t.TransitionID, fmt.Errorf("group has %d external senders, not exactly the voice gateway's", len(ext)))
	}
	return s.adopt(g, voice.OpDAVEMLSWelcome, t.TransitionID)
}

// adopt makes next the established group: receivers get the new epoch's keys now, senders
// switch when the transition executes (at once for transition 0, else after op 22).
func (s *Session) adopt(next *mls.Group, op voice.Op, tid uint16) ([]Message, error) {
	members, err := rosterIDs(next)
	if err != nil {
		kind := ErrCommit
		if op == voice.OpDAVEMLSWelcome {
			kind = ErrWelcome
		}
		return s.recover(kind, op, tid, err)
	}
	s.group, s.pending, s.bundle, s.outbound = next, nil, nil, nil
	s.authCode, _ = DisplayableCode(next.EpochAuthenticator(), 30, 5)
	s.installReceiveKeys(next, members)
	s.log.Info("dave epoch", zap.Uint64("epoch", next.Epoch()), zap.Int("members", len(members)), zap.Uint16("transition", tid))
	// Transitions prepared for an older epoch can no longer be executed: senders only move
	// forward.
	maps.DeleteFunc(s.transitions, func(_ uint16, t transition) bool { return t.group != nil })
	t := transition{version: s.version, group: next}
	if tid == 0 {
		s.execute(t)
		return nil, nil
	}
	s.transitions[tid] = t
	return []Message{{Op: voice.OpDAVEReadyForTransition, JSON: voice.DAVEReadyForTransition{TransitionID: tid}}}, nil
}

// recover answers an unusable commit or welcome: op 31 for the transition, then a reset with a
// new key package, so the gateway removes and re-adds this member.
func (s *Session) recover(kind error, op voice.Op, tid uint16, cause error) ([]Message, error) {
	s.log.Warn("dave: unusable "+op.String()+", resetting", zap.Uint16("transition", tid), zap.Error(cause))
	msgs := []Message{{Op: voice.OpDAVEMLSInvalidCommitWelcome, JSON: voice.DAVEInvalidCommitWelcome{TransitionID: tid}}}
	kp, err := s.reset()
	if err != nil {
		return msgs, errors.Join(&SessionError{Kind: kind, Op: op, TransitionID: tid, Err: cause}, err)
	}
	return append(msgs, kp), &SessionError{Kind: kind, Op: op, TransitionID: tid, Err: cause}
}

// prepareTransition handles op 21: a protocol version change. Version 0 (a downgrade) lets
// clear frames in at once; transition 0 executes at once, others after op 22.
func (s *Session) prepareTransition(p voice.DAVEPrepareTransition) ([]Message, error) {
	if p.ProtocolVersion < 0 || p.ProtocolVersion > voice.DAVEProtocolVersion {
		return nil, &SessionError{Kind: ErrUnsupportedVersion, Op: voice.OpDAVEPrepareTransition, TransitionID: p.TransitionID, Err: fmt.Errorf("version %d", p.ProtocolVersion)}
	}
	s.version = p.ProtocolVersion
	if p.ProtocolVersion == 0 {
		s.setReceivePassthrough(true, 0)
	}
	// A transition a commit prepared keeps its epoch; one that only changes the version moves
	// senders to whatever group is established when it executes (none after a reset).
	t := s.transitions[p.TransitionID]
	t.version = p.ProtocolVersion
	s.log.Debug("dave prepare transition", zap.Uint16("transition", p.TransitionID), zap.Int("version", p.ProtocolVersion))
	if p.TransitionID == 0 {
		delete(s.transitions, 0)
		s.execute(t)
		return nil, nil
	}
	s.transitions[p.TransitionID] = t
	return []Message{{Op: voice.OpDAVEReadyForTransition, JSON: voice.DAVEReadyForTransition{TransitionID: p.TransitionID}}}, nil
}

// executeTransition handles op 22.
func (s *Session) executeTransition(tid uint16) {
	t, ok := s.transitions[tid]
	if !ok {
		s.log.Debug("dave: execute of an unknown transition ignored", zap.Uint16("transition", tid))
		return
	}
	delete(s.transitions, tid)
	s.log.Debug("dave execute transition", zap.Uint16("transition", tid), zap.Int("version", t.version))
	s.execute(t)
}

// execute switches media to t: the protocol version, the sender's epoch, and the receive rule
// for clear frames (on at version 0; after an upgrade they pass for 10 s more).
func (s *Session) execute(t transition) {
	if t.group == nil {
		t.group = s.group
	}
	old := int(s.active.Swap(int32(t.version)))
	s.switchSend(t)
	switch {
	case t.version == 0:
		s.setReceivePassthrough(true, 0)
	case old == 0:
		s.setReceivePassthrough(false, passthroughGrace)
	}
}

// prepareEpoch handles op 24. Epoch 1 means a new group: reset and send a new key package.
// Another epoch keeps the group; only the version it announces is noted.
func (s *Session) prepareEpoch(p voice.DAVEPrepareEpoch) ([]Message, error) {
	if p.ProtocolVersion < 0 || p.ProtocolVersion > voice.DAVEProtocolVersion {
		return nil, &SessionError{Kind: ErrUnsupportedVersion, Op: voice.OpDAVEPrepareEpoch, TransitionID: p.TransitionID, Err: fmt.Errorf("version %d", p.ProtocolVersion)}
	}
	s.version = p.ProtocolVersion
	s.log.Debug("dave prepare epoch", zap.Uint64("epoch", p.Epoch), zap.Int("version", p.ProtocolVersion), zap.Uint16("transition", p.TransitionID))
	if p.Epoch != 1 || p.ProtocolVersion == 0 {
		return nil, nil
	}
	msg, err := s.reset()
	if err != nil {
		return nil, err
	}
	return []Message{msg}, nil
}
