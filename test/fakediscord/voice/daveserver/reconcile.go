package daveserver

import (
	"fmt"
	"slices"

	"github.com/cordage/cordage/events/voice"
	"go.uber.org/zap"
)

// reconcile brings the proposals in flight in line with who is in the call. It runs after every
// event while no transition is pending (proposals of an epoch about to end would be wasted): it
// starts a protocol version change if one was asked for, resets a member left alone, revokes
// proposals that no longer make sense, signs the missing ones and sends each recipient what it
// has not seen.
//
// With a group, the recipients are its live members, and the proposals are a Remove for every
// leaf whose user left or threw its state away, and an Add for every DAVE member with a key
// package and no live leaf. Before the first commit every member with a key package has its own
// pending group at epoch 0, so each gets the Adds of all the others and the first commit wins.
func (s *Server) reconcile() []Out {
	if s.tr != nil {
		return nil
	}
	if s.target != s.pv {
		return s.changeVersion()
	}
	if s.pv == 0 {
		return nil
	}
	if len(s.leaves) > 0 {
		live := s.live()
		switch {
		case len(live) == 0:
			s.log.Debug("no live member left; the group is gone")
			s.dropGroup()
		case len(live) == 1 && len(s.Members()) > 1:
			// Whitepaper, sole member reset: once one member would be left, nobody keeps
			// control of an established group; it is recreated when others arrive.
			return s.soleReset(live[0])
		}
	}

	var recipients []uint64
	var want []*proposal
	if len(s.leaves) > 0 {
		recipients = s.live()
		for i, u := range s.leaves {
			if m := s.members[u]; u != 0 && (m == nil || !m.dave || m.stale) {
				want = append(want, &proposal{user: u, leaf: uint32(i)})
			}
		}
		for _, u := range s.daveMembers() {
			if m := s.members[u]; m.kp != nil && (m.stale || s.leafOf(u) < 0) {
				want = append(want, &proposal{add: true, user: u, kpRef: m.kpRef, sigKey: m.kp.leaf.signatureKey})
			}
		}
	} else {
		for _, u := range s.daveMembers() {
			if s.members[u].kp != nil {
				recipients = append(recipients, u)
			}
		}
		if len(recipients) < 2 {
			recipients = nil
		}
		for _, u := range recipients {
			kp := s.members[u].kp
			want = append(want, &proposal{add: true, user: u, kpRef: s.members[u].kpRef, sigKey: kp.leaf.signatureKey})
		}
	}

	wanted := map[string]bool{}
	for _, p := range want {
		wanted[p.key()] = true
	}
	var out []Out
	// Revoke what is pending but no longer wanted, toward whoever has it queued (sentTo
	// forgets members whose MLS state was reset, so everyone left there still holds it).
	//
	// A revoke shrinks what a member holds, so the set it holds afterwards may equal one it
	// held (and committed) before the revoked proposal arrived; the server could then announce
	// that older commit while the member (davey, libdave) keeps only the state of its newest
	// one, and the member would fail the next commit. So any revoke revokes everything pending
	// and proposes what is still wanted again under fresh refs: no commit made before the
	// revoke can match the new set.
	held := func(p *proposal) bool {
		for u := range p.sentTo {
			if s.members[u] != nil {
				return true
			}
		}
		return false
	}
	refresh := s.refresh
	for _, p := range s.pending {
		if !wanted[p.key()] && held(p) {
			refresh = true
		}
	}
	revokes := map[uint64][][]byte{}
	s.pending = slices.DeleteFunc(s.pending, func(p *proposal) bool {
		if wanted[p.key()] && !refresh {
			return false
		}
		for u := range p.sentTo {
			if s.members[u] != nil {
				revokes[u] = append(revokes[u], p.ref)
			}
		}
		s.log.Debug("revoking proposal", zap.String("proposal", p.key()), zap.Bool("again", wanted[p.key()]))
		return true
	})
	out = append(out, s.revokeOuts(revokes)...)

	// Sign what is wanted but not pending.
	have := map[string]bool{}
	for _, p := range s.pending {
		have[p.key()] = true
	}
	for _, p := range want {
		if have[p.key()] {
			continue
		}
		if err := s.sign(p); err != nil {
			s.log.Error("signing proposal", zap.Error(err))
			continue
		}
		s.pending = append(s.pending, p)
	}

	// Send each recipient the pending proposals it has not seen, never its own Add.
	for _, u := range recipients {
		var msgs []byte
		for _, p := range s.pending {
			if p.sentTo[u] || (p.add && p.user == u) {
				continue
			}
			p.sentTo[u] = true
			msgs = append(msgs, p.msg...)
		}
		if msgs == nil {
			continue
		}
		b, err := voice.Proposals{Op: voice.ProposalsAppend, Messages: msgs}.AppendTo(nil)
		if err != nil {
			s.log.Error("encoding proposals", zap.Error(err))
			continue
		}
		out = append(out, Out{To: []uint64{u}, Op: voice.OpDAVEMLSProposals, Binary: b})
	}
	return out
}

