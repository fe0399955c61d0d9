package dave

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cordage/cordage/connections/voice/mls"
	"github.com/cordage/cordage/events/voice"
)

func TestSessionTwoMembers(t *testing.T) {
	c := newTestCall(t)
	a := c.join(1)
	c.run()
	if a.Epoch() != 0 || a.PrivacyCode() != "" || a.EpochAuthenticator() != nil {
		t.Fatalf("alone: epoch %d, code %q", a.Epoch(), a.PrivacyCode())
	}
	if _, err := a.Encrypt(nil, []byte("opus")); !errors.Is(err, ErrNoKey) {
		t.Fatalf("encrypt before any group: %v", err)
	}
	c.join(2)
	c.run()
	c.noErrors()
	if c.epoch != 1 {
		t.Fatalf("gateway epoch %d", c.epoch)
	}
	c.check()
	c.exchange()
}

func TestSessionGrowAndShrink(t *testing.T) {
	c := newTestCall(t)
	for id := uint64(1); id <= 6; id++ {
		c.join(id)
		c.run()
		if id > 1 {
			c.check()
			c.exchange()
		}
	}
	for _, id := range []uint64{3, 1, 6, 4} {
		c.leave(id)
		c.run()
		c.check()
		c.exchange()
	}
	c.noErrors()
	if got := len(c.holders()); got != 2 {
		t.Fatalf("%d members left", got)
	}
}

// Several members join before any commit wins: the first pending member's commit creates the
// group for all of them, the others join from welcomes.
func TestSessionInitialCreationWithThree(t *testing.T) {
	for _, welcomeFirst := range []bool{false, true} {
		c := newTestCall(t)
		// With the welcome first, joiners see the announce of the commit that added them
		// afterwards, for an epoch they are past, and ignore it.
		c.welcomeFirst = welcomeFirst
		c.join(1)
		c.join(2)
		c.join(3)
		c.run()
		c.noErrors()
		c.check()
		c.exchange()
		c.join(4)
		c.run()
		c.noErrors()
		c.check()
		c.exchange()
	}
}

// Every member commits each proposal; the gateway announces the first, and the others adopt it.
// Reversing the delivery order makes the newest member win instead of the oldest.
func TestSessionCommitRace(t *testing.T) {
	c := newTestCall(t)
	c.join(1)
	c.join(2)
	c.run()
	c.join(3)
	c.run()
	c.commitOrder = func(ids []uint64) []uint64 {
		for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
			ids[i], ids[j] = ids[j], ids[i]
		}
		return ids
	}
	commits := c.commits
	c.join(4)
	c.run()
	// Members 1, 2 and 3 each committed the Add of 4; member 3 got the proposal first and won.
	if got := c.commits - commits; got != 3 {
		t.Fatalf("%d commits for one add", got)
	}
	if w := c.winners[len(c.winners)-1]; w != 3 {
		t.Fatalf("member %d won", w)
	}
	c.check()
	c.exchange()
	c.leave(2)
	c.run()
	c.noErrors()
	c.check()
	c.exchange()
}

// A proposal can be revoked before any commit includes it; the next commit leaves it out.
func TestSessionRevoke(t *testing.T) {
	c := newTestCall(t)
	c.join(1)
	c.join(2)
	c.run()
	c.hold = true
	c.join(3)
	c.join(4)
	c.run()
	c.hold = false
	c.leave(3) // its Add is revoked; members re-commit the Add of 4 alone
	c.run()
	c.noErrors()
	got := slices.Sorted(slices.Values(c.holders()))
	if want := []uint64{1, 2, 4}; !slices.Equal(got, want) {
		t.Fatalf("gateway leaves %v", c.holders())
	}
	c.check()
	c.exchange()
}

