package voicesim

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/voice"
)

func (c *testClient) sendBinary(op voice.Op, payload []byte) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, voice.AppendClientBinary(nil, op, payload)); err != nil {
		c.t.Fatal(err)
	}
}

// awaitBinary returns the next binary message with op, skipping JSON messages; it fails on a
// binary message with another op.
func (c *testClient) awaitBinary(op voice.Op) voice.BinaryMessage {
	c.t.Helper()
	for {
		m := c.next()
		if m.Closed {
			c.t.Fatalf("connection closed (code %d) while waiting for %s", m.Code, op)
		}
		if m.Bin == nil {
			continue
		}
		if m.Bin.Op != op {
			c.t.Fatalf("got binary %s, want %s", m.Bin.Op, op)
		}
		return *m.Bin
	}
}

func transitionID(t *testing.T, env voice.Envelope) uint16 {
	t.Helper()
	var v struct {
		TransitionID    uint16 `json:"transition_id"`
		ProtocolVersion int    `json:"protocol_version"`
	}
	if err := env.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.TransitionID
}

func groupID(channel events.Snowflake) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(channel))
}

// TestDAVEFlowThroughTheVoiceServer drives a DAVE group of two through the voice server: external
// sender on join, key packages, proposals to each pending group, the first commit winning,
// announce-commit to the committer and the welcome to the joiner, ready, execute; a resume that
// replays a binary message; DAVE frames relayed between the members; sole-member reset when one
// leaves.
func TestDAVEFlowThroughTheVoiceServer(t *testing.T) {
	srv := newServer(t)
	a := newClient(t, srv, 10)
	a.join(1, voice.ModeAES256GCMRTPSize)
	a.speak()
	seqBefore := a.lastSeq
	sender := a.awaitBinary(voice.OpDAVEMLSExternalSender)
	if int64(sender.Seq) != seqBefore+1 {
		t.Fatalf("op 25 seq %d after JSON seq %d: one counter for both", sender.Seq, seqBefore)
	}
	es, err := voice.ParseExternalSender(sender.Payload)
	if err != nil || len(es.SignatureKey) != 65 {
		t.Fatalf("external sender %+v %v", es, err)
	}
	b := newClient(t, srv, 20)
	b.join(1, voice.ModeXChaCha20Poly1305RTPSize)
	b.speak()
	if s2 := b.awaitBinary(voice.OpDAVEMLSExternalSender); !bytes.Equal(s2.Payload, sender.Payload) {
		t.Fatal("the two members got different external senders")
	}
	waitSpoke(t, srv, 10, 20)

	kpA, refA := keyPackage(t, 10)
	kpB, refB := keyPackage(t, 20)
	a.sendBinary(voice.OpDAVEMLSKeyPackage, kpA)
	waitLedger(t, srv, func(l *Ledger) bool {
		r, _ := l.Session(10)
		return slices.Contains(r.Received, voice.OpDAVEMLSKeyPackage)
	})
	// a's connection drops before b's key package: the proposal for a waits in the buffer.
	if err := srv.Faults().Drop(10); err != nil {
		t.Fatal(err)
	}
	a.expectClose()
	a.close()
	b.sendBinary(voice.OpDAVEMLSKeyPackage, kpB)
	waitLedger(t, srv, func(l *Ledger) bool {
		r, _ := l.Session(10)
		return len(r.Sent) > 0 && r.Sent[len(r.Sent)-1].Op == voice.OpDAVEMLSProposals
	})
	seen := a.lastSeq
	a.dial()
	a.resume(seen)
	a.expect(voice.OpResumed)
	// The replay holds every message after seen (messages written just before the drop may not
	// have reached a), in seq order, ending with the binary op 27.
	var m wsMsg
	for want := seen + 1; ; want++ {
		m = a.next()
		got := m.Env.Seq
		if m.Bin != nil {
			got = int64(m.Bin.Seq)
		}
		if got != want {
			t.Fatalf("replay %+v, want seq %d", m, want)
		}
		if m.Bin != nil {
			break
		}
	}
	if m.Bin.Op != voice.OpDAVEMLSProposals {
		t.Fatalf("replayed binary op %s, want op 27", m.Bin.Op)
	}
	props, err := voice.ParseProposals(m.Bin.Payload)
	if err != nil || props.Op != voice.ProposalsAppend {
		t.Fatalf("proposals %+v %v", props, err)
	}
	// b got a's Add too (its own pending group); both could commit, a does.
	if p, err := voice.ParseProposals(b.awaitBinary(voice.OpDAVEMLSProposals).Payload); err != nil || p.Op != voice.ProposalsAppend {
		t.Fatalf("b proposals %+v %v", p, err)
	}
	commit := commitByRef(groupID(2), 0, proposalRef(props.Messages))
	a.sendBinary(voice.OpDAVEMLSCommitWelcome, voice.AppendCommitWelcome(nil, commit, welcomeFor(refB)))

	ann, err := voice.ParseTransition(a.awaitBinary(voice.OpDAVEMLSAnnounceCommit).Payload)
	if err != nil || !bytes.Equal(ann.Data, commit) || ann.TransitionID == 0 {
		t.Fatalf("announce commit %+v %v", ann, err)
	}
	wel, err := voice.ParseTransition(b.awaitBinary(voice.OpDAVEMLSWelcome).Payload)
	if err != nil || wel.TransitionID != ann.TransitionID || !bytes.Contains(wel.Data, refB) {
		t.Fatalf("welcome %+v %v", wel, err)
	}
	_ = refA
	l := srv.Ledger()
	if d := l.Calls[0].DAVE; d == nil || d.Epoch != 1 || d.Transition != ann.TransitionID || !slices.Equal(d.Members, []events.Snowflake{10, 20}) {
		t.Fatalf("dave state %+v", d)
	}
	a.send(voice.OpDAVEReadyForTransition, voice.DAVEReadyForTransition{TransitionID: ann.TransitionID})
	b.send(voice.OpDAVEReadyForTransition, voice.DAVEReadyForTransition{TransitionID: ann.TransitionID})
	for _, c := range []*testClient{a, b} {
		if id := transitionID(t, c.await(voice.OpDAVEExecuteTransition)); id != ann.TransitionID {
			t.Fatalf("execute %d, want %d", id, ann.TransitionID)
		}
	}
	if d := srv.Ledger().Calls[0].DAVE; d.Transition != 0 {
		t.Fatalf("transition still pending: %+v", d)
	}

	// Media: DAVE frames pass through the relay untouched, both ways.
	a.sendRTP(daveFrame(7))
	if p, ok := b.recvRTP(waitWall); !ok || !bytes.Equal(p.opus, daveFrame(7)) {
		t.Fatalf("b got %+v %v", p, ok)
	}
	b.sendRTP(daveFrame(8))
	if p, ok := a.recvRTP(waitWall); !ok || !bytes.Equal(p.opus, daveFrame(8)) {
		t.Fatalf("a got %+v %v", p, ok)
	}

	// b leaves: a, alone in an established group, is told to start over.
	srv.Leave(1, 20)
	if e := a.await(voice.OpDAVEPrepareEpoch); transitionID(t, e) != 0 {
		t.Fatalf("prepare epoch %s", e.D)
	}
	var pe voice.DAVEPrepareEpoch
	_ = a.await(voice.OpDAVEPrepareTransition).Decode(&pe)
	if pe.TransitionID != 0 {
		t.Fatalf("sole member reset transition %+v", pe)
	}
	// The last one leaves: the call, and its group, are over.
	srv.Leave(1, 10)
	waitLedger(t, srv, func(l *Ledger) bool { return len(l.Calls) == 0 })
}