// sign makes p's PublicMessage for the current epoch.
func (s *Server) sign(p *proposal) error {
	var body []byte
	if p.add {
		body = addProposal(s.members[p.user].kp.raw)
	} else {
		body = removeProposal(p.leaf)
	}
	epoch := s.epoch
	if s.faults.StaleEpochs > 0 {
		s.faults.StaleEpochs--
		if epoch > 0 {
			epoch--
		} else {
			epoch++
		}
		s.log.Debug("fault: proposal with a wrong epoch", zap.Uint64("epoch", epoch))
	}
	ep, err := signExternalProposal(s.key, s.groupID, epoch, body)
	if err != nil {
		return fmt.Errorf("daveserver: signing proposal: %w", err)
	}
	p.externalProposal = ep
	p.sentTo = map[uint64]bool{}
	s.issued[string(ep.ref)] = true
	return nil
}

// forget records that u's MLS state is gone (new session, op 31): nothing it had queued needs
// revoking.
func (s *Server) forget(u uint64) {
	for _, p := range s.pending {
		delete(p.sentTo, u)
	}
}

// soleReset handles the last member left in a group: the group is dropped and the member told
// to start over (op 24 epoch 1, then op 21 with transition 0 to execute at once).
func (s *Server) soleReset(u uint64) []Out {
	s.log.Debug("sole member reset", zap.Uint64("user", u))
	s.dropGroup()
	m := s.members[u]
	m.kp, m.kpRef = nil, nil
	to := []uint64{u}
	return []Out{
		{To: to, Op: voice.OpDAVEPrepareEpoch, JSON: voice.DAVEPrepareEpoch{ProtocolVersion: s.pv, Epoch: 1}},
		{To: to, Op: voice.OpDAVEPrepareTransition, JSON: voice.DAVEPrepareTransition{ProtocolVersion: s.pv}},
	}
}

// changeVersion starts the move from s.pv to s.target.
func (s *Server) changeVersion() []Out {
	to := s.daveMembers()
	if s.target == 0 {
		s.log.Debug("downgrade")
		if len(to) == 0 {
			s.pv = 0
			s.dropGroup()
			return nil
		}
		id := s.nextTID()
		s.tr = &transition{id: id, downgrade: true, deadline: s.clk.Now().Add(s.timeout), waiting: set(to), to: to}
		return []Out{{To: to, Op: voice.OpDAVEPrepareTransition, JSON: voice.DAVEPrepareTransition{ProtocolVersion: 0, TransitionID: id}}}
	}
	s.log.Debug("upgrade", zap.Int("version", s.target))
	s.pv = s.target
	s.dropGroup()
	var out []Out
	for _, u := range to {
		m := s.members[u]
		m.kp, m.kpRef = nil, nil
		if !m.gotSender {
			out = append(out, s.senderOut(m))
		}
	}
	if len(to) > 0 {
		out = append(out, Out{To: to, Op: voice.OpDAVEPrepareEpoch, JSON: voice.DAVEPrepareEpoch{ProtocolVersion: s.pv, Epoch: 1, TransitionID: s.nextTID()}})
	}
	return out
}

func set(us []uint64) map[uint64]bool {
	m := make(map[uint64]bool, len(us))
	for _, u := range us {
		m[u] = true
	}
	return m
}

// revokeOuts makes one op 27 revoke per member holding refs.
func (s *Server) revokeOuts(revokes map[uint64][][]byte) []Out {
	var out []Out
	for _, u := range s.daveMembers() {
		if refs := revokes[u]; len(refs) > 0 {
			b, err := voice.Proposals{Op: voice.ProposalsRevoke, Refs: refs}.AppendTo(nil)
			if err != nil {
				s.log.Error("encoding revoke", zap.Error(err))
				continue
			}
			out = append(out, Out{To: []uint64{u}, Op: voice.OpDAVEMLSProposals, Binary: b})
		}
	}
	return out
}