// A member that cannot process the announced commit sends op 31 and a new key package; the
// gateway removes and re-adds it, and it comes back through a welcome.
func TestSessionInvalidCommitRecovery(t *testing.T) {
	c := newTestCall(t)
	c.join(1)
	c.join(2)
	c.run()
	c.corrupt[2] = true
	c.join(3)
	c.run()
	errs := c.errs[2]
	if len(errs) != 1 || !errors.Is(errs[0], ErrCommit) || !errors.Is(errs[0], mls.ErrBadMembershipTag) {
		t.Fatalf("member 2 errors: %v", errs)
	}
	var se *SessionError
	if !errors.As(errs[0], &se) || se.Op != voice.OpDAVEMLSAnnounceCommit || se.TransitionID == 0 {
		t.Fatalf("session error %#v", se)
	}
	delete(c.errs, 2)
	c.noErrors()
	if c.epoch != 3 {
		t.Fatalf("gateway epoch %d, want 3 (add, then remove and re-add)", c.epoch)
	}
	c.check()
	c.exchange()
}

// A welcome that cannot be used is also reported with op 31 and recovered from.
func TestSessionInvalidWelcomeRecovery(t *testing.T) {
	c := newTestCall(t)
	c.join(1)
	c.join(2)
	c.run()
	s := c.session(2)
	msgs, err := s.HandleBinary(voice.BinaryMessage{Op: voice.OpDAVEMLSWelcome, Payload: []byte{0, 9, 1, 2, 3}})
	// Established: a stray welcome is ignored, not answered.
	if err != nil || len(msgs) != 0 {
		t.Fatalf("welcome while established: %v %v", msgs, err)
	}
	// A member that is pending answers a bad welcome with op 31 then op 26.
	p, err := NewSession(SessionConfig{UserID: 9, ChannelID: c.channel, Clock: c.clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.SetProtocolVersion(1); err != nil {
		t.Fatal(err)
	}
	if _, err := p.HandleBinary(voice.BinaryMessage{Op: voice.OpDAVEMLSExternalSender, Payload: c.op25}); err != nil {
		t.Fatal(err)
	}
	msgs, err = p.HandleBinary(voice.BinaryMessage{Op: voice.OpDAVEMLSWelcome, Payload: []byte{0, 9, 1, 2, 3}})
	if !errors.Is(err, ErrWelcome) {
		t.Fatalf("bad welcome: %v", err)
	}
	if len(msgs) != 2 || msgs[0].Op != voice.OpDAVEMLSInvalidCommitWelcome || msgs[1].Op != voice.OpDAVEMLSKeyPackage {
		t.Fatalf("bad welcome answered with %v", msgs)
	}
	if msgs[0].JSON.(voice.DAVEInvalidCommitWelcome).TransitionID != 9 {
		t.Fatalf("op 31 %v", msgs[0].JSON)
	}
}

// A welcome into a group whose external sender is not the gateway's is refused.
func TestSessionWelcomeForeignExternalSender(t *testing.T) {
	c := newTestCall(t)
	c.join(1)
	c.run()
	// Member 2 hears of another external sender than the one the group was made with.
	other := newTestCall(t)
	c.members[2] = &testMember{id: 2}
	s, err := NewSession(SessionConfig{UserID: 2, ChannelID: c.channel, Clock: c.clk})
	if err != nil {
		t.Fatal(err)
	}
	c.members[2].s = s
	c.order = append(c.order, 2)
	c.deliver(1, func(s *Session) ([]Message, error) { s.ClientsConnect([]uint64{2}); return nil, nil })
	c.deliver(2, func(s *Session) ([]Message, error) { s.ClientsConnect([]uint64{1, 2}); return nil, nil })
	c.deliver(2, func(s *Session) ([]Message, error) { return s.SetProtocolVersion(1) })
	c.binary(2, voice.OpDAVEMLSExternalSender, other.op25)
	// Each refusal brings a re-add with the same foreign welcome: stop after a few rounds.
	c.runFor(100)
	if !slices.ContainsFunc(c.errs[2], func(err error) bool { return errors.Is(err, ErrWelcome) }) {
		t.Fatalf("member 2 errors: %v", c.errs[2])
	}
	if c.session(2).Epoch() != 0 {
		t.Fatal("member 2 joined a group with a foreign external sender")
	}
}

// Downgrade to protocol version 0: frames go out in clear and clear frames are accepted; the
// upgrade back re-creates the group and encryption resumes.
func TestSessionDowngradeUpgrade(t *testing.T) {
	c := newTestCall(t)
	c.join(1)
	c.join(2)
	c.join(3)
	c.run()
	c.check()
	c.exchange()
	a, b := c.session(1), c.session(2)
	old, err := a.Encrypt(nil, []byte("sent before the downgrade"))
	if err != nil {
		t.Fatal(err)
	}

	c.transition(0)
	c.run()
	c.noErrors()
	for _, u := range c.order {
		if v := c.session(u).ProtocolVersion(); v != 0 {
			t.Fatalf("member %d at version %d after the downgrade", u, v)
		}
	}
	plain := []byte("plain opus")
	out, err := a.Encrypt(nil, plain)
	if err != nil || !bytes.Equal(out, plain) {
		t.Fatalf("encrypt at version 0: %q %v", out, err)
	}
	if got, err := b.Decrypt(1, nil, plain); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("decrypt clear frame at version 0: %q %v", got, err)
	}
	// Frames of the last epoch still decrypt for a while.
	if got, err := b.Decrypt(1, nil, old); err != nil || string(got) != "sent before the downgrade" {
		t.Fatalf("decrypt in-flight frame after the downgrade: %q %v", got, err)
	}

	c.upgrade()
	c.run()
	c.noErrors()
	c.check()
	c.exchange()
	// Clear frames pass for 10 s after the upgrade, then no more.
	if got, err := b.Decrypt(1, nil, plain); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("clear frame just after the upgrade: %q %v", got, err)
	}
	c.clk.Advance(KeyExpiry + time.Second)
	if _, err := b.Decrypt(1, nil, plain); err == nil {
		t.Fatal("clear frame accepted 11 s after the upgrade")
	}
	if got, err := b.Decrypt(1, nil, []byte{0xF8, 0xFF, 0xFE}); err != nil || len(got) != 3 {
		t.Fatalf("silence frame: %v", err)
	}
}

