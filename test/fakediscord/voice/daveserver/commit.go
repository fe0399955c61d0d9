package daveserver

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cordage/cordage/events/voice"
	"go.uber.org/zap"
)

func commitError(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCommit}, a...)...)
}

// handleCommit takes an op 28. The first valid commit of an epoch wins: the server applies it to
// its roster, announces it (op 29) to the members that were in the group, sends each joiner its
// part of the Welcome (op 30) and waits for op 23. A commit for an epoch that already ended lost
// the race and is dropped without an error, and so are the other commits that races explain
// (made before a revoke, a reset or the last op 27 reached the sender). Errors are kept for
// what no race explains: bad structure, a ref this server never made, a sender that is not
// who it claims, a missing path or welcome.
func (s *Server) handleCommit(m *member, payload []byte) ([]Out, error) {
	r := &reader{dec: decCommit, b: payload}
	c := readCommitMessage(r)
	if r.err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCommit, r.err)
	}
	rest := payload[r.off:]
	if !bytes.Equal(c.groupID, s.groupID) {
		return nil, commitError("group id is not this call's")
	}
	// Races every call sees are dropped without an error (Discord just does not announce
	// them): a commit for an epoch that ended lost; one for a later epoch was made in a group
	// that a reset replaced (epochs start again at 1); one during a transition was made for
	// proposals of an older group.
	if c.epoch != s.epoch || s.tr != nil {
		s.log.Debug("commit lost the race", zap.Uint64("user", m.id), zap.Uint64("epoch", c.epoch), zap.Uint64("group epoch", s.epoch))
		return nil, nil
	}

	group := len(s.leaves) > 0
	if group {
		if int64(c.leaf) >= int64(len(s.leaves)) || s.leaves[c.leaf] != m.id || m.stale {
			return nil, commitError("sender leaf %d is not the committer's live leaf", c.leaf)
		}
	} else if c.leaf != 0 || m.kp == nil {
		return nil, commitError("committer has no pending group (leaf %d)", c.leaf)
	}

	if len(c.refs) == 0 {
		return nil, commitError("commits no proposal")
	}
	var chosen []*proposal
	for _, ref := range c.refs {
		if !s.issued[string(ref)] {
			// Not a ref of any proposal this server made: the client computed it wrong.
			return nil, commitError("proposal ref %x was never proposed", ref)
		}
		i := slices.IndexFunc(s.pending, func(p *proposal) bool { return bytes.Equal(p.ref, ref) })
		if i < 0 || !s.pending[i].sentTo[m.id] {
			// Revoked, or of an older round: the commit was made before the revoke or reset
			// reached its sender.
			s.log.Debug("commit references a proposal no longer pending", zap.Uint64("user", m.id))
			return nil, nil
		}
		p := s.pending[i]
		if slices.Contains(chosen, p) {
			return nil, commitError("proposal ref %x appears twice", ref)
		}
		chosen = append(chosen, p)
	}
	// Whitepaper, voice gateway commit validity: a commit references every unrevoked proposal
	// of the epoch. One that does not was made before the last op 27 reached its sender: a
	// normal race, dropped like a losing commit (the sender commits again once it has that
	// op 27), so it is not an error.
	for _, p := range s.pending {
		if p.sentTo[m.id] && !slices.Contains(chosen, p) {
			s.log.Debug("commit made before the last proposals arrived", zap.Uint64("user", m.id), zap.String("missing", p.key()))
			return nil, nil
		}
	}
	var adds, removes []*proposal
	for _, p := range chosen {
		if p.add {
			adds = append(adds, p)
		} else {
			removes = append(removes, p)
		}
	}
	// RFC 9420 §12.4: a commit needs a path unless it holds only Add (PSK, ReInit) proposals.
	if len(removes) > 0 && !c.hasPath {
		return nil, commitError("commit with a Remove has no update path")
	}
	leaves, keys := slices.Clone(s.leaves), slices.Clone(s.leafKeys)
	if !group {
		// The committer's pending group has its key package's leaf at index 0 (libdave and
		// davey build both from one leaf node and one signature key).
		leaves, keys = []uint64{m.id}, [][]byte{m.kp.leaf.signatureKey}
	}
	if c.hasPath {
		pl := &c.pathLeaf
		if pl.source != sourceCommit {
			return nil, commitError("path leaf source %d is not commit", pl.source)
		}
		if pl.cred.typ != credBasic || len(pl.cred.identity) != 8 || binary.BigEndian.Uint64(pl.cred.identity) != m.id {
			return nil, commitError("path leaf credential is not the committer's")
		}
		// Whitepaper: a commit must not change its sender's credential or signature key.
		if !bytes.Equal(pl.signatureKey, keys[c.leaf]) {
			return nil, commitError("path leaf changes the committer's signature key")
		}
	}

	leaves, keys, joined := applyProposals(leaves, keys, removes, adds)
	if dup := duplicate(leaves); dup != 0 {
		return nil, commitError("user %d would hold two leaves", dup)
	}

	secretOf := map[uint64]int{}
	var w welcome
	switch {
	case len(adds) > 0:
		if len(rest) == 0 {
			return s.reissue(), commitError("commit adds members but carries no welcome")
		}
		var err error
		if w, err = parseWelcome(rest); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCommit, err)
		}
		if len(w.secrets) != len(adds) {
			return nil, commitError("welcome has %d secrets for %d joiners", len(w.secrets), len(adds))
		}
		for _, p := range adds {
			i := slices.IndexFunc(w.secrets, func(e welcomeSecret) bool { return bytes.Equal(e.newMember, p.kpRef) })
			if i < 0 {
				return nil, commitError("welcome has no secrets for user %d's key package", p.user)
			}
			secretOf[p.user] = i
		}
	case len(rest) > 0:
		w, err := parseWelcome(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCommit, err)
		}
		if len(w.secrets) > 0 {
			return nil, commitError("welcome for a commit that adds no one")
		}
	}

	// The commit wins. Who had the previous epoch's state gets the commit; joiners get welcomes.
	announceTo := s.live()
	if !group {
		announceTo = []uint64{m.id}
		m.kp, m.kpRef = nil, nil // its key package's leaf became leaf 0 of the group
	}
	s.leaves, s.leafKeys, s.epoch, s.pending = leaves, keys, c.epoch+1, nil
	for _, p := range adds {
		j := s.members[p.user]
		j.kp, j.kpRef, j.stale = nil, nil, false
	}
	for _, mm := range s.members {
		if mm.stale && s.leafOf(mm.id) < 0 {
			mm.stale = false // its old leaf is gone; it is now simply not in the group
		}
	}

	id := s.nextTID()
	commit := c.raw
	if s.faults.CorruptCommits > 0 {
		s.faults.CorruptCommits--
		commit = slices.Clone(commit)
		commit[len(commit)-1] ^= 0x01
		s.log.Debug("fault: corrupted announced commit", zap.Uint16("transition", id))
	}
	out := []Out{{To: announceTo, Op: voice.OpDAVEMLSAnnounceCommit,
		Binary: voice.Transition{TransitionID: id, Data: commit}.AppendTo(nil)}}
	for _, u := range joined {
		out = append(out, Out{To: []uint64{u}, Op: voice.OpDAVEMLSWelcome,
			Binary: voice.Transition{TransitionID: id, Data: w.subset(secretOf[u])}.AppendTo(nil)})
	}
	participants := append(slices.Clone(announceTo), joined...)
	s.tr = &transition{id: id, deadline: s.clk.Now().Add(s.timeout), waiting: set(participants), to: participants}
	s.log.Debug("commit won", zap.Uint64("user", m.id), zap.Uint64("epoch", s.epoch),
		zap.Uint16("transition", id), zap.Int("adds", len(adds)), zap.Int("removes", len(removes)))
	return out, nil
}

