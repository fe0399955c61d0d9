package fakediscord

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
)

// resilientClient is a minimal resuming gateway client written for this test: it resumes after
// every disconnect, identifies again after op 9 d=false, and records every dispatch.
type resilientClient struct {
	t         *testing.T
	s         *Server
	sessionID string
	seq       int64
	got       map[string]int // content of MESSAGE_CREATE → times delivered
	resumes   int
}

// session runs one connection until it ends; it reports whether the client wants to go on.
func (rc *resilientClient) session(want int) bool {
	t := rc.t
	u := rc.s.GatewayURL()
	if rc.sessionID != "" {
		u = rc.s.ResumeURL()
	}
	ws, resp, err := websocket.DefaultDialer.Dial(u+"?v=10&encoding=json", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	resp.Body.Close()
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(testTimeout))
	send := func(op events.Op, d any) bool {
		env, _ := events.NewEnvelope(op, d)
		b, _ := env.MarshalJSON()
		return ws.WriteMessage(websocket.TextMessage, b) == nil
	}
	leave := func() { // reconnect-to-resume: any code but 1000/1001
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4000, ""), time.Now().Add(time.Second))
	}
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return true // dropped or closed: resume on the next connection
		}
		var env events.Envelope
		if json.Unmarshal(data, &env) != nil {
			leave() // a corrupt frame: the connection cannot be trusted
			return true
		}
		switch env.Op {
		case events.OpHello:
			if rc.sessionID != "" {
				rc.resumes++
				send(events.OpResume, events.Resume{Token: rc.s.Token(), SessionID: rc.sessionID, Seq: rc.seq})
			} else {
				send(events.OpIdentify, identifyPayload(rc.s, 0, 1, events.IntentsAll))
			}
		case events.OpHeartbeat:
			send(events.OpHeartbeat, rc.seq)
		case events.OpReconnect:
			leave()
			return true
		case events.OpInvalidSession:
			if string(env.D) != "true" {
				// The session is gone, or the identify came too soon: start over after the
				// bucket's 5 s.
				rc.sessionID, rc.seq = "", 0
				clock.Sleep(rc.s.clk, identifySpacing, nil)
			}
			leave()
			return true
		case events.OpDispatch:
			if env.S != rc.seq+1 {
				t.Fatalf("seq %d after %d: a gap or a duplicate", env.S, rc.seq)
			}
			rc.seq = env.S
			switch env.T {
			case "READY":
				var r events.Ready
				_ = env.Decode(&r)
				rc.sessionID = r.SessionID
			case "MESSAGE_CREATE":
				var m struct{ Content string }
				_ = env.Decode(&m)
				rc.got[m.Content]++
				if len(rc.got) == want {
					return false
				}
			}
		}
	}
}

// TestChaosExactlyOnce runs traffic under a seeded chaos mix against a simple resuming client
// and checks, with the ledger, that every event reached the client exactly once.
func TestChaosExactlyOnce(t *testing.T) {
	const n = 300
	s := newServer(t, WithClock(clock.Scaled(20)), WithSeed(3))
	rc := &resilientClient{t: t, s: s, got: map[string]int{}}
	// Start the session before the traffic so that no event finds no session.
	ws := dial(t, s, dialOpts{})
	ws.hello()
	r := ws.identify(s, 0, 1)
	rc.sessionID, rc.seq = r.SessionID, 1+int64(len(r.Guilds))
	ws.ws.Close()
	if err := s.WaitFor(ctxT(t), func(sn *Snapshot) bool { return sn.Connections == 0 }); err != nil {
		t.Fatal(err)
	}

	stopTraffic := s.StartTraffic(TrafficConfig{Rate: 300, Count: n, Shards: []int{0}})
	defer stopTraffic()
	stopChaos := s.StartChaos(ChaosConfig{
		Interval: 60 * time.Millisecond, Count: 25, StallFor: 40 * time.Millisecond,
		Faults: []Fault{FaultDrop, FaultStall, FaultCorrupt, FaultReconnect, FaultInvalidateResumable, FaultHeartbeatRequest, FaultClose},
	})
	defer stopChaos()
	deadline := time.Now().Add(testTimeout)
	for rc.session(n) {
		if time.Now().After(deadline) {
			t.Fatalf("got %d of %d events", len(rc.got), n)
		}
	}
	for i := range n {
		if c := rc.got[fmt.Sprintf("traffic %d", i)]; c != 1 {
			t.Fatalf("traffic %d delivered %d times", i, c)
		}
	}
	stopChaos()
	l := s.Ledger()
	if len(l.Sessions) != 1 {
		t.Fatalf("%d sessions", len(l.Sessions))
	}
	ls := l.Sessions[0]
	sent := 0
	for _, e := range ls.Dispatches {
		if e.T == "MESSAGE_CREATE" {
			sent++
			if e.Writes < 1 {
				t.Fatalf("event %+v never written", e)
			}
		}
	}
	if sent != n || len(l.EventIDs("MESSAGE_CREATE")) != n {
		t.Fatalf("ledger has %d MESSAGE_CREATE", sent)
	}
	faults := 0
	for _, ev := range s.ChaosLog() {
		if ev.Err == "" {
			faults++
		}
	}
	t.Logf("%d resumes, %d faults applied, %d connections", rc.resumes, faults, len(ls.Connections))
	if rc.resumes == 0 || faults == 0 {
		t.Fatal("chaos did not disturb the session")
	}
}
