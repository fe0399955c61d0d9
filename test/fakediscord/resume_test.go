package fakediscord

import (
	"slices"
	"testing"
	"time"

	"github.com/cordage/cordage/events"
)

func resumeOn(t *testing.T, s *Server, sessionID string, seq int64, viaResume bool) *wsClient {
	t.Helper()
	c := dial(t, s, dialOpts{resume: viaResume})
	c.hello()
	c.send(events.OpResume, events.Resume{Token: s.Token(), SessionID: sessionID, Seq: seq})
	return c
}

// TestResumeReplayAndLedger drops a connection mid-stream, keeps dispatching while the session
// is away, resumes from an older seq and checks the replay, RESUMED and the ledger.
func TestResumeReplayAndLedger(t *testing.T) {
	s := newServer(t, WithGuilds(2))
	c, r := connect(t, s, 0, 1, dialOpts{}) // READY 1, GUILD_CREATE 2, 3
	g := s.Guilds()[0]
	for i := range 4 { // seqs 4..7
		if err := s.Dispatch(g, "MESSAGE_CREATE", map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	var hashes = map[int64]string{}
	for seq := int64(4); seq <= 7; seq++ {
		env, _ := c.nextRaw()
		if env.S != seq {
			t.Fatalf("seq %d, want %d", env.S, seq)
		}
		hashes[seq] = PayloadHash(env.D)
	}
	if err := s.Drop(0); err != nil {
		t.Fatal(err)
	}
	if got := c.closeCode(); got != events.CloseAbnormal {
		t.Fatalf("drop seen as %v, want no close frame", got)
	}
	// While the session is away, events are buffered for it.
	for i := range 2 { // seqs 8, 9
		if err := s.Dispatch(g, "MESSAGE_CREATE", map[string]any{"n": 10 + i}); err != nil {
			t.Fatalf("dispatch to a resumable session: %v", err)
		}
	}
	// The client claims it saw only up to seq 5.
	c2 := resumeOn(t, s, r.SessionID, 5, true)
	for seq := int64(6); seq <= 9; seq++ {
		env := c2.expect(events.OpDispatch, "MESSAGE_CREATE")
		if env.S != seq {
			t.Fatalf("replayed seq %d, want %d", env.S, seq)
		}
		if h, ok := hashes[seq]; ok && h != PayloadHash(env.D) {
			t.Fatalf("replayed seq %d has different bytes", seq)
		}
	}
	resumed := c2.expect(events.OpDispatch, "RESUMED")
	if resumed.S != 10 {
		t.Fatalf("RESUMED seq %d, want 10", resumed.S)
	}
	// Live again.
	if err := s.Dispatch(g, "MESSAGE_CREATE", map[string]any{"n": 99}); err != nil {
		t.Fatal(err)
	}
	if env := c2.expect(events.OpDispatch, "MESSAGE_CREATE"); env.S != 11 {
		t.Fatalf("seq after resume %d", env.S)
	}

	l := s.Ledger()
	if len(l.Sessions) != 1 {
		t.Fatalf("%d sessions", len(l.Sessions))
	}
	ls := l.Sessions[0]
	if ls.ID != r.SessionID || ls.State != SessionConnected || len(ls.Dispatches) != 11 {
		t.Fatalf("ledger session %+v", ls)
	}
	for i, e := range ls.Dispatches {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
		wantWrites, wantReplays := 1, 0
		switch {
		case e.Seq == 6 || e.Seq == 7:
			wantWrites, wantReplays = 2, 1
		case e.Seq == 8 || e.Seq == 9:
			wantWrites, wantReplays = 1, 1 // buffered while away, written once on replay
		}
		if e.Writes != wantWrites || e.Replays != wantReplays {
			t.Fatalf("entry %+v: writes %d replays %d, want %d %d", e, e.Writes, e.Replays, wantWrites, wantReplays)
		}
		if h, ok := hashes[e.Seq]; ok && h != e.Hash {
			t.Fatalf("entry %d hash differs from what the client hashed", e.Seq)
		}
	}
	if got := []string{ls.Dispatches[0].T, ls.Dispatches[1].T, ls.Dispatches[9].T}; !slices.Equal(got, []string{"READY", "GUILD_CREATE", "RESUMED"}) {
		t.Fatalf("names %v", got)
	}
	if len(ls.Resumes) != 1 {
		t.Fatalf("resumes %+v", ls.Resumes)
	}
	rr := ls.Resumes[0]
	if rr.FromSeq != 5 || !slices.Equal(rr.Replayed, []int64{6, 7, 8, 9}) || !rr.ViaResumeURL || rr.ResumedSeq != 10 {
		t.Fatalf("resume record %+v", rr)
	}
	if len(ls.Connections) != 2 {
		t.Fatalf("connections %+v", ls.Connections)
	}
	if cr := ls.Connections[0]; cr.End != EndDropped || cr.Code != events.CloseAbnormal || !cr.Resumable || cr.Ended.IsZero() {
		t.Fatalf("first connection %+v", cr)
	}
	if cr := ls.Connections[1]; cr.End != EndOpen || !cr.Ended.IsZero() {
		t.Fatalf("second connection %+v", cr)
	}
	ids := l.EventIDs("MESSAGE_CREATE")
	if len(ids) != 7 {
		t.Fatalf("event ids %v", ids)
	}
}

func TestResumeFailures(t *testing.T) {
	t.Run("unknown session", func(t *testing.T) {
		s := newServer(t)
		c := resumeOn(t, s, "no-such-session", 0, true)
		if env := c.expect(events.OpInvalidSession, ""); string(env.D) != "false" {
			t.Fatalf("op 9 d=%s", env.D)
		}
	})
	t.Run("refused", func(t *testing.T) {
		s := newServer(t)
		_, r := connect(t, s, 0, 1, dialOpts{})
		s.RefuseResumes(true)
		if err := s.Drop(0); err != nil {
			t.Fatal(err)
		}
		c := resumeOn(t, s, r.SessionID, 1, true)
		if env := c.expect(events.OpInvalidSession, ""); string(env.D) != "false" {
			t.Fatalf("op 9 d=%s", env.D)
		}
		// The refused session is gone even when resumes are allowed again.
		s.RefuseResumes(false)
		c2 := resumeOn(t, s, r.SessionID, 1, true)
		c2.expect(events.OpInvalidSession, "")
		if st := s.Snapshot().Sessions[0].State; st != SessionDead {
			t.Fatalf("state %v", st)
		}
	})
	t.Run("expired", func(t *testing.T) {
		clk := manualClock()
		s := newServer(t, WithClock(clk), WithResumeWindow(2*time.Minute))
		_, r := connect(t, s, 0, 1, dialOpts{})
		dropAndWait(t, s)
		clk.Advance(2*time.Minute + time.Millisecond)
		if err := s.Dispatch(0, "ENTITLEMENT_CREATE", map[string]any{}); err != ErrNoSession {
			t.Fatalf("dispatch to an expired session: %v", err)
		}
		c := resumeOn(t, s, r.SessionID, 1, true)
		c.expect(events.OpInvalidSession, "")
	})
	t.Run("within window", func(t *testing.T) {
		clk := manualClock()
		s := newServer(t, WithClock(clk), WithResumeWindow(2*time.Minute))
		_, r := connect(t, s, 0, 1, dialOpts{})
		dropAndWait(t, s)
		clk.Advance(2 * time.Minute)
		c := resumeOn(t, s, r.SessionID, 1, false)
		c.until(events.OpDispatch, "RESUMED")
		if rr := s.Ledger().Sessions[0].Resumes[0]; rr.ViaResumeURL {
			t.Fatal("resume on the main URL recorded as via the resume URL")
		}
	})
}

// TestResumeTakesOverLiveSession: resuming a session whose old connection is still open moves
// it; the old connection is closed with 4000 and gets nothing more.
func TestResumeTakesOverLiveSession(t *testing.T) {
	s := newServer(t)
	c, r := connect(t, s, 0, 1, dialOpts{})
	c2 := resumeOn(t, s, r.SessionID, 1, true)
	c2.until(events.OpDispatch, "RESUMED")
	if got := c.closeCode(); got != events.CloseUnknownError {
		t.Fatalf("old connection closed with %v", got)
	}
	if err := s.DispatchToShard(0, "TEST", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	c2.expect(events.OpDispatch, "TEST")
	ls := s.Ledger().Sessions[0]
	if ls.Connections[0].End != EndTakenOver || ls.State != SessionConnected {
		t.Fatalf("ledger %+v", ls)
	}
}

// TestInvalidateSession covers op 9 on demand, and resuming on the same socket after d=true.
func TestInvalidateSession(t *testing.T) {
	clk := manualClock()
	s := newServer(t, WithClock(clk))
	c, r := connect(t, s, 0, 1, dialOpts{})
	if err := s.InvalidateSession(0, true); err != nil {
		t.Fatal(err)
	}
	if env := c.expect(events.OpInvalidSession, ""); string(env.D) != "true" {
		t.Fatalf("op 9 d=%s", env.D)
	}
	if err := s.DispatchToShard(0, "WHILE_AWAY", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	// Same socket, as discord.js does.
	c.send(events.OpResume, events.Resume{Token: s.Token(), SessionID: r.SessionID, Seq: 1 + int64(len(r.Guilds))})
	c.expect(events.OpDispatch, "WHILE_AWAY")
	c.expect(events.OpDispatch, "RESUMED")

	if err := s.InvalidateSession(0, false); err != nil {
		t.Fatal(err)
	}
	if env := c.expect(events.OpInvalidSession, ""); string(env.D) != "false" {
		t.Fatalf("op 9 d=%s", env.D)
	}
	if err := s.DispatchToShard(0, "GONE", map[string]any{}); err != ErrNoSession {
		t.Fatalf("dispatch after op 9 false: %v", err)
	}
	c.send(events.OpResume, events.Resume{Token: s.Token(), SessionID: r.SessionID, Seq: 5})
	c.expect(events.OpInvalidSession, "")
	// After op 9 the connection may identify afresh (once the bucket allows).
	clk.Advance(identifySpacing)
	c.send(events.OpIdentify, identifyPayload(s, 0, 1, events.IntentGuilds))
	c.until(events.OpDispatch, "READY")
}

func TestReplayLimit(t *testing.T) {
	s := newServer(t, WithReplayLimit(10), WithGuilds(1))
	_, r := connect(t, s, 0, 1, dialOpts{}) // seqs 1, 2
	for i := range 20 {                     // seqs 3..22
		if err := s.DispatchToShard(0, "E", map[string]any{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Drop(0); err != nil {
		t.Fatal(err)
	}
	// Seqs 13..22 are kept: a resume from 12 works, from 11 it does not.
	c := resumeOn(t, s, r.SessionID, 12, true)
	if env := c.expect(events.OpDispatch, "E"); env.S != 13 {
		t.Fatalf("first replayed seq %d", env.S)
	}
	c.until(events.OpDispatch, "RESUMED")
	if err := s.Drop(0); err != nil {
		t.Fatal(err)
	}
	c2 := resumeOn(t, s, r.SessionID, 11, true)
	c2.expect(events.OpInvalidSession, "")
	if n := len(s.Ledger().Sessions[0].Dispatches); n != 23 {
		t.Fatalf("ledger has %d entries, want all 23", n)
	}
}
