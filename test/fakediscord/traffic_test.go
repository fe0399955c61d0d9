package fakediscord

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cordage/cordage/events"
)

func TestTraffic(t *testing.T) {
	s := newServer(t, WithGuilds(4), WithShardCount(2), WithMaxConcurrency(2))
	c0, _ := connect(t, s, 0, 2, dialOpts{})
	c1, _ := connect(t, s, 1, 2, dialOpts{compress: "zstd-stream"})
	base := s.Snapshot()
	const n = 200
	stop := s.StartTraffic(TrafficConfig{Rate: 2000, Count: n})
	defer stop()
	if err := s.WaitFor(ctxT(t), func(sn *Snapshot) bool {
		return sn.Sessions[0].LastSeq+sn.Sessions[1].LastSeq == base.Sessions[0].LastSeq+base.Sessions[1].LastSeq+n
	}); err != nil {
		t.Fatal(err)
	}
	stop()
	got := map[string]bool{}
	for shard, c := range []*wsClient{c0, c1} {
		for range n / 2 {
			env := c.expect(events.OpDispatch, "MESSAGE_CREATE")
			var m struct {
				GuildID events.Snowflake `json:"guild_id"`
				Content string           `json:"content"`
			}
			if err := env.Decode(&m); err != nil || m.GuildID.ShardID(2) != shard {
				t.Fatalf("shard %d got %s", shard, env.D)
			}
			got[m.Content] = true
		}
	}
	for i := range n {
		if !got[fmt.Sprintf("traffic %d", i)] {
			t.Fatalf("traffic %d missing", i)
		}
	}
	if ids := s.Ledger().EventIDs("MESSAGE_CREATE"); len(ids) != n {
		t.Fatalf("%d event ids", len(ids))
	}
}

func TestTrafficToShards(t *testing.T) {
	s := newServer(t)
	c, _ := connect(t, s, 0, 1, dialOpts{})
	stop := s.StartTraffic(TrafficConfig{Rate: 5000, Count: 30, Shards: []int{0}, Event: "ENTITLEMENT_CREATE",
		Payload: func(i int, g events.Snowflake) any { return map[string]any{"i": i, "guild": g} }})
	defer stop()
	for i := range 30 {
		env := c.expect(events.OpDispatch, "ENTITLEMENT_CREATE")
		var d struct {
			I     int
			Guild events.Snowflake
		}
		if env.Decode(&d) != nil || d.I != i || d.Guild != 0 {
			t.Fatalf("event %d: %s", i, env.D)
		}
	}
}

func TestChaosDeterministicBySeed(t *testing.T) {
	s1 := newServer(t, WithShardCount(4), WithSeed(7))
	s2 := newServer(t, WithShardCount(4), WithSeed(7))
	s3 := newServer(t, WithShardCount(4), WithSeed(8))
	cfg := ChaosConfig{Count: 50, Interval: time.Second}
	p1, p2, p3 := s1.ChaosPlan(cfg), s2.ChaosPlan(cfg), s3.ChaosPlan(cfg)
	if !slices.Equal(p1, p2) {
		t.Fatal("same seed, different plans")
	}
	if slices.Equal(p1, p3) {
		t.Fatal("different seeds, same plan")
	}
	explicit := cfg
	explicit.Seed = 8
	if !slices.Equal(s1.ChaosPlan(explicit), p3) {
		t.Fatal("ChaosConfig.Seed does not override the server seed")
	}
	faults, shards := map[Fault]bool{}, map[int]bool{}
	for _, st := range p1 {
		faults[st.Fault], shards[st.Shard] = true, true
		if st.Delay < cfg.Interval/2 || st.Delay >= cfg.Interval*3/2 {
			t.Fatalf("delay %v", st.Delay)
		}
	}
	if len(faults) < 6 || len(shards) != 4 {
		t.Fatalf("plan covers %d faults and %d shards", len(faults), len(shards))
	}

	// A run injects exactly the plan, in order.
	run := ChaosConfig{Count: 12, Interval: 10 * time.Millisecond, Faults: []Fault{FaultHeartbeatRequest, FaultReconnect, FaultStall}, Shards: []int{0}, StallFor: time.Millisecond}
	c, _ := connect(t, s1, 0, 1, dialOpts{})
	stop := s1.StartChaos(run)
	defer stop()
	if err := s1.WaitFor(ctxT(t), func(sn *Snapshot) bool { return sn.Chaos == run.Count }); err != nil {
		t.Fatal(err)
	}
	log := s1.ChaosLog()
	plan := s1.ChaosPlan(run)
	for i, ev := range log {
		if ev.ChaosStep != plan[i] || ev.Err != "" {
			t.Fatalf("step %d: %+v, plan %+v", i, ev, plan[i])
		}
	}
	// The client saw one op 1 or op 7 per such step.
	want := 0
	for _, st := range plan {
		if st.Fault != FaultStall {
			want++
		}
	}
	for range want {
		if env := c.next(); env.Op != events.OpHeartbeat && env.Op != events.OpReconnect {
			t.Fatalf("unexpected op %v", env.Op)
		}
	}
}

