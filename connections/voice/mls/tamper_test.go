package mls

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"testing"
)

// twoMembers returns a harness with two members (a created, b joined) and their user ids.
func twoMembers(t *testing.T) (*harness, uint64, uint64) {
	h := newHarness(t)
	a := h.start()
	b := h.proposeAdd()
	h.commitBy(a)
	return h, a, b
}

// reframe re-signs content as sender g and recomputes the membership tag, so a test can change
// a commit's body and still reach the checks past the signature.
func reframe(t *testing.T, g *Group, pm *PublicMessage) []byte {
	t.Helper()
	sig, err := signWithLabel(g.signer.key, "FramedContentTBS", pm.Content.tbs(g.ctxBytes))
	if err != nil {
		t.Fatal(err)
	}
	pm.Signature = sig
	pm.MembershipTag = mac(g.secrets.membership, pm.tbm(g.ctxBytes))
	return (&MLSMessage{WireFormat: WireFormatPublicMessage, Public: pm}).Marshal()
}

func TestTamperedProposalsRejected(t *testing.T) {
	h, a, b := twoMembers(t)
	g := h.members[a]
	kp := newBundle(t, 999).KeyPackage
	good, _ := ExternalProposal(h.ext, 0, h.groupID, g.Epoch(), &Proposal{Type: ProposalTypeAdd, Add: kp})

	m, _ := DecodeMLSMessage(good)
	m.Public.Signature[len(m.Public.Signature)-1] ^= 1
	if _, err := g.ReceiveProposal(m.Marshal()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("flipped signature: %v", err)
	}
	other, _ := NewSigner(mustKey(t))
	forged, _ := ExternalProposal(other, 0, h.groupID, g.Epoch(), &Proposal{Type: ProposalTypeAdd, Add: kp})
	if _, err := g.ReceiveProposal(forged); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("foreign external sender key: %v", err)
	}
	idx1, _ := ExternalProposal(h.ext, 1, h.groupID, g.Epoch(), &Proposal{Type: ProposalTypeAdd, Add: kp})
	if _, err := g.ReceiveProposal(idx1); !errors.Is(err, ErrUnknownSender) {
		t.Fatalf("unknown external sender index: %v", err)
	}
	stale, _ := ExternalProposal(h.ext, 0, h.groupID, g.Epoch()-1, &Proposal{Type: ProposalTypeAdd, Add: kp})
	if _, err := g.ReceiveProposal(stale); !errors.Is(err, ErrWrongEpoch) {
		t.Fatalf("stale epoch: %v", err)
	}
	wrongGroup, _ := ExternalProposal(h.ext, 0, []byte("other"), g.Epoch(), &Proposal{Type: ProposalTypeAdd, Add: kp})
	if _, err := g.ReceiveProposal(wrongGroup); !errors.Is(err, ErrWrongGroup) {
		t.Fatalf("wrong group: %v", err)
	}
	badKP := *kp
	badKP.Signature = bytes.Clone(kp.Signature)
	badKP.Signature[5] ^= 1
	withBadKP, _ := ExternalProposal(h.ext, 0, h.groupID, g.Epoch(), &Proposal{Type: ProposalTypeAdd, Add: &badKP})
	if _, err := g.ReceiveProposal(withBadKP); !errors.Is(err, ErrInvalidProposal) || !errors.Is(err, ErrBadSignature) {
		t.Fatalf("bad key package signature: %v", err)
	}
	rmMissing, _ := ExternalProposal(h.ext, 0, h.groupID, g.Epoch(), &Proposal{Type: ProposalTypeRemove, Remove: 7})
	if _, err := g.ReceiveProposal(rmMissing); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("remove of missing leaf: %v", err)
	}
	if len(g.PendingProposals()) != 0 {
		t.Fatal("rejected proposals were queued")
	}
	if _, err := g.ReceiveProposal(good); err != nil {
		t.Fatal(err)
	}
	if _, err := g.ReceiveProposal(good); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("duplicate: %v", err)
	}
	_ = b
}

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := GenerateSignatureKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestTamperedCommitsRejected(t *testing.T) {
	h, a, b := twoMembers(t)
	c := h.proposeAdd()
	h.commitBy(a)
	h.proposeRemove(c)
	ga, gb := h.members[a], h.members[b]
	res, err := ga.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ga.ProcessCommit(res.Commit); !errors.Is(err, ErrOwnCommit) {
		t.Fatalf("own commit: %v", err)
	}
	if _, err := h.members[c].ProcessCommit(res.Commit); !errors.Is(err, ErrRemoved) {
		t.Fatalf("removed member: %v", err)
	}
	decode := func() *PublicMessage {
		m, err := DecodeMLSMessage(res.Commit)
		if err != nil {
			t.Fatal(err)
		}
		return m.Public
	}
	pm := decode()
	pm.MembershipTag[0] ^= 1
	if _, err := gb.ProcessCommit((&MLSMessage{WireFormat: WireFormatPublicMessage, Public: pm}).Marshal()); !errors.Is(err, ErrBadMembershipTag) {
		t.Fatalf("membership tag: %v", err)
	}
	pm = decode()
	pm.ConfirmationTag[0] ^= 1
	pm.MembershipTag = mac(ga.secrets.membership, pm.tbm(ga.ctxBytes))
	if _, err := gb.ProcessCommit((&MLSMessage{WireFormat: WireFormatPublicMessage, Public: pm}).Marshal()); !errors.Is(err, ErrBadConfirmationTag) {
		t.Fatalf("confirmation tag: %v", err)
	}
	pm = decode()
	pm.Signature[len(pm.Signature)-1] ^= 1
	pm.MembershipTag = mac(ga.secrets.membership, pm.tbm(ga.ctxBytes))
	if _, err := gb.ProcessCommit((&MLSMessage{WireFormat: WireFormatPublicMessage, Public: pm}).Marshal()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("signature: %v", err)
	}
	pm = decode()
	pm.Content.Commit.Path = nil
	if _, err := gb.ProcessCommit(reframe(t, ga, pm)); !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("remove without path: %v", err)
	}
	pm = decode()
	pm.Content.Commit.Path.LeafNode.ParentHash[0] ^= 1
	if _, err := gb.ProcessCommit(reframe(t, ga, pm)); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("leaf changed after signing: %v", err)
	}
	pm = decode()
	pm.Content.Commit.Path.Nodes[0].Secrets[0].Ciphertext[3] ^= 1
	if _, err := gb.ProcessCommit(reframe(t, ga, pm)); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("path ciphertext: %v", err)
	}
	pm = decode()
	pm.Content.Commit.Proposals[0].Proposal = &Proposal{Type: ProposalTypeRemove, Remove: 1}
	if _, err := gb.ProcessCommit(reframe(t, ga, pm)); !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("inline proposal: %v", err)
	}
	// A revoked proposal can no longer be committed by reference.
	ref := gb.PendingProposals()[0].Ref
	gb2 := *gb
	gb2.pending = append([]pendingProposal(nil), gb.pending...)
	if err := gb2.RevokeProposal(ref); err != nil {
		t.Fatal(err)
	}
	if err := gb2.RevokeProposal(ref); !errors.Is(err, ErrUnknownProposal) {
		t.Fatalf("double revoke: %v", err)
	}
	if _, err := gb2.ProcessCommit(res.Commit); !errors.Is(err, ErrUnknownProposal) {
		t.Fatalf("commit of revoked proposal: %v", err)
	}
	// The genuine commit still works after all of that.
	if _, err := gb.ProcessCommit(res.Commit); err != nil {
		t.Fatal(err)
	}
}