func TestDAVEBadMessagesAreRecordedNotClosed(t *testing.T) {
	srv := newServer(t)
	a := newClient(t, srv, 10)
	a.join(1, voice.ModeAES256GCMRTPSize)
	a.awaitBinary(voice.OpDAVEMLSExternalSender)
	a.sendBinary(voice.OpDAVEMLSKeyPackage, []byte{0, 1, 0, 2, 1})
	kp, _ := keyPackage(t, 99) // someone else's identity
	a.sendBinary(voice.OpDAVEMLSKeyPackage, kp)
	a.send(voice.OpDAVEReadyForTransition, map[string]any{"nope": 1})
	a.send(voice.OpHeartbeat, voice.Heartbeat{T: 5, SeqAck: a.lastSeq})
	a.expect(voice.OpHeartbeatACK) // still open
	r, _ := srv.Ledger().Session(10)
	if len(r.DAVERejected) != 3 || r.DAVERejected[0].Op != voice.OpDAVEMLSKeyPackage || r.DAVERejected[2].Op != voice.OpDAVEReadyForTransition {
		t.Fatalf("rejected %+v", r.DAVERejected)
	}
}

func TestNonDAVEMemberGetsNoDAVEMessages(t *testing.T) {
	srv := newServer(t, WithDAVE(1, false))
	a := newClient(t, srv, 10)
	a.join(0, voice.ModeAES256GCMRTPSize)
	b := newClient(t, srv, 20)
	b.join(1, voice.ModeAES256GCMRTPSize)
	b.awaitBinary(voice.OpDAVEMLSExternalSender)
	a.send(voice.OpHeartbeat, voice.Heartbeat{T: 1, SeqAck: a.lastSeq})
	for {
		m := a.next()
		if m.Bin != nil || m.Env.Op >= voice.OpDAVEPrepareTransition {
			t.Fatalf("non-DAVE member got %+v", m)
		}
		if m.Env.Op == voice.OpHeartbeatACK {
			break
		}
	}
	if a.desc.DAVEProtocolVersion != 0 || b.desc.DAVEProtocolVersion != 1 {
		t.Fatalf("versions %d %d", a.desc.DAVEProtocolVersion, b.desc.DAVEProtocolVersion)
	}
}

