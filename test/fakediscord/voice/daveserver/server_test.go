package daveserver

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cordage/cordage/events/voice"
	"github.com/google/go-cmp/cmp"
)

func TestNewConfig(t *testing.T) {
	if _, err := New(Config{ProtocolVersion: 1}); err == nil {
		t.Fatal("New without ChannelID succeeded")
	}
	if _, err := New(Config{ChannelID: 1, ProtocolVersion: 2}); err == nil {
		t.Fatal("New with protocol version 2 succeeded")
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{ChannelID: 1, Key: p384}); err == nil {
		t.Fatal("New with a P-384 key succeeded")
	}
	key := newSigKey(t)
	withKey, err := New(Config{ChannelID: 1, ProtocolVersion: 1, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if es, _ := voice.ParseExternalSender(withKey.ExternalSender()); !bytes.Equal(es.SignatureKey, sigPub(t, key)) {
		t.Fatal("op 25 does not carry Config.Key")
	}
	if o := withKey.SetProtocolVersion(2); len(o) != 0 || withKey.ProtocolVersion() != 1 {
		t.Fatalf("protocol version 2 accepted: %v", o)
	}
	withKey.lastTID = 0xffff
	if id := withKey.nextTID(); id != 1 {
		t.Fatalf("transition id after 0xffff is %d, want 1 (0 means execute now)", id)
	}
	s, err := New(Config{ChannelID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if outs := s.Join(5, 1); len(outs) != 0 {
		t.Fatalf("a call without DAVE sent %v", outs)
	}
}

func TestJoinSendsExternalSender(t *testing.T) {
	h := newHarness(t)
	outs := h.join(7)
	if len(outs) != 1 || outs[0].Op != voice.OpDAVEMLSExternalSender || !slices.Equal(outs[0].To, []uint64{7}) {
		t.Fatalf("join sent %+v, want one op 25 to 7", outs)
	}
	es, err := voice.ParseExternalSender(outs[0].Binary)
	if err != nil {
		t.Fatal(err)
	}
	if len(es.SignatureKey) != 65 || es.SignatureKey[0] != 4 || len(es.Identity) != 8 {
		t.Fatalf("external sender %x / %x", es.SignatureKey, es.Identity)
	}
	if outs := h.s.Join(8, 0); len(outs) != 0 {
		t.Fatalf("a client without DAVE got %v", outs)
	}
	if _, err := h.s.HandleBinary(8, voice.BinaryMessage{Op: voice.OpDAVEMLSKeyPackage}); !errors.Is(err, ErrNotMember) {
		t.Fatalf("key package from a client without DAVE: %v", err)
	}
}

func TestInitialGroupFirstCommitWins(t *testing.T) {
	h := newHarness(t)
	h.join(1)
	if outs := h.sendKP(1); len(outs) != 0 {
		t.Fatalf("a lone key package produced %v", outs)
	}
	h.join(2)
	outs := h.sendKP(2)
	// Each pending member gets the other's Add (never its own), at epoch 0.
	for _, u := range []uint64{1, 2} {
		if got := len(find(outs, voice.OpDAVEMLSProposals, u)); got != 1 {
			t.Fatalf("user %d got %d op 27", u, got)
		}
		q := h.clients[u].queue
		if len(q) != 1 || !q[0].add || q[0].epoch != 0 || !bytes.Equal(q[0].groupID, h.groupID()) {
			t.Fatalf("user %d queue %+v", u, q)
		}
		if other := 3 - u; !bytes.Equal(q[0].kp, h.clients[other].kp) {
			t.Fatalf("user %d was proposed the wrong key package", u)
		}
	}
	// Both commit; 2's arrives first and wins.
	lose := h.commitPayload(1, 0, 0)
	outs = h.mustCommit(2, 0, 0)
	ann := find(outs, voice.OpDAVEMLSAnnounceCommit, 2)
	if len(ann) != 1 || !slices.Equal(ann[0].To, []uint64{2}) {
		t.Fatalf("announce %+v, want only to the committer", ann)
	}
	tr, err := voice.ParseTransition(ann[0].Binary)
	if err != nil || tr.TransitionID == 0 {
		t.Fatalf("announce transition %v %v", tr, err)
	}
	wel := find(outs, voice.OpDAVEMLSWelcome, 1)
	if len(wel) != 1 || !slices.Equal(wel[0].To, []uint64{1}) {
		t.Fatalf("welcome %+v, want one to user 1", wel)
	}
	wt, _ := voice.ParseTransition(wel[0].Binary)
	if wt.TransitionID != tr.TransitionID {
		t.Fatalf("welcome transition %d, commit transition %d", wt.TransitionID, tr.TransitionID)
	}
	if got, _ := h.s.LeafIndex(2); got != 0 {
		t.Fatalf("committer at leaf %d", got)
	}
	if diff := cmp.Diff([]uint64{2, 1}, h.s.Members()); diff != "" || h.s.Epoch() != 1 {
		t.Fatalf("members (-want +got) %s, epoch %d", diff, h.s.Epoch())
	}
	// The loser's commit is for an epoch that ended: dropped, no error.
	o, err := h.s.HandleBinary(1, voice.BinaryMessage{Op: voice.OpDAVEMLSCommitWelcome, Payload: lose})
	if err != nil || len(o) != 0 {
		t.Fatalf("losing commit gave %v, %v", o, err)
	}
	// Execute once both are ready, to both.
	if o := h.jsonOp(2, voice.OpDAVEReadyForTransition, tr.TransitionID); len(o) != 0 {
		t.Fatalf("execute before everyone was ready: %v", o)
	}
	o = h.jsonOp(1, voice.OpDAVEReadyForTransition, tr.TransitionID)
	ex := find(o, voice.OpDAVEExecuteTransition, 1)
	if len(ex) != 1 || ex[0].JSON != (voice.DAVEExecuteTransition{TransitionID: tr.TransitionID}) {
		t.Fatalf("execute %+v", o)
	}
	if !slices.Equal(sorted(ex[0].To), []uint64{1, 2}) {
		t.Fatalf("execute to %v", ex[0].To)
	}
	if _, ok := h.s.TransitionPending(); ok {
		t.Fatal("transition still pending after execute")
	}
}

func sorted(s []uint64) []uint64 { s = slices.Clone(s); slices.Sort(s); return s }

func TestLeafIndexTracking(t *testing.T) {
	h := newHarness(t)
	h.establish(1, 2, 3, 4)
	want := map[uint64]uint32{1: 0, 2: 1, 3: 2, 4: 3}
	checkLeaves := func(step string) {
		t.Helper()
		for u, l := range want {
			if got, ok := h.s.LeafIndex(u); !ok || got != l {
				t.Fatalf("%s: user %d at leaf %d (%v), want %d", step, u, got, ok, l)
			}
		}
		if len(h.s.Members()) != len(want) {
			t.Fatalf("%s: members %v, want %v", step, h.s.Members(), want)
		}
	}
	checkLeaves("four joined")

	// 2 leaves: a Remove of leaf 1 to the three others; 3 commits it (with a path).
	h.leave(2)
	for _, u := range []uint64{1, 3, 4} {
		q := h.clients[u].queue
		if len(q) != 1 || q[0].add || q[0].removed != 1 || q[0].epoch != h.s.Epoch() {
			t.Fatalf("user %d queue after a leave: %+v", u, q)
		}
	}
	h.mustCommit(3, 2, h.s.Epoch())
	h.readyAll(1, 3, 4)
	delete(want, 2)
	checkLeaves("2 left")

	// 5 joins into the blank leaf 1.
	h.join(5)
	h.sendKP(5)
	h.mustCommit(4, 3, h.s.Epoch())
	h.readyAll(1, 3, 4, 5)
	want[5] = 1
	checkLeaves("5 joined")

	// 4 (the rightmost) leaves and 6 joins before anyone commits: one commit removes leaf 3,
	// truncates, and adds 6 at leaf 3 again.
	h.leave(4)
	h.join(6)
	h.sendKP(6)
	if q := h.clients[1].queue; len(q) != 2 {
		t.Fatalf("queue %+v, want a remove and an add", q)
	}
	h.mustCommit(1, 0, h.s.Epoch())
	h.readyAll(1, 3, 5, 6)
	delete(want, 4)
	want[6] = 3
	checkLeaves("4 left, 6 joined")

	// 3 and 6 leave: 6's leaf is the last, 3's becomes blank; 7 then takes leaf 2.
	h.leave(3)
	h.leave(6)
	h.mustCommit(5, 1, h.s.Epoch())
	h.readyAll(1, 5)
	delete(want, 3)
	delete(want, 6)
	checkLeaves("3 and 6 left")
	if h.s.leaves[len(h.s.leaves)-1] == 0 {
		t.Fatalf("roster %v not truncated", h.s.leaves)
	}
	h.join(7)
	h.sendKP(7)
	h.mustCommit(1, 0, h.s.Epoch())
	h.readyAll(1, 5, 7)
	want[7] = 2
	checkLeaves("7 joined")
}

func TestWelcomeRoutedByKeyPackageRef(t *testing.T) {
	h := newHarness(t)
	h.establish(1, 2)
	h.join(3)
	h.sendKP(3)
	h.join(4)
	h.sendKP(4)
	// A welcome that lists 4 first, 3 second.
	c := h.clients[1]
	refs := [][]byte{c.queue[0].ref, c.queue[1].ref}
	r3 := tRef("MLS 1.0 KeyPackage Reference", h.clients[3].kp)
	r4 := tRef("MLS 1.0 KeyPackage Reference", h.clients[4].kp)
	full := makeWelcome(r4, r3)
	p := append(makeCommit(t, commitSpec{groupID: h.groupID(), epoch: h.s.Epoch(), leaf: 0, refs: refs}), full...)
	outs, err := h.s.HandleBinary(1, voice.BinaryMessage{Op: voice.OpDAVEMLSCommitWelcome, Payload: p})
	if err != nil {
		t.Fatal(err)
	}
	for u, pos := range map[uint64]int{4: 0, 3: 1} {
		ref := [][]byte{r4, r3}[pos]
		w := find(outs, voice.OpDAVEMLSWelcome, u)
		if len(w) != 1 || !slices.Equal(w[0].To, []uint64{u}) {
			t.Fatalf("user %d welcomes %+v", u, w)
		}
		tr, _ := voice.ParseTransition(w[0].Binary)
		// Only this member's EncryptedGroupSecrets (kem bytes pos+1 in makeWelcome), same
		// encrypted group info.
		entry := (&enc{}).vec(ref).vec(bytes.Repeat([]byte{byte(pos + 1)}, 65)).vec(bytes.Repeat([]byte{0xee}, 40)).b
		want := (&enc{}).u16(2).vec(entry).vec(bytes.Repeat([]byte{0x61}, 120)).b
		if !bytes.Equal(tr.Data, want) {
			t.Fatalf("user %d welcome\n got %x\nwant %x", u, tr.Data, want)
		}
	}
	if a := find(outs, voice.OpDAVEMLSAnnounceCommit, 1); len(a) != 1 || !slices.Equal(sorted(a[0].To), []uint64{1, 2}) {
		t.Fatalf("announce %+v, want to 1 and 2", a)
	}
	if m := h.s.Members(); !slices.Equal(m, []uint64{1, 2, 3, 4}) {
		t.Fatalf("members %v", m)
	}
}

func TestWelcomeWrappedInMLSMessageAccepted(t *testing.T) {
	h := newHarness(t)
	h.join(1)
	h.sendKP(1)
	h.join(2)
	h.sendKP(2)
	c := h.clients[1]
	r2 := tRef("MLS 1.0 KeyPackage Reference", h.clients[2].kp)
	p := makeCommit(t, commitSpec{groupID: h.groupID(), leaf: 0, refs: [][]byte{c.queue[0].ref}})
	p = append(p, append([]byte{0, 1, 0, 3}, makeWelcome(r2)...)...)
	outs, err := h.s.HandleBinary(1, voice.BinaryMessage{Op: voice.OpDAVEMLSCommitWelcome, Payload: p})
	if err != nil {
		t.Fatal(err)
	}
	w := find(outs, voice.OpDAVEMLSWelcome, 2)
	if len(w) != 1 {
		t.Fatalf("welcomes %+v", outs)
	}
	if tr, _ := voice.ParseTransition(w[0].Binary); !bytes.Equal(tr.Data, makeWelcome(r2)) {
		t.Fatal("op 30 does not carry the bare welcome")
	}
}

func TestCommitRejected(t *testing.T) {
	h := newHarness(t)
	h.establish(1, 2, 3)
	h.leave(3)
	h.join(4)
	h.sendKP(4)
	epoch := h.s.Epoch()
	q := h.clients[1].queue
	if len(q) != 2 {
		t.Fatalf("queue %+v", q)
	}
	var addRef, rmRef []byte
	for _, g := range q {
		if g.add {
			addRef = g.ref
		} else {
			rmRef = g.ref
		}
	}
	sig1 := sigPub(t, h.clients[1].sig)
	w4 := makeWelcome(tRef("MLS 1.0 KeyPackage Reference", h.clients[4].kp))
	base := commitSpec{groupID: h.groupID(), epoch: epoch, leaf: 0, refs: [][]byte{rmRef, addRef}, path: true, pathUser: 1, pathSig: sig1}
	cases := []struct {
		name      string
		mod       func(*commitSpec)
		welcome   []byte
		malformed bool
	}{
		{name: "other group", mod: func(c *commitSpec) { c.groupID = []byte{1} }, welcome: w4},
		{name: "sender leaf of another user", mod: func(c *commitSpec) { c.leaf = 1 }, welcome: w4},
		{name: "sender leaf out of range", mod: func(c *commitSpec) { c.leaf = 9 }, welcome: w4},
		{name: "external sender", mod: func(c *commitSpec) { c.senderType = 2 }, welcome: w4, malformed: true},
		{name: "ref never proposed", mod: func(c *commitSpec) { c.refs = append(c.refs, bytes.Repeat([]byte{1}, 32)) }, welcome: w4},
		{name: "duplicate ref", mod: func(c *commitSpec) { c.refs = append(c.refs, addRef) }, welcome: w4},
		{name: "no refs", mod: func(c *commitSpec) { c.refs = nil }},
		{name: "inline proposal", mod: func(c *commitSpec) { c.inline = true }, welcome: w4, malformed: true},
		{name: "remove without path", mod: func(c *commitSpec) { c.path = false }, welcome: w4},
		{name: "path changes the signature key", mod: func(c *commitSpec) { c.pathSig = sigPub(t, newSigKey(t)) }, welcome: w4},
		{name: "path credential of another user", mod: func(c *commitSpec) { c.pathUser = 2 }, welcome: w4},
		{name: "welcome for another key package", welcome: makeWelcome(bytes.Repeat([]byte{3}, 32))},
		{name: "welcome with an extra secret", welcome: makeWelcome(tRef("MLS 1.0 KeyPackage Reference", h.clients[4].kp), bytes.Repeat([]byte{3}, 32))},
		{name: "welcome truncated", welcome: w4[:len(w4)-1], malformed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := base
			spec.refs = slices.Clone(base.refs)
			if tc.mod != nil {
				tc.mod(&spec)
			}
			p := append(makeCommit(t, spec), tc.welcome...)
			outs, err := h.s.HandleBinary(1, voice.BinaryMessage{Op: voice.OpDAVEMLSCommitWelcome, Payload: p})
			if !errors.Is(err, ErrCommit) || len(outs) != 0 {
				t.Fatalf("got %v, %v; want ErrCommit", outs, err)
			}
			if tc.malformed != errors.Is(err, voice.ErrMalformed) {
				t.Fatalf("malformed = %v for %v", !tc.malformed, err)
			}
			if h.s.Epoch() != epoch {
				t.Fatal("a rejected commit moved the epoch")
			}
		})
	}
	// Commits that races explain are dropped without an error: made before the last op 27
	// reached the sender, or for a later epoch (a group that a reset replaced).
	early := base
	early.refs = [][]byte{rmRef}
	future := base
	future.epoch++
	for _, spec := range []commitSpec{early, future} {
		if outs, err := h.s.HandleBinary(1, voice.BinaryMessage{Op: voice.OpDAVEMLSCommitWelcome, Payload: append(makeCommit(t, spec), w4...)}); err != nil || len(outs) != 0 {
			t.Fatalf("commit explained by a race: %v, %v", outs, err)
		}
	}
	// 2 is a member, but a commit naming leaf 0 sent by 2 is refused.
	spec := base
	p := append(makeCommit(t, spec), w4...)
	if _, err := h.s.HandleBinary(2, voice.BinaryMessage{Op: voice.OpDAVEMLSCommitWelcome, Payload: p}); !errors.Is(err, ErrCommit) {
		t.Fatalf("commit from the wrong user: %v", err)
	}
	// And the correct one still wins afterwards.
	outs, err := h.s.HandleBinary(1, voice.BinaryMessage{Op: voice.OpDAVEMLSCommitWelcome, Payload: p})
	if err != nil || len(find(outs, voice.OpDAVEMLSAnnounceCommit, 1)) != 1 {
		t.Fatalf("valid commit: %v %v", outs, err)
	}
	// During the transition a commit for the new epoch is not announced.
	h.deliver(outs)
	p2 := makeCommit(t, commitSpec{groupID: h.groupID(), epoch: h.s.Epoch(), leaf: 0, refs: [][]byte{addRef}})
	if outs, err := h.s.HandleBinary(1, voice.BinaryMessage{Op: voice.OpDAVEMLSCommitWelcome, Payload: p2}); err != nil || len(outs) != 0 {
		t.Fatalf("commit during a transition: %v, %v", outs, err)
	}
	// A revoked proposal: 5 left before its Add was committed.
	h.readyAll(1, 2, 4)
	h.join(5)
	h.sendKP(5)
	stale := h.commitPayload(1, 0, h.s.Epoch())
	h.leave(5)
	if outs, err := h.s.HandleBinary(1, voice.BinaryMessage{Op: voice.OpDAVEMLSCommitWelcome, Payload: stale}); err != nil || len(outs) != 0 {
		t.Fatalf("commit of a revoked proposal: %v, %v", outs, err)
	}
}

func TestExecuteAfterTimeout(t *testing.T) {
	h := newHarness(t)
	h.join(1)
	h.sendKP(1)
	h.join(2)
	h.sendKP(2)
	h.mustCommit(1, 0, 0)
	tid, _ := h.s.TransitionPending()
	h.jsonOp(1, voice.OpDAVEReadyForTransition, tid)
	h.jsonOp(1, voice.OpDAVEReadyForTransition, tid+1) // another transition's id: ignored
	h.clk.Advance(2*time.Second - time.Millisecond)
	if o := h.s.Tick(); len(o) != 0 {
		t.Fatalf("tick before the timeout sent %v", o)
	}
	h.clk.Advance(time.Millisecond)
	o := h.s.Tick()
	if ex := find(o, voice.OpDAVEExecuteTransition, 2); len(ex) != 1 {
		t.Fatalf("tick after the timeout sent %v", o)
	}
	if o := h.s.Tick(); len(o) != 0 {
		t.Fatalf("second tick sent %v", o)
	}
}

func TestRevokeWhenJoinerLeaves(t *testing.T) {
	h := newHarness(t)
	h.establish(1, 2)
	h.join(3)
	h.sendKP(3)
	ref := h.clients[1].queue[0].ref
	outs := h.leave(3)
	for _, u := range []uint64{1, 2} {
		r := find(outs, voice.OpDAVEMLSProposals, u)
		if len(r) != 1 {
			t.Fatalf("user %d got %v", u, outs)
		}
		p, _ := voice.ParseProposals(r[0].Binary)
		if p.Op != voice.ProposalsRevoke || len(p.Refs) != 1 || !bytes.Equal(p.Refs[0], ref) {
			t.Fatalf("user %d got %+v, want a revoke of the Add", u, p)
		}
		if len(h.clients[u].queue) != 0 {
			t.Fatalf("user %d still queues %v", u, h.clients[u].queue)
		}
	}
}

func TestInvalidCommitReAddsMember(t *testing.T) {
	h := newHarness(t)
	h.establish(1, 2, 3)
	leaf3, _ := h.s.LeafIndex(3)
	// 4 joins; the commit is announced, but 3 cannot process it.
	h.join(4)
	h.sendKP(4)
	h.mustCommit(1, 0, h.s.Epoch())
	tid, _ := h.s.TransitionPending()
	h.jsonOp(3, voice.OpDAVEMLSInvalidCommitWelcome, tid)
	outs := h.readyAll(1, 2, 4)
	if len(find(outs, voice.OpDAVEExecuteTransition, 1)) != 1 {
		t.Fatalf("no execute once the others were ready: %v", outs)
	}
	if ex := find(outs, voice.OpDAVEExecuteTransition, 1)[0]; slices.Contains(ex.To, 3) {
		t.Fatal("execute sent to the member that reset")
	}
	// After execute: a Remove of 3's stale leaf to the live members.
	for _, u := range []uint64{1, 2, 4} {
		q := h.clients[u].queue
		if len(q) != 1 || q[0].add || q[0].removed != leaf3 {
			t.Fatalf("user %d queue %+v, want Remove(%d)", u, q, leaf3)
		}
	}
	// 3's new key package: an Add in the same epoch; one commit removes and re-adds it.
	h.clients[3].queue = nil
	h.sendKP(3)
	if q := h.clients[2].queue; len(q) != 2 {
		t.Fatalf("queue %+v", q)
	}
	outs = h.mustCommit(2, 1, h.s.Epoch())
	if len(find(outs, voice.OpDAVEMLSWelcome, 3)) != 1 {
		t.Fatalf("3 was not welcomed back: %v", outs)
	}
	if l, _ := h.s.LeafIndex(3); l != leaf3 {
		t.Fatalf("3 came back at leaf %d, want %d", l, leaf3)
	}
	h.readyAll(1, 2, 3, 4)
	if m := h.s.Members(); !slices.Equal(m, []uint64{1, 2, 3, 4}) {
		t.Fatalf("members %v", m)
	}
}

func TestSoleMemberReset(t *testing.T) {
	h := newHarness(t)
	h.establish(1, 2)
	outs := h.leave(2)
	want := []Out{
		{To: []uint64{1}, Op: voice.OpDAVEPrepareEpoch, JSON: voice.DAVEPrepareEpoch{ProtocolVersion: 1, Epoch: 1}},
		{To: []uint64{1}, Op: voice.OpDAVEPrepareTransition, JSON: voice.DAVEPrepareTransition{ProtocolVersion: 1}},
	}
	if diff := cmp.Diff(want, outs); diff != "" {
		t.Fatalf("sole member reset (-want +got):\n%s", diff)
	}
	if h.s.Epoch() != 0 || len(h.s.Members()) != 0 {
		t.Fatalf("epoch %d members %v after reset", h.s.Epoch(), h.s.Members())
	}
	// The group is recreated when someone else arrives.
	h.sendKP(1)
	h.join(3)
	outs = h.sendKP(3)
	if len(find(outs, voice.OpDAVEMLSProposals, 1)) != 1 || len(find(outs, voice.OpDAVEMLSProposals, 3)) != 1 {
		t.Fatalf("no initial creation after reset: %v", outs)
	}
	h.mustCommit(3, 0, 0)
	if m := h.s.Members(); !slices.Equal(m, []uint64{3, 1}) || h.s.Epoch() != 1 {
		t.Fatalf("members %v epoch %d", m, h.s.Epoch())
	}
}

func TestRejoinIsANewSession(t *testing.T) {
	h := newHarness(t)
	h.establish(1, 2, 3)
	outs := h.join(3) // the same user identifies again: its MLS state is gone
	if len(find(outs, voice.OpDAVEMLSExternalSender, 3)) != 1 {
		t.Fatalf("rejoin got %v", outs)
	}
	if q := h.clients[1].queue; len(q) != 1 || q[0].add || q[0].removed != 2 {
		t.Fatalf("queue %+v, want Remove(2)", q)
	}
}

func TestDowngradeAndUpgrade(t *testing.T) {
	h := newHarness(t)
	h.establish(1, 2)
	outs := h.s.SetProtocolVersion(0)
	h.deliver(outs)
	prep := find(outs, voice.OpDAVEPrepareTransition, 1)
	if len(prep) != 1 {
		t.Fatalf("downgrade sent %v", outs)
	}
	pt := prep[0].JSON.(voice.DAVEPrepareTransition)
	if pt.ProtocolVersion != 0 || pt.TransitionID == 0 || !slices.Equal(sorted(prep[0].To), []uint64{1, 2}) {
		t.Fatalf("prepare %+v", prep[0])
	}
	h.jsonOp(1, voice.OpDAVEReadyForTransition, pt.TransitionID)
	outs = h.jsonOp(2, voice.OpDAVEReadyForTransition, pt.TransitionID)
	if ex := find(outs, voice.OpDAVEExecuteTransition, 1); len(ex) != 1 {
		t.Fatalf("no execute: %v", outs)
	}
	if h.s.ProtocolVersion() != 0 || len(h.s.Members()) != 0 {
		t.Fatalf("after downgrade: version %d members %v", h.s.ProtocolVersion(), h.s.Members())
	}
	if _, err := h.s.HandleBinary(1, voice.BinaryMessage{Op: voice.OpDAVEMLSKeyPackage, Payload: h.clients[1].kp}); !errors.Is(err, ErrNotMember) {
		t.Fatalf("key package while downgraded: %v", err)
	}
	// A member that joins while downgraded gets op 25 only at the upgrade.
	h.clients[3] = &fakeClient{id: 3, sig: newSigKey(t)}
	if o := h.s.Join(3, 1); len(o) != 0 {
		t.Fatalf("join while downgraded: %v", o)
	}
	outs = h.s.SetProtocolVersion(1)
	h.deliver(outs)
	if len(find(outs, voice.OpDAVEMLSExternalSender, 3)) != 1 || len(find(outs, voice.OpDAVEMLSExternalSender, 1)) != 0 {
		t.Fatalf("upgrade op 25: %v", outs)
	}
	pe := find(outs, voice.OpDAVEPrepareEpoch, 1)
	if len(pe) != 1 || pe[0].JSON.(voice.DAVEPrepareEpoch).Epoch != 1 || pe[0].JSON.(voice.DAVEPrepareEpoch).ProtocolVersion != 1 {
		t.Fatalf("upgrade op 24: %v", outs)
	}
	h.sendKP(1)
	h.sendKP(2)
	h.sendKP(3)
	h.mustCommit(2, 0, 0)
	if len(h.s.Members()) != 3 {
		t.Fatalf("members after upgrade %v", h.s.Members())
	}
}

func TestDowngradeWaitsForTransition(t *testing.T) {
	h := newHarness(t)
	h.join(1)
	h.sendKP(1)
	h.join(2)
	h.sendKP(2)
	h.mustCommit(1, 0, 0)
	if o := h.s.SetProtocolVersion(0); len(o) != 0 {
		t.Fatalf("downgrade during a commit transition sent %v at once", o)
	}
	outs := h.readyAll(1, 2)
	if len(find(outs, voice.OpDAVEExecuteTransition, 1)) != 1 || len(find(outs, voice.OpDAVEPrepareTransition, 1)) != 1 {
		t.Fatalf("want execute then the downgrade's prepare, got %v", outs)
	}
}

func TestRevokeBeforeGroupExists(t *testing.T) {
	h := newHarness(t)
	h.join(1)
	h.sendKP(1)
	h.join(2)
	h.sendKP(2)
	// 2 leaves before anyone commits: 1 must drop the Add of 2 it holds.
	outs := h.leave(2)
	if r := find(outs, voice.OpDAVEMLSProposals, 1); len(r) != 1 {
		t.Fatalf("user 1 got %v, want a revoke", outs)
	}
	if len(h.clients[1].queue) != 0 {
		t.Fatalf("user 1 still queues %+v", h.clients[1].queue)
	}
	// 3 arrives: the group is created from 1 and 3 alone.
	h.join(3)
	h.sendKP(3)
	h.mustCommit(1, 0, 0)
	if m := h.s.Members(); !slices.Equal(m, []uint64{1, 3}) {
		t.Fatalf("members %v", m)
	}
}

func TestCommitWithoutWelcomeReproposes(t *testing.T) {
	h := newHarness(t)
	h.establish(1, 2)
	h.join(3)
	h.sendKP(3)
	old := h.clients[1].queue[0]
	p := makeCommit(t, commitSpec{groupID: h.groupID(), epoch: h.s.Epoch(), leaf: 0, refs: [][]byte{old.ref}})
	outs, err := h.s.HandleBinary(1, voice.BinaryMessage{Op: voice.OpDAVEMLSCommitWelcome, Payload: p})
	if !errors.Is(err, ErrCommit) {
		t.Fatalf("commit adding without a welcome: %v", err)
	}
	h.deliver(outs)
	// Both members had the Add revoked and got it again under a new ref.
	for _, u := range []uint64{1, 2} {
		if got := len(find(outs, voice.OpDAVEMLSProposals, u)); got != 2 {
			t.Fatalf("user %d got %d op 27, want a revoke and an append", u, got)
		}
		q := h.clients[u].queue
		if len(q) != 1 || !q[0].add || !bytes.Equal(q[0].kp, old.kp) || bytes.Equal(q[0].ref, old.ref) {
			t.Fatalf("user %d queue %+v", u, q)
		}
	}
	h.mustCommit(2, 1, h.s.Epoch())
	if m := h.s.Members(); !slices.Equal(m, []uint64{1, 2, 3}) {
		t.Fatalf("members %v", m)
	}
}

// A revoke makes the server propose everything still wanted again under fresh refs, so that a
// commit made before the revoked proposal arrived (same remaining set, old refs) cannot win.
func TestRevokeRefreshesPendingProposals(t *testing.T) {
	h := newHarness(t)
	h.establish(1, 2, 3)
	h.join(4)
	h.sendKP(4)
	h.leave(3)
	var oldRemove []byte
	for _, g := range h.clients[1].queue {
		if !g.add {
			oldRemove = g.ref
		}
	}
	// A commit 1 made when it held only the Remove (before the Add of 4 reached it).
	early := makeCommit(t, commitSpec{groupID: h.groupID(), epoch: h.s.Epoch(), leaf: 0, refs: [][]byte{oldRemove},
		path: true, pathUser: 1, pathSig: sigPub(t, h.clients[1].sig)})
	outs := h.leave(4)
	for _, u := range []uint64{1, 2} {
		if got := len(find(outs, voice.OpDAVEMLSProposals, u)); got != 2 {
			t.Fatalf("user %d got %d op 27, want a revoke of both and the Remove again", u, got)
		}
		q := h.clients[u].queue
		if len(q) != 1 || q[0].add || q[0].removed != 2 || bytes.Equal(q[0].ref, oldRemove) {
			t.Fatalf("user %d queue %+v, want Remove(2) under a new ref", u, q)
		}
	}
	if outs, err := h.s.HandleBinary(1, voice.BinaryMessage{Op: voice.OpDAVEMLSCommitWelcome, Payload: early}); err != nil || len(outs) != 0 {
		t.Fatalf("commit made before the revoke: %v, %v", outs, err)
	}
	h.mustCommit(2, 1, h.s.Epoch())
	if m := h.s.Members(); !slices.Equal(m, []uint64{1, 2}) {
		t.Fatalf("members %v", m)
	}
}