func TestTamperedWelcomeAndTreeRejected(t *testing.T) {
	h, a, _ := twoMembers(t)
	h.proposeAdd()
	var bundle *KeyPackageBundle
	for _, b := range h.pendKP {
		bundle = b
	}
	res, err := h.members[a].Commit()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := JoinWelcome(res.Welcome, newBundle(t, 5)); !errors.Is(err, ErrNoMatchingKeyPackage) {
		t.Fatalf("foreign key package: %v", err)
	}
	w, _ := DecodeWelcome(res.Welcome)
	w.EncryptedGroupInfo[10] ^= 1
	if _, err := JoinWelcome(w.Marshal(), bundle); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("group info ciphertext: %v", err)
	}
	g, err := JoinWelcome(res.Welcome, bundle)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g.EpochAuthenticator(), res.Next.EpochAuthenticator()) {
		t.Fatal("joiner disagrees")
	}

	tr := res.Next.tree
	gid, th := res.Next.ctx.GroupID, res.Next.ctx.TreeHash
	if err := verifyTree(tr.clone(), gid, th); err != nil {
		t.Fatal(err)
	}
	bad := tr.clone()
	bad.nodes[0].leaf.Credential.Identity = []byte("mallory")
	if err := verifyTree(bad, gid, th); !errors.Is(err, ErrTreeHash) {
		t.Fatalf("changed leaf: %v", err)
	}
	if err := verifyTree(bad, gid, bad.rootHash()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("changed leaf with matching hash: %v", err)
	}
	// Break the parent hash chain of the committer's path (created by the remove-free add commit
	// above there is none, so commit a remove first).
	h.commitBy(a)
	var victim uint64
	for u := range h.members {
		if u != a {
			victim = u
			break
		}
	}
	h.proposeRemove(victim)
	res2, err := h.members[a].Commit()
	if err != nil {
		t.Fatal(err)
	}
	tr2 := res2.Next.tree.clone()
	found := false
	for x := 1; x < len(tr2.nodes); x += 2 {
		if p := tr2.nodes[x].parent; p != nil {
			p.EncryptionKey = bytes.Clone(p.EncryptionKey)
			p.EncryptionKey[40] ^= 1
			found = true
			break
		}
	}
	if !found {
		t.Fatal("no parent node to tamper with")
	}
	if err := verifyTree(tr2, res2.Next.ctx.GroupID, tr2.rootHash()); !errors.Is(err, ErrParentHash) {
		t.Fatalf("broken parent hash: %v", err)
	}
}

// Leaf indexes of 2^31 and above must not wrap onto real leaves.
func TestHugeLeafIndexesDoNotAlias(t *testing.T) {
	h, a, _ := twoMembers(t)
	g := h.members[a]
	for _, i := range []uint32{1 << 31, 1<<31 + 1, 0xffffffff} {
		if g.tree.leaf(i) != nil {
			t.Fatalf("leaf(%#x) aliases a real leaf", i)
		}
		msg, _ := ExternalProposal(h.ext, 0, h.groupID, g.Epoch(), &Proposal{Type: ProposalTypeRemove, Remove: i})
		if _, err := g.ReceiveProposal(msg); !errors.Is(err, ErrInvalidProposal) {
			t.Fatalf("remove %#x: %v", i, err)
		}
	}
}