// TestDAVEDowngradeUpgradeAndTimeout: a downgrade waits for ready-for-transition; a member that
// never answers is waited for only until the execute timeout (clock time); a member joining after
// the downgrade gets version 0; an upgrade starts a new group (op 24 epoch 1).
func TestDAVEDowngradeUpgradeAndTimeout(t *testing.T) {
	srv := newServer(t, WithClock(clock.Scaled(1000)), WithExecuteTimeout(2*time.Second))
	a := newClient(t, srv, 10)
	a.join(1, voice.ModeAES256GCMRTPSize)
	b := newClient(t, srv, 20)
	b.join(1, voice.ModeAES256GCMRTPSize)
	if err := srv.SetDAVEProtocolVersion(99, 0); err != ErrNoCall {
		t.Fatalf("unknown channel: %v", err)
	}
	if err := srv.SetDAVEProtocolVersion(2, 0); err != nil {
		t.Fatal(err)
	}
	var pt voice.DAVEPrepareTransition
	if err := a.await(voice.OpDAVEPrepareTransition).Decode(&pt); err != nil || pt.ProtocolVersion != 0 || pt.TransitionID == 0 {
		t.Fatalf("prepare transition %+v %v", pt, err)
	}
	b.await(voice.OpDAVEPrepareTransition)
	a.send(voice.OpDAVEReadyForTransition, voice.DAVEReadyForTransition{TransitionID: pt.TransitionID})
	// b never answers: after 2 s of clock time the transition executes anyway.
	for _, c := range []*testClient{a, b} {
		if id := transitionID(t, c.await(voice.OpDAVEExecuteTransition)); id != pt.TransitionID {
			t.Fatalf("execute %d", id)
		}
	}
	c := newClient(t, srv, 30)
	c.join(1, voice.ModeAES256GCMRTPSize)
	if c.desc.DAVEProtocolVersion != 0 {
		t.Fatalf("joined a downgraded call with version %d", c.desc.DAVEProtocolVersion)
	}
	if err := srv.SetDAVEProtocolVersion(2, 1); err != nil {
		t.Fatal(err)
	}
	var pe voice.DAVEPrepareEpoch
	if err := b.await(voice.OpDAVEPrepareEpoch).Decode(&pe); err != nil || pe.Epoch != 1 || pe.ProtocolVersion != 1 {
		t.Fatalf("prepare epoch %+v %v", pe, err)
	}
	if d := srv.Ledger().Calls[0].DAVE; d.ProtocolVersion != 1 {
		t.Fatalf("dave %+v", d)
	}
}

func TestDAVEControlsWithoutDAVE(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	a := newClient(t, srv, 10)
	a.join(1, voice.ModeAES256GCMRTPSize)
	if err := srv.SetDAVEProtocolVersion(2, 0); err != ErrNoDAVE {
		t.Fatalf("SetDAVEProtocolVersion: %v", err)
	}
	if l := srv.Ledger(); len(l.Calls) != 1 || l.Calls[0].DAVE != nil || !slices.Equal(l.Calls[0].Members, []events.Snowflake{10}) {
		t.Fatalf("calls %+v", l.Calls)
	}
}