func TestChaosRecordsFailures(t *testing.T) {
	s := newServer(t)
	stop := s.StartChaos(ChaosConfig{Count: 3, Interval: time.Millisecond, Faults: []Fault{FaultDrop}})
	defer stop()
	if err := s.WaitFor(ctxT(t), func(sn *Snapshot) bool { return sn.Chaos == 3 }); err != nil {
		t.Fatal(err)
	}
	for _, ev := range s.ChaosLog() {
		if ev.Err != ErrNoSession.Error() {
			t.Fatalf("chaos event %+v", ev)
		}
	}
}

// TestHeartbeatDeadline: a client that heartbeats in time keeps its connection; one that stops
// is closed with 4009, and its session stays resumable.
func TestHeartbeatDeadline(t *testing.T) {
	clk := manualClock()
	s := newServer(t, WithClock(clk), WithHeartbeatInterval(10*time.Second), WithHeartbeatGrace(2*time.Second))
	c, r := connect(t, s, 0, 1, dialOpts{})
	for range 5 {
		clk.Advance(10 * time.Second)
		c.send(events.OpHeartbeat, 1)
		c.expect(events.OpHeartbeatACK, "")
	}
	clk.Advance(12*time.Second - time.Millisecond)
	if err := s.DispatchToShard(0, "STILL_HERE", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	c.expect(events.OpDispatch, "STILL_HERE")
	clk.Advance(time.Millisecond)
	if got := c.closeCode(); got != events.CloseSessionTimedOut {
		t.Fatalf("closed with %v", got)
	}
	c2 := resumeOn(t, s, r.SessionID, 0, true)
	c2.until(events.OpDispatch, "RESUMED")
}

func TestWaitForContext(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.WaitFor(ctx, func(sn *Snapshot) bool { return len(sn.Sessions) > 0 }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor: %v", err)
	}
	ch := s.Changed()
	connect(t, s, 0, 1, dialOpts{})
	select {
	case <-ch:
	case <-time.After(testTimeout):
		t.Fatal("Changed did not fire")
	}
}

// TestConcurrentDispatchKeepsOrder: dispatches from many goroutines reach the client with
// contiguous sequence numbers, in the order the server numbered them.
func TestConcurrentDispatchKeepsOrder(t *testing.T) {
	s := newServer(t, WithGuilds(1))
	c, _ := connect(t, s, 0, 1, dialOpts{compress: "zlib-stream"})
	const workers, each = 8, 100
	done := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range each {
				if err := s.DispatchToShard(0, "E", map[string]any{"w": w, "i": i}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range workers {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	last := map[int]int{}
	seq := int64(1 + len(s.Guilds()))
	for range workers * each {
		env := c.expect(events.OpDispatch, "E")
		if env.S != seq+1 {
			t.Fatalf("seq %d after %d", env.S, seq)
		}
		seq = env.S
		var d struct{ W, I int }
		if env.Decode(&d) != nil {
			t.Fatal("decode")
		}
		if prev, ok := last[d.W]; ok && d.I != prev+1 {
			t.Fatalf("worker %d: %d after %d", d.W, d.I, prev)
		}
		last[d.W] = d.I
	}
}
