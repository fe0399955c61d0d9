package voicesim

import (
	"testing"

	"github.com/cordage/cordage/events/voice"
)

func (c *testClient) resume(seqAck int64) {
	c.send(voice.OpResume, voice.Resume{ServerID: c.guild, SessionID: c.sessID, Token: voice.Token(c.token), SeqAck: seqAck})
}

// TestResumeReplaysMissedMessages: while a's connection is down, b joins and speaks; a resumes
// with its last seq and gets Resumed, then exactly the missed messages, in order, with their
// original seqs.
func TestResumeReplaysMissedMessages(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	a := newClient(t, srv, 10)
	a.join(1, voice.ModeAES256GCMRTPSize)
	seen := a.lastSeq
	if err := srv.Faults().Drop(10); err != nil {
		t.Fatal(err)
	}
	a.expectClose()
	a.close()
	b := newClient(t, srv, 20)
	b.join(1, voice.ModeAES256GCMRTPSize)
	b.speak()
	// The messages to a are buffered: op 11, 18, 20, 5.
	waitLedger(t, srv, func(l *Ledger) bool { r, _ := l.Session(10); return len(r.Sent) == int(seen)+4 })

	a.dial()
	a.resume(seen)
	if m := a.next(); m.Env.Op != voice.OpResumed || m.Env.HasSeq {
		t.Fatalf("after resume %+v, want Resumed without seq", m)
	}
	want := []voice.Op{voice.OpClientsConnect, voice.OpClientFlags, voice.OpClientPlatform, voice.OpSpeaking}
	for i, op := range want {
		m := a.next()
		if m.Env.Op != op || m.Env.Seq != seen+int64(i)+1 {
			t.Fatalf("replay %d: %+v, want %s seq %d", i, m, op, seen+int64(i)+1)
		}
	}
	// The session goes on: a new message follows the replay.
	srv.Leave(1, 20)
	if m := a.expect(voice.OpClientDisconnect); m.Seq != seen+5 {
		t.Fatalf("seq after replay %d", m.Seq)
	}
	r, _ := srv.Ledger().Session(10)
	if len(r.Resumes) != 1 || !r.Resumes[0].Accepted || r.Resumes[0].SeqAck != seen || len(r.Resumes[0].Replayed) != 4 {
		t.Fatalf("resumes %+v", r.Resumes)
	}
	if len(r.Connections) != 2 || r.Connections[0].End != "dropped" || r.Connections[1].End != "" {
		t.Fatalf("connections %+v", r.Connections)
	}
	for _, m := range r.Sent[seen : int(seen)+4] {
		if m.Replayed != 1 || m.Written != 1 {
			t.Fatalf("sent %+v", m)
		}
	}
}

// TestDroppedMessageComesBackOnResume: a dropped message leaves a seq gap; a resume from before
// the gap, on a new connection while the old one is still open, replays it and the old
// connection is cut.
func TestDroppedMessageComesBackOnResume(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	a := newClient(t, srv, 10)
	a.join(1, voice.ModeAES256GCMRTPSize)
	seen := a.lastSeq
	_ = srv.Faults().DropWS(10, 1)
	_ = srv.Faults().Send(10, 16, map[string]any{"n": 1})
	_ = srv.Faults().Send(10, 16, map[string]any{"n": 2})
	if m := a.next(); m.Env.Seq != seen+2 {
		t.Fatalf("after a dropped message got seq %d, want %d", m.Env.Seq, seen+2)
	}
	old := a
	a2 := &testClient{t: t, srv: srv, guild: 1, ch: 2, user: 10, sessID: a.sessID, token: a.token}
	a2.dial()
	t.Cleanup(a2.closeAll)
	a2.resume(seen)
	a2.expect(voice.OpResumed)
	for _, want := range []int64{seen + 1, seen + 2} {
		if m := a2.next(); m.Env.Seq != want || m.Env.Op != 16 {
			t.Fatalf("replay %+v, want seq %d", m, want)
		}
	}
	old.expectClose()
	r, _ := srv.Ledger().Session(10)
	if !r.Sent[seen].Dropped || r.Sent[seen].Replayed != 1 || r.Connections[0].End != "dropped" {
		t.Fatalf("ledger %+v", r)
	}
}

