package mls

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// harness plays DAVE's voice server: it owns the external sender key, broadcasts proposals to
// every member, takes one member's commit and delivers it (or the welcome) to everyone else.
type harness struct {
	t        testing.TB
	ext      *Signer
	groupID  []byte
	members  map[uint64]*Group // user id -> state
	pendKP   map[uint64]*KeyPackageBundle
	nextUser uint64
	lastRef  []byte
	// lastRefKP is the KeyPackageRef of the most recent Add, so a revoke knows whom it cancels.
	lastRefKP []byte
}

func userIdentity(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

func newHarness(t testing.TB) *harness {
	t.Helper()
	k, err := GenerateSignatureKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ext: s, groupID: binary.BigEndian.AppendUint64(nil, 1234567890), members: map[uint64]*Group{}, pendKP: map[uint64]*KeyPackageBundle{}, nextUser: 100}
	return h
}

func (h *harness) externalSender() ExternalSender {
	return ExternalSender{SignatureKey: h.ext.PublicKey(), Credential: Credential{Type: CredentialTypeBasic, Identity: []byte("discord")}}
}

func newBundle(t testing.TB, user uint64) *KeyPackageBundle {
	t.Helper()
	k, err := GenerateSignatureKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewKeyPackage(s, userIdentity(user))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// start creates the first member's group.
func (h *harness) start() uint64 {
	u := h.nextUser
	h.nextUser++
	g, err := NewGroup(h.groupID, newBundle(h.t, u), ExternalSendersExtension(h.externalSender()))
	if err != nil {
		h.t.Fatal(err)
	}
	h.members[u] = g
	return u
}

func (h *harness) anyMember() *Group {
	for _, g := range h.members {
		return g
	}
	return nil
}

func (h *harness) broadcast(p *Proposal) []byte {
	g := h.anyMember()
	msg, err := ExternalProposal(h.ext, 0, h.groupID, g.Epoch(), p)
	if err != nil {
		h.t.Fatal(err)
	}
	var ref []byte
	for u, m := range h.members {
		rp, err := m.ReceiveProposal(msg)
		if err != nil {
			h.t.Fatalf("user %d: receive proposal: %v", u, err)
		}
		if ref != nil && !bytes.Equal(ref, rp.Ref) {
			h.t.Fatalf("user %d computed another proposal ref", u)
		}
		ref = rp.Ref
	}
	h.lastRef = ref
	return ref
}

// revoke drops a proposal on every member, as DAVE's op 27 revoke does.
func (h *harness) revoke(ref []byte) {
	for u, m := range h.members {
		if err := m.RevokeProposal(ref); err != nil {
			h.t.Fatalf("user %d: revoke: %v", u, err)
		}
	}
}

func (h *harness) proposeAdd() uint64 {
	u := h.nextUser
	h.nextUser++
	b := newBundle(h.t, u)
	h.pendKP[u] = b
	h.broadcast(&Proposal{Type: ProposalTypeAdd, Add: b.KeyPackage})
	h.lastRefKP = b.KeyPackage.Ref()
	return u
}

func (h *harness) leafOf(user uint64) uint32 {
	for _, m := range h.anyMember().Members() {
		if bytes.Equal(m.Identity, userIdentity(user)) {
			return m.LeafIndex
		}
	}
	h.t.Fatalf("user %d not in group", user)
	return 0
}

func (h *harness) proposeRemove(user uint64) {
	h.broadcast(&Proposal{Type: ProposalTypeRemove, Remove: h.leafOf(user)})
	h.lastRefKP = nil
}

// commitBy has member committer commit, everyone else process, and new members join.
func (h *harness) commitBy(committer uint64, removed ...uint64) {
	h.t.Helper()
	res, err := h.members[committer].Commit()
	if err != nil {
		h.t.Fatalf("commit by %d: %v", committer, err)
	}
	next := map[uint64]*Group{committer: res.Next}
	for u, g := range h.members {
		if u == committer {
			continue
		}
		ng, err := g.ProcessCommit(res.Commit)
		if errors.Is(err, ErrRemoved) {
			continue
		}
		if err != nil {
			h.t.Fatalf("user %d processing commit by %d: %v", u, committer, err)
		}
		next[u] = ng
	}
	for _, r := range removed {
		if _, ok := next[r]; ok {
			h.t.Fatalf("removed user %d still advanced", r)
		}
	}
	if len(h.pendKP) > 0 && res.Welcome == nil {
		h.t.Fatal("adds without welcome")
	}
	for u, b := range h.pendKP {
		g, err := JoinWelcome(res.Welcome, b)
		if err != nil {
			h.t.Fatalf("user %d join: %v", u, err)
		}
		next[u] = g
	}
	h.pendKP = map[uint64]*KeyPackageBundle{}
	h.members = next
	h.checkAgreement()
}

func (h *harness) checkAgreement() {
	h.t.Helper()
	var auth, exp, th []byte
	var epoch uint64
	for u, g := range h.members {
		e, err := g.Export("Discord Secure Frames v0", binary.LittleEndian.AppendUint64(nil, 42), 16)
		if err != nil {
			h.t.Fatal(err)
		}
		if auth == nil {
			auth, exp, th, epoch = g.EpochAuthenticator(), e, g.TreeHash(), g.Epoch()
			continue
		}
		if g.Epoch() != epoch || !bytes.Equal(auth, g.EpochAuthenticator()) || !bytes.Equal(exp, e) || !bytes.Equal(th, g.TreeHash()) {
			h.t.Fatalf("user %d disagrees at epoch %d (has %d)", u, epoch, g.Epoch())
		}
		if len(g.Members()) != len(h.members) {
			h.t.Fatalf("user %d sees %d members, want %d", u, len(g.Members()), len(h.members))
		}
	}
}

func (h *harness) randomMember(r *rand.Rand) uint64 {
	var us []uint64
	for u := range h.members {
		us = append(us, u)
	}
	// map order is random but not reproducible; sort for a seeded choice
	for i := range us {
		for j := i + 1; j < len(us); j++ {
			if us[j] < us[i] {
				us[i], us[j] = us[j], us[i]
			}
		}
	}
	return us[r.IntN(len(us))]
}

func TestGroupAddsAndRemoves(t *testing.T) {
	for size := 2; size <= 6; size++ {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(size), 7))
			h := newHarness(t)
			first := h.start()
			// Grow one at a time, committed by a random existing member.
			for len(h.members) < size {
				h.proposeAdd()
				h.commitBy(h.randomMember(r))
			}
			// Remove a random member (not the committer), then add two at once, then remove two.
			victim := h.randomMember(r)
			h.proposeRemove(victim)
			committer := h.randomMember(r)
			for committer == victim {
				committer = h.randomMember(r)
			}
			h.commitBy(committer, victim)
			if len(h.members) >= 1 {
				h.proposeAdd()
				h.proposeAdd()
				h.commitBy(h.randomMember(r))
			}
			for len(h.members) > 3 {
				a := h.randomMember(r)
				b := h.randomMember(r)
				for b == a {
					b = h.randomMember(r)
				}
				h.proposeRemove(a)
				h.proposeRemove(b)
				c := h.randomMember(r)
				for c == a || c == b {
					c = h.randomMember(r)
				}
				h.commitBy(c, a, b)
			}
			// Mixed: remove one and add one in one commit.
			for u := range h.members {
				if len(h.members) > 1 {
					h.proposeRemove(u)
					h.proposeAdd()
					var c uint64
					for v := range h.members {
						if v != u {
							c = v
						}
					}
					h.commitBy(c, u)
				}
				break
			}
			_ = first
			if g := h.anyMember(); g.Epoch() < uint64(size) {
				t.Fatalf("only %d epochs", g.Epoch())
			} else {
				t.Logf("size %d: epoch %d, %d members, %d leaves", size, g.Epoch(), len(h.members), g.tree.leafCount())
			}
		})
	}
}

