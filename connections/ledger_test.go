package connections_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/shardctl"
	"github.com/cordage/cordage/test/fakediscord"
)

// checkLedger compares what the runtime delivered with what the server sent to each session.
// Within a session every dispatch must arrive exactly once, in order, with the exact bytes.
// A session whose tail never arrived must have been reported lost (SessionReplaced); when
// final is set, the newest session of every shard must be complete.
func checkLedger(l *fakediscord.Ledger, evs []connections.Event, final bool) error {
	delivered := map[string][]connections.Event{} // by session id
	replaced := map[string]int64{}                // old session id -> reported last seq
	current := map[int]string{}                   // shard -> session the next dispatches belong to
	for _, ev := range evs {
		switch ev.Kind {
		case connections.KindSessionReplaced:
			r := ev.Runtime.(events.SessionReplaced)
			replaced[r.OldSessionID] = r.LastSeq
		case connections.KindDispatch:
			if ev.Type == events.EventReady {
				var r events.Ready
				if err := json.Unmarshal(ev.Data, &r); err != nil {
					return fmt.Errorf("READY: %v", err)
				}
				current[ev.Shard] = r.SessionID
			}
			id, ok := current[ev.Shard]
			if !ok {
				return fmt.Errorf("shard %d: %s seq %d before any READY", ev.Shard, ev.Type, ev.Seq)
			}
			delivered[id] = append(delivered[id], ev)
		}
	}
	newest := map[int]string{}
	for _, s := range l.Sessions {
		newest[s.Shard] = s.ID
	}
	for _, s := range l.Sessions {
		got := delivered[s.ID]
		if len(got) > len(s.Dispatches) {
			return fmt.Errorf("session %s (shard %d): %d delivered, server sent only %d", s.ID, s.Shard, len(got), len(s.Dispatches))
		}
		for i, ev := range got {
			want := s.Dispatches[i]
			if ev.Shard != s.Shard || ev.Seq != want.Seq || ev.Type != want.T || fakediscord.PayloadHash(ev.Data) != want.Hash {
				return fmt.Errorf("session %s (shard %d) item %d: got shard %d %s seq %d, want %s seq %d (hash match %v)",
					s.ID, s.Shard, i, ev.Shard, ev.Type, ev.Seq, want.T, want.Seq, fakediscord.PayloadHash(ev.Data) == want.Hash)
			}
		}
		if len(got) == len(s.Dispatches) {
			continue
		}
		if last, ok := replaced[s.ID]; ok {
			if last != int64(len(got)) {
				return fmt.Errorf("session %s: SessionReplaced says last seq %d, delivered %d", s.ID, last, len(got))
			}
			continue
		}
		if len(got) == 0 && newest[s.Shard] != s.ID {
			continue // READY never reached the client: it never knew this session
		}
		if final || newest[s.Shard] != s.ID {
			return fmt.Errorf("session %s (shard %d, %s): %d of %d dispatches delivered and no SessionReplaced",
				s.ID, s.Shard, s.State, len(got), len(s.Dispatches))
		}
	}
	return nil
}

// waitLedger polls until the delivered events match the ledger completely.
func waitLedger(t *testing.T, srv *fakediscord.Server, conn *connections.Conn, rec *recorder) {
	t.Helper()
	// Generous: on a loaded machine a shard can sit in reconnect backoff for a while.
	deadline := time.Now().Add(3 * testTimeout)
	for {
		err := checkLedger(srv.Ledger(), rec.snapshot(), true)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			var states []connections.ShardState
			var serr error
			if conn != nil {
				states, serr = conn.ShardStates(ctxT(t))
			}
			evs := rec.snapshot()
			var tail []string
			for _, ev := range evs {
				if ev.Kind != connections.KindDispatch {
					tail = append(tail, fmt.Sprintf("%d:%s%+v", ev.Shard, ev.Type, ev.Runtime))
				}
			}
			tail = tail[max(0, len(tail)-30):]
			if f, ferr := os.Create("/tmp/ledger_dump.txt"); ferr == nil {
				for _, ls := range srv.Ledger().Sessions {
					fmt.Fprintf(f, "SESSION %s shard %d state %s n=%d started %v conns %+v resumes %d\n", ls.ID, ls.Shard, ls.State, len(ls.Dispatches), ls.Started.Format("15:04:05.000"), ls.Connections, len(ls.Resumes))
				}
				for _, ev := range evs {
					if ev.Type != "MESSAGE_CREATE" {
						sid := ""
						if ev.Type == "READY" {
							var r events.Ready
							_ = json.Unmarshal(ev.Data, &r)
							sid = r.SessionID
						}
						fmt.Fprintf(f, "EV %d %s %d %s %+v\n", ev.Shard, ev.Type, ev.Seq, sid, ev.Runtime)
					}
				}
				f.Close()
			}
			var st []string
			for _, s := range states {
				st = append(st, fmt.Sprintf("%+v", s))
			}
			t.Fatalf("ledger mismatch: %v\nshard states (%v):\n%s\nlast runtime events:\n%s", err, serr, strings.Join(st, "\n"), strings.Join(tail, "\n"))
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, not timing a rule
	}
}