// When all others leave, the last member resets to a pending group of its own; the next member
// to join starts a new group with it.
func TestSessionSoleMemberReset(t *testing.T) {
	c := newTestCall(t)
	c.join(1)
	c.join(2)
	c.run()
	a := c.session(1)
	before := a.EpochAuthenticator()
	c.leave(2)
	c.run()
	c.noErrors()
	if a.Epoch() != 0 || a.PrivacyCode() != "" {
		t.Fatalf("after sole member reset: epoch %d code %q", a.Epoch(), a.PrivacyCode())
	}
	if _, err := a.Encrypt(nil, []byte("opus")); !errors.Is(err, ErrNoKey) {
		t.Fatalf("encrypt alone after the reset: %v", err)
	}
	c.join(3)
	c.run()
	c.noErrors()
	c.check()
	c.exchange()
	if c.epoch != 1 || bytes.Equal(a.EpochAuthenticator(), before) {
		t.Fatalf("new group epoch %d", c.epoch)
	}
}

// Frames of the previous epoch decrypt for 10 s after the new epoch's keys are installed, then
// fail; frames of the new epoch keep decrypting.
func TestSessionPreviousEpochExpiry(t *testing.T) {
	c := newTestCall(t)
	c.join(1)
	c.join(2)
	c.run()
	a, b := c.session(1), c.session(2)
	var old [][]byte
	for i := range 3 {
		f, err := a.Encrypt(nil, []byte{'o', 'l', 'd', byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, f)
	}
	c.join(3)
	c.run()
	c.check()
	if got, err := b.Decrypt(1, nil, old[0]); err != nil || string(got) != "old\x00" {
		t.Fatalf("previous epoch frame at once: %q %v", got, err)
	}
	c.clk.Advance(KeyExpiry - time.Second)
	if got, err := b.Decrypt(1, nil, old[1]); err != nil || string(got) != "old\x01" {
		t.Fatalf("previous epoch frame after 9 s: %q %v", got, err)
	}
	if _, err := b.Decrypt(1, nil, old[1]); !errors.Is(err, ErrReplay) {
		t.Fatalf("replayed frame: %v", err)
	}
	c.clk.Advance(2 * time.Second)
	_, err := b.Decrypt(1, nil, old[2])
	var fe *FrameError
	if !errors.As(err, &fe) || !errors.Is(err, ErrDecrypt) {
		t.Fatalf("previous epoch frame after 11 s: %v", err)
	}
	c.exchange()
}

// A member that left is removed; its keys stop working 10 s later.
func TestSessionRemovedSenderExpires(t *testing.T) {
	c := newTestCall(t)
	c.join(1)
	c.join(2)
	c.join(3)
	c.run()
	gone := c.session(3)
	f1, _ := gone.Encrypt(nil, []byte("one"))
	f2, _ := gone.Encrypt(nil, []byte("two"))
	c.leave(3)
	c.run()
	c.check()
	a := c.session(1)
	if got, err := a.Decrypt(3, nil, f1); err != nil || string(got) != "one" {
		t.Fatalf("frame of a member that just left: %q %v", got, err)
	}
	c.clk.Advance(KeyExpiry + time.Second)
	if _, err := a.Decrypt(3, nil, f2); !errors.Is(err, ErrNoKey) {
		t.Fatalf("frame of a member gone 11 s: %v", err)
	}
}

// Proposals the DAVE policy refuses: an Add of a user not announced in clients-connect, and
// anything from a member rather than the external sender.
func TestSessionRefusedProposals(t *testing.T) {
	c := newTestCall(t)
	c.join(1)
	c.join(2)
	c.run()
	a := c.session(1)
	key, _ := mls.GenerateSignatureKey()
	signer, _ := mls.NewSigner(key)
	kp, err := mls.NewKeyPackage(signer, []byte{0, 0, 0, 0, 0, 0, 0, 77})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mls.ExternalProposal(c.ext, 0, c.groupID, c.epoch, &mls.Proposal{Type: mls.ProposalTypeAdd, Add: kp.KeyPackage})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := voice.Proposals{Op: voice.ProposalsAppend, Messages: msg}.AppendTo(nil)
	msgs, err := a.HandleBinary(voice.BinaryMessage{Op: voice.OpDAVEMLSProposals, Payload: payload})
	if !errors.Is(err, ErrProposals) || len(msgs) != 0 {
		t.Fatalf("add of an unknown user: %v %v", msgs, err)
	}
	// Once announced, the same user may be added.
	a.ClientsConnect([]uint64{77})
	msgs, err = a.HandleBinary(voice.BinaryMessage{Op: voice.OpDAVEMLSProposals, Payload: payload})
	if err != nil || len(msgs) != 1 || msgs[0].Op != voice.OpDAVEMLSCommitWelcome {
		t.Fatalf("add of a connected user: %v %v", msgs, err)
	}
	// Revoking an unknown reference is refused.
	rev, _ := voice.Proposals{Op: voice.ProposalsRevoke, Refs: [][]byte{{1, 2, 3}}}.AppendTo(nil)
	if _, err := a.HandleBinary(voice.BinaryMessage{Op: voice.OpDAVEMLSProposals, Payload: rev}); !errors.Is(err, ErrProposals) || !errors.Is(err, mls.ErrUnknownProposal) {
		t.Fatalf("revoke of an unknown ref: %v", err)
	}
}

func TestSessionPassthroughAtVersionZero(t *testing.T) {
	s, err := NewSession(SessionConfig{UserID: 1, ChannelID: 2})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := s.SetProtocolVersion(0)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("version 0: %v %v", msgs, err)
	}
	out, err := s.Encrypt(make([]byte, 0, 64), []byte("opus"))
	if err != nil || string(out) != "opus" {
		t.Fatalf("encrypt: %q %v", out, err)
	}
	out, err = s.Decrypt(5, nil, []byte("opus"))
	if err != nil || string(out) != "opus" {
		t.Fatalf("decrypt: %q %v", out, err)
	}
	if _, err := s.SetProtocolVersion(2); !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("version 2: %v", err)
	}
	msgs, err = s.SetProtocolVersion(1)
	if err != nil || len(msgs) != 1 || msgs[0].Op != voice.OpDAVEMLSKeyPackage {
		t.Fatalf("version 1: %v %v", msgs, err)
	}
	if _, err := mls.DecodeKeyPackage(msgs[0].Binary); err != nil {
		t.Fatalf("op 26 is not a bare key package: %v", err)
	}
	if _, err := s.Decrypt(5, nil, []byte("opus")); err == nil {
		t.Fatal("clear frame accepted at version 1")
	}
	if out, err := s.Encrypt(nil, []byte{0xF8, 0xFF, 0xFE}); err != nil || len(out) != 3 {
		t.Fatalf("silence at version 1 without keys: %v", err)
	}
}