// TestGroupRandomChurn runs seeded random rounds of adds, removes and revokes on up to 12
// members, committed by random members, checking agreement after every epoch.
func TestGroupRandomChurn(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 13))
	h := newHarness(t)
	h.start()
	for round := 0; round < 40; round++ {
		committer := h.randomMember(r)
		var removed []uint64
		adds := r.IntN(3)
		if len(h.members) < 3 {
			adds++
		}
		for range adds {
			if len(h.members)+adds < 12 {
				h.proposeAdd()
			}
		}
		if len(h.members) > 2 && r.IntN(2) == 0 {
			v := h.randomMember(r)
			if v != committer {
				h.proposeRemove(v)
				removed = append(removed, v)
			}
		}
		// Sometimes the server revokes the last proposal before anyone commits.
		if h.lastRef != nil && r.IntN(4) == 0 {
			h.revoke(h.lastRef)
			if len(removed) > 0 {
				removed = removed[:0]
			} else {
				for u := range h.pendKP {
					if bytes.Equal(h.lastRefKP, h.pendKP[u].KeyPackage.Ref()) {
						delete(h.pendKP, u)
					}
				}
			}
		}
		h.lastRef = nil
		h.commitBy(committer, removed...)
	}
	if g := h.anyMember(); g.Epoch() != 40 {
		t.Fatalf("epoch %d after 40 commits", g.Epoch())
	}
}
