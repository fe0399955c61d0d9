package fakediscord

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
)

// TestCloseCodeCauses provokes every gateway close code by its documented cause.
func TestCloseCodeCauses(t *testing.T) {
	identified := func(t *testing.T, s *Server) *wsClient {
		c, _ := connect(t, s, 0, 1, dialOpts{})
		return c
	}
	fresh := func(t *testing.T, s *Server) *wsClient {
		c := dial(t, s, dialOpts{})
		c.hello()
		return c
	}
	hbClock := manualClock()
	cases := []struct {
		name string
		code events.CloseCode
		opts []Option
		run  func(t *testing.T, s *Server) *wsClient
	}{
		{"unknown opcode", events.CloseUnknownOpcode, nil, func(t *testing.T, s *Server) *wsClient {
			c := identified(t, s)
			c.sendRaw([]byte(`{"op":5,"d":null}`))
			return c
		}},
		{"server-only opcode", events.CloseUnknownOpcode, nil, func(t *testing.T, s *Server) *wsClient {
			c := identified(t, s)
			c.sendRaw([]byte(`{"op":10,"d":{"heartbeat_interval":1}}`))
			return c
		}},
		{"invalid payload for an opcode", events.CloseUnknownOpcode, nil, func(t *testing.T, s *Server) *wsClient {
			c := identified(t, s)
			c.sendRaw([]byte(`{"op":8,"d":"not an object"}`))
			return c
		}},
		{"large_threshold out of range", events.CloseUnknownOpcode, nil, func(t *testing.T, s *Server) *wsClient {
			c := fresh(t, s)
			id := identifyPayload(s, 0, 1, events.IntentGuilds)
			id.LargeThreshold = 251
			c.send(events.OpIdentify, id)
			return c
		}},
		{"bad JSON", events.CloseDecodeError, nil, func(t *testing.T, s *Server) *wsClient {
			c := identified(t, s)
			c.sendRaw([]byte(`{"op":1,`))
			return c
		}},
		{"over 4096 bytes", events.CloseDecodeError, nil, func(t *testing.T, s *Server) *wsClient {
			c := identified(t, s)
			c.sendRaw([]byte(`{"op":3,"d":{"status":"online","afk":false,"since":null,"activities":[],"x":"` +
				string(bytes.Repeat([]byte("a"), 4096)) + `"}}`))
			return c
		}},
		{"payload before identify", events.CloseNotAuthenticated, nil, func(t *testing.T, s *Server) *wsClient {
			c := fresh(t, s)
			c.send(events.OpPresenceUpdate, map[string]any{"status": "online", "afk": false, "since": nil, "activities": []any{}})
			return c
		}},
		{"bad token", events.CloseAuthenticationFailed, nil, func(t *testing.T, s *Server) *wsClient {
			c := fresh(t, s)
			id := identifyPayload(s, 0, 1, events.IntentGuilds)
			id.Token = "Bot " + s.Token()
			c.send(events.OpIdentify, id)
			return c
		}},
		{"bad token on resume", events.CloseAuthenticationFailed, nil, func(t *testing.T, s *Server) *wsClient {
			c := fresh(t, s)
			c.send(events.OpResume, events.Resume{Token: "nope", SessionID: "x", Seq: 1})
			return c
		}},
		{"second identify", events.CloseAlreadyAuthenticated, nil, func(t *testing.T, s *Server) *wsClient {
			c := identified(t, s)
			c.send(events.OpIdentify, identifyPayload(s, 0, 1, events.IntentGuilds))
			return c
		}},
		{"resume with a seq the session never had", events.CloseInvalidSeq, nil, func(t *testing.T, s *Server) *wsClient {
			c, r := connect(t, s, 0, 1, dialOpts{})
			if err := s.Drop(0); err != nil {
				t.Fatal(err)
			}
			c.waitEnd()
			c2 := dial(t, s, dialOpts{resume: true})
			c2.hello()
			c2.send(events.OpResume, events.Resume{Token: s.Token(), SessionID: r.SessionID, Seq: 1000})
			return c2
		}},
		{"heartbeat deadline missed", events.CloseSessionTimedOut, []Option{WithClock(hbClock), WithHeartbeatInterval(40 * time.Second), WithHeartbeatGrace(5 * time.Second)}, func(t *testing.T, s *Server) *wsClient {
			c := identified(t, s) // and never heartbeat
			hbClock.Advance(45 * time.Second)
			return c
		}},
		{"shard id not below count", events.CloseInvalidShard, nil, func(t *testing.T, s *Server) *wsClient {
			c := fresh(t, s)
			c.send(events.OpIdentify, identifyPayload(s, 2, 2, events.IntentGuilds))
			return c
		}},
		{"shard count zero", events.CloseInvalidShard, nil, func(t *testing.T, s *Server) *wsClient {
			c := fresh(t, s)
			c.send(events.OpIdentify, identifyPayload(s, 0, 0, events.IntentGuilds))
			return c
		}},
		{"too many guilds on a shard", events.CloseShardingRequired, []Option{WithGuilds(4), WithMaxGuildsPerShard(3)}, func(t *testing.T, s *Server) *wsClient {
			c := fresh(t, s)
			c.send(events.OpIdentify, identifyPayload(s, 0, 1, events.IntentGuilds))
			return c
		}},
		{"bad API version", events.CloseInvalidAPIVersion, nil, func(t *testing.T, s *Server) *wsClient {
			return dial(t, s, dialOpts{query: "v=9&encoding=json"})
		}},
		{"unknown intent bit", events.CloseInvalidIntents, nil, func(t *testing.T, s *Server) *wsClient {
			c := fresh(t, s)
			c.send(events.OpIdentify, identifyPayload(s, 0, 1, events.IntentGuilds|1<<17))
			return c
		}},
		{"privileged intent not granted", events.CloseDisallowedIntents, []Option{WithGrantedIntents(events.IntentMessageContent)}, func(t *testing.T, s *Server) *wsClient {
			c := fresh(t, s)
			c.send(events.OpIdentify, identifyPayload(s, 0, 1, events.IntentGuilds|events.IntentGuildMembers))
			return c
		}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d %s", tc.code, tc.name), func(t *testing.T) {
			t.Parallel()
			s := newServer(t, tc.opts...)
			c := tc.run(t, s)
			if got := c.closeCode(); got != tc.code {
				t.Fatalf("closed with %v, want %v", got, tc.code)
			}
		})
	}
}

