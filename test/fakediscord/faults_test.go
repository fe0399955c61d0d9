package fakediscord

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
)

func TestShardRouting(t *testing.T) {
	s := newServer(t, WithGuilds(6), WithShardCount(3), WithMaxConcurrency(3))
	clients := make([]*wsClient, 3)
	for i := range clients {
		var r events.Ready
		clients[i], r = connect(t, s, i, 3, dialOpts{})
		if len(r.Guilds) != 2 {
			t.Fatalf("shard %d has %d guilds", i, len(r.Guilds))
		}
		for _, g := range r.Guilds {
			if g.ID.ShardID(3) != i {
				t.Fatalf("guild %v on shard %d", g.ID, i)
			}
		}
	}
	for _, g := range s.Guilds() {
		if err := s.Dispatch(g, "GUILD_EVENT", map[string]any{"guild_id": g}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Dispatch(0, "MESSAGE_CREATE", map[string]any{"dm": true}); err != nil {
		t.Fatal(err)
	}
	if err := s.DispatchToShard(2, "TO_TWO", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if err := s.DispatchToShard(5, "NOBODY", map[string]any{}); err != ErrNoSession {
		t.Fatalf("dispatch to a shard without sessions: %v", err)
	}
	for i, c := range clients {
		for range 2 {
			env := c.expect(events.OpDispatch, "GUILD_EVENT")
			var d struct {
				GuildID events.Snowflake `json:"guild_id"`
			}
			if env.Decode(&d) != nil || d.GuildID.ShardID(3) != i {
				t.Fatalf("shard %d got %s", i, env.D)
			}
		}
		switch i {
		case 0:
			c.expect(events.OpDispatch, "MESSAGE_CREATE") // guild-less events go to shard 0
		case 2:
			c.expect(events.OpDispatch, "TO_TWO")
		}
		if err := s.DispatchToShard(i, "END", map[string]any{}); err != nil {
			t.Fatal(err)
		}
		c.expect(events.OpDispatch, "END") // nothing else came in between
	}
	if _, err := New(WithShardCount(0)); err == nil {
		t.Fatal("shard count 0 accepted")
	}
	if err := s.Dispatch(1, "", nil); err == nil {
		t.Fatal("dispatch without a name accepted")
	}
	if err := s.Dispatch(1, "X", json.RawMessage("{bad")); err == nil {
		t.Fatal("invalid raw JSON accepted")
	}
}

func TestDropAndServerOps(t *testing.T) {
	s := newServer(t)
	c, _ := connect(t, s, 0, 1, dialOpts{})
	if err := s.RequestHeartbeat(0); err != nil {
		t.Fatal(err)
	}
	if env := c.expect(events.OpHeartbeat, ""); env.D != nil {
		t.Fatalf("op 1 d=%s", env.D)
	}
	c.send(events.OpHeartbeat, 5)
	c.expect(events.OpHeartbeatACK, "")
	if err := s.SendReconnect(0); err != nil {
		t.Fatal(err)
	}
	c.expect(events.OpReconnect, "")
	if err := s.Drop(0); err != nil {
		t.Fatal(err)
	}
	if got := c.closeCode(); got != events.CloseAbnormal {
		t.Fatalf("drop: %v", got)
	}
	if err := s.WaitFor(ctxT(t), func(sn *Snapshot) bool {
		return sn.Connections == 0 && sn.Sessions[0].State == SessionResumable && sn.Sessions[0].LastEnd == EndDropped
	}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []func() error{
		func() error { return s.Drop(0) },
		func() error { return s.Stall(0, time.Second) },
		func() error { return s.CorruptNext(0) },
		func() error { return s.SendReconnect(0) },
		func() error { return s.RequestHeartbeat(0) },
		func() error { return s.InvalidateSession(0, true) },
		func() error { return s.CloseWith(0, 4000) },
	} {
		if err := f(); err != ErrNoSession {
			t.Fatalf("fault on a shard without a connection: %v", err)
		}
	}
	if err := s.Stall(0, 0); err == nil {
		t.Fatal("zero stall accepted")
	}
	if err := s.CloseWith(0, 99); err == nil {
		t.Fatal("close code 99 accepted")
	}
}

// TestStall: while stalled the server neither ACKs nor sends; afterwards both resume, and the
// stall does not count against the client's heartbeat deadline.
func TestStall(t *testing.T) {
	clk := clock.NewManual(time.Unix(1_700_000_000, 0))
	s := newServer(t, WithClock(clk), WithHeartbeatInterval(10*time.Second), WithHeartbeatGrace(time.Second))
	c, _ := connect(t, s, 0, 1, dialOpts{})
	if err := s.Stall(0, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	c.send(events.OpHeartbeat, 1)
	if err := s.DispatchToShard(0, "DURING", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	select {
	case env := <-c.msgs:
		t.Fatalf("got op %v %s during a stall", env.Op, env.T)
	case <-time.After(50 * time.Millisecond): // a bounded "nothing happens" window
	}
	clk.Advance(30 * time.Second) // well past the 11 s heartbeat deadline, but the server was stalled
	got := []events.Op{c.next().Op, c.next().Op}
	slices.Sort(got)
	if !slices.Equal(got, []events.Op{events.OpDispatch, events.OpHeartbeatACK}) {
		t.Fatalf("after the stall: %v", got)
	}
	if err := s.DispatchToShard(0, "AFTER", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	c.expect(events.OpDispatch, "AFTER")
	// The deadline still works after a stall.
	clk.Advance(12 * time.Second)
	if code := c.closeCode(); code != events.CloseSessionTimedOut {
		t.Fatalf("closed with %v, want 4009", code)
	}
}

func TestCorruptNext(t *testing.T) {
	t.Run("plain", func(t *testing.T) {
		s := newServer(t)
		c, _ := connect(t, s, 0, 1, dialOpts{})
		if err := s.CorruptNext(0); err != nil {
			t.Fatal(err)
		}
		if err := s.DispatchToShard(0, "NEXT", map[string]any{}); err != nil {
			t.Fatal(err)
		}
		if env := c.next(); env.Op != -1 {
			t.Fatalf("got a valid frame %v %s", env.Op, env.T)
		}
		c.expect(events.OpDispatch, "NEXT") // nothing is lost
	})
	for _, comp := range []string{"zlib-stream", "zstd-stream"} {
		t.Run(comp, func(t *testing.T) {
			s := newServer(t)
			c, _ := connect(t, s, 0, 1, dialOpts{compress: comp})
			if err := s.CorruptNext(0); err != nil {
				t.Fatal(err)
			}
			if err := s.DispatchToShard(0, "NEXT", map[string]any{}); err != nil {
				t.Fatal(err)
			}
			// The independent decoder fails: the stream cannot be read past the garbage.
			select {
			case env, ok := <-c.msgs:
				if ok {
					t.Fatalf("decoded op %v %s after garbage", env.Op, env.T)
				}
			case <-time.After(testTimeout):
				t.Fatal("decoder did not fail")
			}
			if !slices.ContainsFunc(c.rawFrames(), func(f []byte) bool { return bytes.Equal(f, bytes.Repeat([]byte{0xff}, 16)) }) {
				t.Fatal("no garbage frame sent")
			}
		})
	}
}

func TestReconnectBeforeHello(t *testing.T) {
	clk := clock.NewManual(time.Unix(1_700_000_000, 0))
	s := newServer(t, WithClock(clk))
	s.ReconnectBeforeHello(1)
	c := dial(t, s, dialOpts{})
	c.expect(events.OpReconnect, "")
	// A client that stays is closed a few seconds later. (The writer armed its timer before it
	// wrote op 7, so the Advance below cannot come too early.)
	clk.Advance(5 * time.Second)
	if got := c.closeCode(); got != events.CloseUnknownError {
		t.Fatalf("closed with %v", got)
	}
	// Only the next connection was affected.
	c2 := dial(t, s, dialOpts{})
	c2.hello()
}

func TestCloseWithOpenConnections(t *testing.T) {
	s, err := New(WithClock(clock.Scaled(1000)), WithHeartbeatInterval(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := connect(t, s, 0, 1, dialOpts{})
	stop := s.StartTraffic(TrafficConfig{Rate: 10, Count: 1 << 30})
	stopChaos := s.StartChaos(ChaosConfig{Interval: time.Hour})
	s.Close()
	s.Close()
	stop()
	stopChaos()
	c.waitEnd()
	if err := s.Dispatch(0, "X", map[string]any{}); err != ErrClosed {
		t.Fatalf("dispatch after close: %v", err)
	}
	if err := s.WaitFor(context.Background(), func(*Snapshot) bool { return false }); err != ErrClosed {
		t.Fatalf("WaitFor after close: %v", err)
	}
	if s.StartTraffic(TrafficConfig{}) == nil {
		t.Fatal("nil stop")
	}
}

// TestStallThenDropOrClose: a stalled connection still dies when dropped or when the server
// closes, even on a clock that never reaches the end of the stall.
func TestStallThenDropOrClose(t *testing.T) {
	for _, drop := range []bool{true, false} {
		s, err := New(WithClock(clock.NewManual(time.Unix(1_700_000_000, 0))))
		if err != nil {
			t.Fatal(err)
		}
		c, _ := connect(t, s, 0, 1, dialOpts{})
		if err := s.Stall(0, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.DispatchToShard(0, "QUEUED", map[string]any{}); err != nil {
			t.Fatal(err)
		}
		if drop {
			dropAndWait(t, s)
		}
		s.Close()
		c.waitEnd()
	}
}

func TestGuildIDsAndLookups(t *testing.T) {
	ids := []events.Snowflake{events.Snowflake(0) | 5<<22 | 1, 6<<22 | 2, 8<<22 | 3}
	s := newServer(t, WithGuildIDs(ids...))
	if !slices.Equal(s.Guilds(), ids) {
		t.Fatalf("guilds %v", s.Guilds())
	}
	if got := s.GuildsOfShard(0, 2); !slices.Equal(got, []events.Snowflake{ids[1], ids[2]}) {
		t.Fatalf("shard 0 of 2: %v", got)
	}
	_, r := connect(t, s, 1, 2, dialOpts{})
	if len(r.Guilds) != 1 || r.Guilds[0].ID != ids[0] {
		t.Fatalf("READY guilds %v", r.Guilds)
	}
	sn := s.Snapshot()
	if live := sn.Live(1); len(live) != 1 || live[0].ID != r.SessionID || live[0].ShardCount != 2 || live[0].ConnectionID == 0 {
		t.Fatalf("live %+v", live)
	}
	if len(sn.Live(0)) != 0 {
		t.Fatal("a live session on shard 0")
	}
	if info, ok := sn.Session(r.SessionID); !ok || info.LastSeq != 2 {
		t.Fatalf("session %+v", info)
	}
	if _, ok := sn.Session("nope"); ok {
		t.Fatal("unknown session found")
	}
	l := s.Ledger()
	if ls, ok := l.Session(r.SessionID); !ok || len(ls.Dispatches) != 2 || ls.Intents != events.IntentsAll {
		t.Fatalf("ledger session %+v", ls)
	}
	if _, ok := l.Session("nope"); ok {
		t.Fatal("unknown ledger session found")
	}
	if s.Addr() == "" || !strings.Contains(s.GatewayURL(), s.Addr()) {
		t.Fatal("addr")
	}
}