func TestLedgerUnderChaos(t *testing.T) {
	const shards, perShard = 4, 5000
	for seed, comp := range map[int64]connections.Compression{1: connections.ZlibStream, 2: connections.ZstdStream, 3: connections.ZlibStream, 4: connections.None} {
		{
			t.Run(fmt.Sprintf("seed%d/%v", seed, comp), func(t *testing.T) {
				// 100×: 20,000 dispatches (plus the simulator's compression and the race
				// detector) must not starve the heartbeats of CPU, or the test measures the
				// machine instead of the runtime.
				clk := clock.Scaled(100)
				srv := newServer(t, clk, fakediscord.WithShardCount(shards), fakediscord.WithGuilds(8),
					fakediscord.WithMaxConcurrency(shards), fakediscord.WithSeed(seed),
					fakediscord.WithHeartbeatInterval(20*time.Second))
				// A wider identify spacing than the default 5.5 s: at 100× a few milliseconds of
				// scheduling delay on a busy machine are half a second of protocol time, which
				// would make the simulator refuse identifies for pacing and turn a fault into a
				// string of lost sessions that says nothing about the runtime.
				gate := shardctl.NewLocalGate(shards, shardctl.WithGateClock(clk), shardctl.WithInterval(7*time.Second))
				conn, rec := connectBot(t, srv, clk, connections.WithCompression(comp), connections.WithIdentifyGate(gate))
				rec.wait(t, "all shards connected", func(evs []connections.Event) bool {
					return count(evs, connections.KindConnectedAllShards) == 1
				})
				stopChaos := srv.StartChaos(fakediscord.ChaosConfig{Seed: seed, Interval: 5 * time.Second, Count: 80})
				retried := emit(t, srv, clk, shards, perShard)
				stopChaos()
				waitLedger(t, srv, conn, rec)

				evs := rec.snapshot()
				got := map[int]int{}
				for _, ev := range evs {
					if ev.Type == "MESSAGE_CREATE" {
						got[ev.Shard]++
					}
				}
				resumed, replaced := count(evs, connections.KindShardResumed), count(evs, connections.KindSessionReplaced)
				faults := map[fakediscord.Fault]int{}
				for _, f := range srv.ChaosLog() {
					if f.Err == "" {
						faults[f.Fault]++
					}
				}
				t.Logf("delivered %v MESSAGE_CREATE per shard (%d sends retried); %d resumes, %d sessions replaced; faults %v",
					got, retried, resumed, replaced, faults)
				if resumed == 0 {
					t.Fatal("chaos caused no resume: the test exercised nothing")
				}
				for sh := range shards {
					// Only a lost session (reported, and checked above) may take events with it.
					if got[sh] < perShard && replaced == 0 {
						t.Fatalf("shard %d: %d of %d delivered without any session lost", sh, got[sh], perShard)
					}
				}
				if err := conn.Err(); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(summary(evs), "ShardStopped") {
					t.Fatal("a shard stopped")
				}
			})
		}
	}
}

// emit puts perShard guild-less MESSAGE_CREATEs into sessions of each shard, 50 per clock
// second in all (5,000 per wall second at 100×). An event that finds no live session (the shard
// is between sessions) is sent again on the next tick, so every shard's sessions get perShard
// events in all. It returns how many sends were retried.
func emit(t *testing.T, srv *fakediscord.Server, clk clock.Clock, shards, perShard int) int {
	t.Helper()
	tick := clk.NewTicker(time.Second)
	defer tick.Stop()
	next := make([]int, shards) // per shard: events put into a session so far
	retried := 0
	deadline := time.Now().Add(4 * testTimeout)
	for {
		done := true
		budget := 50
		for sh := range shards {
			for ; next[sh] < perShard && budget > 0; budget-- {
				i := next[sh]*shards + sh
				d := map[string]any{"id": fmt.Sprint(i), "content": fmt.Sprintf("traffic %d", i), "channel_id": "1"}
				if err := srv.DispatchToShard(sh, "MESSAGE_CREATE", d); err != nil {
					retried++
					break
				}
				next[sh]++
			}
			done = done && next[sh] == perShard
		}
		if done {
			return retried
		}
		if time.Now().After(deadline) {
			t.Fatalf("could not emit the traffic: %v of %d per shard", next, perShard)
		}
		<-tick.C()
	}
}