func TestSessionBadJSON(t *testing.T) {
	s, _ := NewSession(SessionConfig{UserID: 1, ChannelID: 2})
	for _, op := range []voice.Op{voice.OpDAVEPrepareTransition, voice.OpDAVEExecuteTransition, voice.OpDAVEPrepareEpoch} {
		if _, err := s.HandleJSON(op, []byte(`{"transition_id": "x"`)); err == nil {
			t.Fatalf("op %v accepted bad JSON", op)
		}
	}
	if _, err := s.HandleJSON(voice.OpHello, []byte(`{}`)); err == nil {
		t.Fatal("op 8 accepted")
	}
	if _, err := s.HandleBinary(voice.BinaryMessage{Op: voice.OpDAVEMLSKeyPackage}); err == nil {
		t.Fatal("op 26 accepted from the server")
	}
}

func TestDisplayableCode(t *testing.T) {
	data := make([]byte, 32)
	for i := range data {
		data[i] = byte(i * 37)
	}
	code, err := DisplayableCode(data, 30, 5)
	if err != nil {
		t.Fatal(err)
	}
	// Group 1: bytes 00 25 4a 6f 94 = 0x00254a6f94 = 625635220 → 35220.
	if len(code) != 30 || code[:5] != "35220" {
		t.Fatalf("code %q", code)
	}
	if _, err := DisplayableCode(data[:20], 30, 5); err == nil {
		t.Fatal("short input accepted")
	}
	if _, err := DisplayableCode(data, 30, 8); err == nil {
		t.Fatal("group of 8 accepted")
	}
	zero, _ := DisplayableCode(make([]byte, 10), 10, 5)
	if zero != "0000000000" {
		t.Fatalf("zeros: %q", zero)
	}
}