// TestSendRateLimit checks the 120-per-60-s budget, heartbeats included, on a manual clock.
func TestSendRateLimit(t *testing.T) {
	clk := clock.NewManual(time.Unix(1_700_000_000, 0))
	s := newServer(t, WithClock(clk))
	c, _ := connect(t, s, 0, 1, dialOpts{}) // identify is send 1
	for range 119 {
		c.send(events.OpHeartbeat, nil)
		c.expect(events.OpHeartbeatACK, "")
	}
	// 120 sends in the window: the budget is used up but not exceeded. A minute later it is
	// whole again.
	clk.Advance(60 * time.Second)
	for range 120 {
		c.send(events.OpHeartbeat, nil)
		c.expect(events.OpHeartbeatACK, "")
	}
	c.send(events.OpHeartbeat, nil) // the 121st within 60 s
	if got := c.closeCode(); got != events.CloseRateLimited {
		t.Fatalf("closed with %v, want 4008", got)
	}
	// 4008 leaves the session resumable.
	sn := s.Snapshot()
	if len(sn.Sessions) != 1 || sn.Sessions[0].State != SessionResumable || sn.Sessions[0].LastCode != events.CloseRateLimited {
		t.Fatalf("session after 4008: %+v", sn.Sessions)
	}
}

// TestCloseCodePolicyDecidesResumability closes a session with every code of the table and
// checks that a resume works exactly when the code's policy is resume.
func TestCloseCodePolicyDecidesResumability(t *testing.T) {
	codes := []events.CloseCode{events.CloseNormal}
	for _, info := range events.CloseCodes {
		codes = append(codes, info.Code)
	}
	for _, code := range codes {
		t.Run(code.String(), func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			c, r := connect(t, s, 0, 1, dialOpts{})
			if err := s.CloseWith(0, code); err != nil {
				t.Fatal(err)
			}
			if got := c.closeCode(); got != code {
				t.Fatalf("client saw %v, want %v", got, code)
			}
			c2 := dial(t, s, dialOpts{resume: true})
			c2.hello()
			c2.send(events.OpResume, events.Resume{Token: s.Token(), SessionID: r.SessionID, Seq: 1})
			env := c2.next()
			wantResume := code.Policy() == events.PolicyResume
			switch {
			case wantResume && (env.Op != events.OpDispatch):
				t.Fatalf("resume after %v: got op %v %s, want replay", code, env.Op, env.D)
			case !wantResume && (env.Op != events.OpInvalidSession || string(env.D) != "false"):
				t.Fatalf("resume after %v: got op %v %s, want op 9 false", code, env.Op, env.D)
			}
		})
	}
}

// TestClientCloseCodes: a client's 1000/1001 ends the session; any other code keeps it.
func TestClientCloseCodes(t *testing.T) {
	for _, tc := range []struct {
		code      int
		resumable bool
	}{{1000, false}, {1001, false}, {4000, true}, {3000, true}, {4900, true}} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			c, r := connect(t, s, 0, 1, dialOpts{})
			c.closeWith(tc.code)
			ctx := ctxT(t)
			if err := s.WaitFor(ctx, func(sn *Snapshot) bool { return sn.Sessions[0].State != SessionConnected }); err != nil {
				t.Fatal(err)
			}
			c2 := dial(t, s, dialOpts{resume: true})
			c2.hello()
			c2.send(events.OpResume, events.Resume{Token: s.Token(), SessionID: r.SessionID, Seq: r2seq(r)})
			env := c2.next()
			if tc.resumable {
				if env.T == "" {
					t.Fatalf("got op %v %s, want a replayed dispatch", env.Op, env.D)
				}
				c2.until(events.OpDispatch, "RESUMED")
			} else if env.Op != events.OpInvalidSession || string(env.D) != "false" {
				t.Fatalf("got op %v %s, want op 9 false", env.Op, env.D)
			}
			l := s.Ledger()
			cr := l.Sessions[0].Connections[0]
			if cr.End != EndClientClose || int(cr.Code) != tc.code || cr.Resumable != tc.resumable {
				t.Fatalf("connection record %+v", cr)
			}
		})
	}
}

func r2seq(events.Ready) int64 { return 1 }
