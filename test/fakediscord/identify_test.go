package fakediscord

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
)

func manualClock() *clock.Manual { return clock.NewManual(time.Unix(1_700_000_000, 0)) }

// tryIdentify opens a connection and identifies; it returns the client and whether READY came
// (false: op 9 d=false).
func tryIdentify(t *testing.T, s *Server, shard, count int) (*wsClient, bool) {
	t.Helper()
	c := dial(t, s, dialOpts{})
	c.hello()
	c.send(events.OpIdentify, identifyPayload(s, shard, count, events.IntentGuilds))
	env := c.next()
	switch {
	case env.Op == events.OpDispatch && env.T == "READY":
		return c, true
	case env.Op == events.OpInvalidSession && string(env.D) == "false":
		return c, false
	}
	t.Fatalf("identify answered with op %v %s", env.Op, env.D)
	return nil, false
}

func TestIdentifyPacingPerBucket(t *testing.T) {
	clk := manualClock()
	s := newServer(t, WithClock(clk), WithMaxConcurrency(2), WithShardCount(4))
	// Shards 0 and 1 are in different buckets: both may identify at once.
	if _, ok := tryIdentify(t, s, 0, 4); !ok {
		t.Fatal("shard 0 refused")
	}
	if _, ok := tryIdentify(t, s, 1, 4); !ok {
		t.Fatal("shard 1 refused")
	}
	// Shard 2 shares bucket 0 with shard 0: too soon.
	c, ok := tryIdentify(t, s, 2, 4)
	if ok {
		t.Fatal("shard 2 accepted within 5 s of shard 0")
	}
	if s.SpacingViolations() != 1 {
		t.Fatalf("violations %d, want 1", s.SpacingViolations())
	}
	// A refused identify leaves the connection unauthenticated: the client may identify again
	// on it once the bucket is free.
	clk.Advance(4999 * time.Millisecond)
	c.send(events.OpIdentify, identifyPayload(s, 2, 4, events.IntentGuilds))
	c.expect(events.OpInvalidSession, "")
	clk.Advance(time.Millisecond)
	c.send(events.OpIdentify, identifyPayload(s, 2, 4, events.IntentGuilds))
	c.expect(events.OpDispatch, "READY")
	if s.SpacingViolations() != 2 {
		t.Fatalf("violations %d, want 2", s.SpacingViolations())
	}
	log := s.IdentifyLog()
	want := []struct {
		shard, bucket int
		accepted      bool
		reason        string
	}{{0, 0, true, ""}, {1, 1, true, ""}, {2, 0, false, RefusedPacing}, {2, 0, false, RefusedPacing}, {2, 0, true, ""}}
	if len(log) != len(want) {
		t.Fatalf("identify log %+v", log)
	}
	for i, w := range want {
		r := log[i]
		if r.Shard != w.shard || r.Bucket != w.bucket || r.Accepted != w.accepted || r.Reason != w.reason || r.ShardCount != 4 {
			t.Fatalf("identify %d: %+v, want %+v", i, r, w)
		}
	}
	if !log[4].At.Equal(log[0].At.Add(5 * time.Second)) {
		t.Fatalf("clock times %v %v", log[0].At, log[4].At)
	}
}

// TestIdentifyPacingScaledClock runs the 5 s rule on a 1000× clock: identifies spaced by the
// bucket rule are all accepted, in about 5 ms of wall time each.
func TestIdentifyPacingScaledClock(t *testing.T) {
	s := newServer(t)
	start := time.Now()
	for range 3 {
		var ok bool
		for !ok {
			_, ok = tryIdentify(t, s, 0, 1)
			if !ok {
				// Wait out the bucket on the server's own clock, then try again.
				clock.Sleep(s.clk, identifySpacing, nil)
			}
		}
	}
	log := s.IdentifyLog()
	var accepted []time.Time
	for _, r := range log {
		if r.Accepted {
			accepted = append(accepted, r.At)
		}
	}
	if len(accepted) != 3 {
		t.Fatalf("accepted %d", len(accepted))
	}
	for i := 1; i < len(accepted); i++ {
		if d := accepted[i].Sub(accepted[i-1]); d < identifySpacing {
			t.Fatalf("accepted identifies %v apart", d)
		}
	}
	if wall := time.Since(start); wall > 5*time.Second {
		t.Fatalf("took %v of wall time", wall)
	}
}

func gatewayBot(t *testing.T, s *Server) events.GatewayBot {
	t.Helper()
	code, body := restGet(t, s, "/gateway/bot", "Bot "+s.Token())
	if code != http.StatusOK {
		t.Fatalf("GET /gateway/bot: %d %s", code, body)
	}
	var gb events.GatewayBot
	if err := json.Unmarshal(body, &gb); err != nil {
		t.Fatal(err)
	}
	return gb
}

func TestSessionStartBudget(t *testing.T) {
	clk := manualClock()
	s := newServer(t, WithClock(clk), WithSessionStartLimit(5, 2), WithShardCount(3), WithMaxConcurrency(4))
	gb := gatewayBot(t, s)
	want := events.SessionStartLimit{Total: 5, Remaining: 2, ResetAfter: 86_400_000, MaxConcurrency: 4}
	if gb.SessionStartLimit != want || gb.Shards != 3 || gb.URL != s.GatewayURL() {
		t.Fatalf("gateway/bot %+v", gb)
	}
	tryIdentify(t, s, 0, 3)
	tryIdentify(t, s, 1, 3)
	if _, ok := tryIdentify(t, s, 2, 3); ok {
		t.Fatal("identify accepted with no session starts left")
	}
	log := s.IdentifyLog()
	if r := log[len(log)-1]; r.Reason != RefusedBudget {
		t.Fatalf("last identify %+v", r)
	}
	clk.Advance(time.Hour)
	gb = gatewayBot(t, s)
	if gb.SessionStartLimit.Remaining != 0 || gb.SessionStartLimit.ResetAfter != 23*3600*1000 {
		t.Fatalf("after use: %+v", gb.SessionStartLimit)
	}
	// Resumes are free: the session of shard 0 comes back with no starts left.
	sess := s.Snapshot().Sessions[0]
	if err := s.Drop(0); err != nil {
		t.Fatal(err)
	}
	c := dial(t, s, dialOpts{resume: true})
	c.hello()
	c.send(events.OpResume, events.Resume{Token: s.Token(), SessionID: sess.ID, Seq: sess.LastSeq})
	c.expect(events.OpDispatch, "RESUMED")
	// The window resets 24 h after the server started.
	clk.Advance(23 * time.Hour)
	gb = gatewayBot(t, s)
	if gb.SessionStartLimit.Remaining != 5 || gb.SessionStartLimit.ResetAfter != 86_400_000 {
		t.Fatalf("after reset: %+v", gb.SessionStartLimit)
	}
	if _, ok := tryIdentify(t, s, 2, 3); !ok {
		t.Fatal("identify refused after the reset")
	}
	if gatewayBot(t, s).SessionStartLimit.Remaining != 4 {
		t.Fatal("identify did not use a start")
	}
}