// A downgrade and an upgrade that keeps the group (op 21 to version 1, no new epoch) resume the
// same encryptor: nonces go on from where they were, never reusing one under the epoch's key.
func TestSessionUpgradeWithRetainedGroupKeepsNonces(t *testing.T) {
	c := newTestCall(t)
	c.join(1)
	c.join(2)
	c.run()
	a := c.session(1)
	before, err := a.Encrypt(nil, []byte("before"))
	if err != nil {
		t.Fatal(err)
	}
	c.transition(0)
	c.run()
	if a.ProtocolVersion() != 0 {
		t.Fatal("not downgraded")
	}
	c.transition(1)
	c.run()
	c.noErrors()
	c.check()
	after, err := a.Encrypt(nil, []byte("after"))
	if err != nil {
		t.Fatal(err)
	}
	fb, _ := ParseFrame(before)
	fa, _ := ParseFrame(after)
	if fa.Nonce != fb.Nonce+1 {
		t.Fatalf("nonce %d after %d: the encryptor restarted", fa.Nonce, fb.Nonce)
	}
	c.exchange()
}

// A version-only transition (op 21) prepared before a commit and executed after it leaves the
// sender on the new epoch.
func TestSessionVersionTransitionAcrossCommit(t *testing.T) {
	c := newTestCall(t)
	c.join(1)
	c.join(2)
	c.run()
	c.json(1, voice.OpDAVEPrepareTransition, voice.DAVEPrepareTransition{ProtocolVersion: 1, TransitionID: 50})
	c.run()
	c.join(3)
	c.run()
	c.json(1, voice.OpDAVEExecuteTransition, voice.DAVEExecuteTransition{TransitionID: 50})
	c.run()
	c.noErrors()
	c.check()
	c.exchange()
}