// applyProposals applies a commit's proposals to the roster (leaf users and their signature
// keys) as RFC 9420 §12.3 orders them: removes first (blank the leaf, then truncate trailing
// blanks), then adds in commit order, each into the leftmost blank leaf or a new one at the
// right. It returns the roster and the users added, in order.
func applyProposals(leaves []uint64, keys [][]byte, removes, adds []*proposal) ([]uint64, [][]byte, []uint64) {
	for _, p := range removes {
		leaves[p.leaf], keys[p.leaf] = 0, nil
	}
	for len(leaves) > 0 && leaves[len(leaves)-1] == 0 {
		leaves, keys = leaves[:len(leaves)-1], keys[:len(keys)-1]
	}
	var joined []uint64
	for _, p := range adds {
		if i := slices.Index(leaves, 0); i >= 0 {
			leaves[i], keys[i] = p.user, p.sigKey
		} else {
			leaves, keys = append(leaves, p.user), append(keys, p.sigKey)
		}
		joined = append(joined, p.user)
	}
	return leaves, keys, joined
}

// duplicate returns a user id that holds two leaves, or 0.
func duplicate(leaves []uint64) uint64 {
	seen := map[uint64]bool{}
	for _, u := range leaves {
		if u == 0 {
			continue
		}
		if seen[u] {
			return u
		}
		seen[u] = true
	}
	return 0
}

// reissue revokes the pending proposals and proposes them again under new refs, so that
// every member sees the Adds in a fresh op 27. It answers a commit that took Adds without a
// Welcome: davey 0.1.12 attaches the Welcome only when the op 27 it just processed held an Add,
// so a commit made after a later op 27 with only a Remove comes without one, and without this
// the call would wait forever for a valid commit.
func (s *Server) reissue() []Out {
	s.log.Debug("re-proposing after a commit without a welcome")
	s.refresh = true
	defer func() { s.refresh = false }()
	return s.reconcile()
}