func TestResumeRefused(t *testing.T) {
	t.Run("unknown token", func(t *testing.T) {
		srv := newServer(t, WithDAVE(0, false))
		c := newClient(t, srv, 10)
		c.join(1, voice.ModeAES256GCMRTPSize)
		c2 := &testClient{t: t, srv: srv, guild: 1, ch: 2, user: 10, sessID: c.sessID, token: "nope"}
		c2.dial()
		t.Cleanup(c2.closeAll)
		c2.resume(1)
		if code := c2.expectClose(); code != 4006 {
			t.Fatalf("close %d", code)
		}
	})
	t.Run("seq beyond the buffer", func(t *testing.T) {
		srv := newServer(t, WithDAVE(0, false), WithReplayLimit(2))
		c := newClient(t, srv, 10)
		c.join(1, voice.ModeAES256GCMRTPSize) // seqs 1..3; the buffer holds 2 and 3
		_ = srv.Faults().Drop(10)
		c.expectClose()
		c.close()
		c.dial()
		c.resume(0)
		if code := c.expectClose(); code != 4006 {
			t.Fatalf("close %d", code)
		}
		r, _ := srv.Ledger().Session(10)
		if len(r.Resumes) != 1 || r.Resumes[0].Accepted || r.Resumes[0].Code != 4006 || r.Ended == "" {
			t.Fatalf("session %+v", r)
		}
	})
	t.Run("seq never sent", func(t *testing.T) {
		srv := newServer(t, WithDAVE(0, false))
		c := newClient(t, srv, 10)
		c.join(1, voice.ModeAES256GCMRTPSize)
		_ = srv.Faults().Drop(10)
		c.expectClose()
		c.close()
		c.dial()
		c.resume(c.lastSeq + 5)
		if code := c.expectClose(); code != 4006 {
			t.Fatalf("close %d", code)
		}
	})
	t.Run("resume before the buffer edge works", func(t *testing.T) {
		srv := newServer(t, WithDAVE(0, false), WithReplayLimit(2))
		c := newClient(t, srv, 10)
		c.join(1, voice.ModeAES256GCMRTPSize)
		_ = srv.Faults().Drop(10)
		c.expectClose()
		c.close()
		c.dial()
		c.resume(1) // the buffer starts at 2
		c.expect(voice.OpResumed)
		if m := c.next(); m.Env.Seq != 2 {
			t.Fatalf("replay %+v", m)
		}
	})
}

func TestSendRefusesWhatDoesNotMarshal(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	c := newClient(t, srv, 10)
	c.join(1, voice.ModeAES256GCMRTPSize)
	if err := srv.Faults().Send(10, 16, make(chan int)); err == nil {
		t.Fatal("Send accepted a value JSON cannot encode")
	}
}

func TestWSDuplicateAndReorder(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	a := newClient(t, srv, 10)
	a.join(1, voice.ModeAES256GCMRTPSize)
	base := a.lastSeq
	_ = srv.Faults().DuplicateWS(10, 1)
	_ = srv.Faults().Send(10, 16, nil)
	for range 2 {
		if m := a.next(); m.Env.Seq != base+1 {
			t.Fatalf("duplicate: %+v", m)
		}
	}
	_ = srv.Faults().ReorderWS(10, 1)
	_ = srv.Faults().Send(10, 16, nil)
	_ = srv.Faults().Send(10, 16, nil)
	for _, want := range []int64{base + 3, base + 2} {
		if m := a.next(); m.Env.Seq != want {
			t.Fatalf("reorder: got seq %d, want %d", m.Env.Seq, want)
		}
	}
	r, _ := srv.Ledger().Session(10)
	if r.Sent[base].Written != 2 || r.Sent[base+1].Written != 1 {
		t.Fatalf("ledger %+v", r.Sent)
	}
}
