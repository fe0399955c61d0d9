package connections_test

import (
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
)

// A consumer that stops reading for ten heartbeat intervals does not kill the session (the
// reader and the heartbeats never wait for it), and when it reads again nothing is lost.
func TestSlowConsumer(t *testing.T) {
	const shards, perShard = 2, 500
	const interval = 5 * time.Second
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithShardCount(shards), fakediscord.WithGuilds(4),
		fakediscord.WithMaxConcurrency(shards), fakediscord.WithHeartbeatInterval(interval))
	conn, rec := connectBotOut(t, srv, clk, make(chan connections.Event, 8))
	ready(t, rec)
	rec.pause()
	stalled := clk.Now()
	for i := range shards * perShard {
		if err := srv.DispatchToShard(i%shards, "MESSAGE_CREATE", map[string]any{"content": "x", "n": i}); err != nil {
			t.Fatal(err)
		}
	}
	// Ten heartbeat intervals pass with nobody reading out.
	tm := clk.NewTimer(10 * interval)
	<-tm.C()
	queued := conn.Queued()
	if queued < shards*perShard-20 {
		t.Fatalf("only %d events queued while the consumer slept", queued)
	}
	sn := srv.Snapshot()
	for sh := range shards {
		if len(sn.Live(sh)) != 1 {
			t.Fatalf("shard %d has no live session after %v without a reader", sh, clk.Now().Sub(stalled))
		}
	}
	rec.resume()
	waitLedger(t, srv, conn, rec)
	evs := rec.snapshot()
	if n := countType(evs, "MESSAGE_CREATE"); n != shards*perShard {
		t.Fatalf("%d of %d delivered", n, shards*perShard)
	}
	if n := count(evs, connections.KindSessionReplaced); n != 0 {
		t.Fatalf("%d sessions lost", n)
	}
	if n := len(srv.Ledger().Sessions); n != shards {
		t.Fatalf("%d sessions, want %d: the slow consumer cost a session", n, shards)
	}
	t.Logf("%d events waited for the consumer over %v of clock time", queued, 10*interval)
}

// Under OverflowDrop the runtime sheds dispatches beyond the limit, never runtime events, and
// reports every drop: delivered + reported dropped = sent.
func TestOverflowDrop(t *testing.T) {
	const sent, limit = 400, 50
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithGuilds(2))
	_, rec := connectBotOut(t, srv, clk, make(chan connections.Event, 4), connections.WithOverflow(connections.OverflowDrop(limit)))
	ready(t, rec)
	rec.pause()
	for i := range sent {
		if err := srv.DispatchToShard(0, "MESSAGE_CREATE", map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	// Give the reader time to take in what was written. The assertions below hold however
	// much it took in; only the amount shed depends on it.
	tm := clk.NewTimer(20 * time.Second)
	<-tm.C()
	rec.resume()
	evs := rec.wait(t, "every message delivered or reported dropped", func(evs []connections.Event) bool {
		got, dropped := 0, int64(0)
		for _, ev := range evs {
			switch {
			case ev.Type == "MESSAGE_CREATE":
				got++
			case ev.Kind == connections.KindEventsDropped:
				dropped += ev.Runtime.(events.EventsDropped).Count
			}
		}
		return int64(got)+dropped == sent
	})
	if count(evs, connections.KindEventsDropped) == 0 {
		t.Fatal("nothing was dropped: the test did not overflow")
	}
	if countType(evs, "MESSAGE_CREATE") < limit-10 {
		t.Fatalf("only %d delivered", countType(evs, "MESSAGE_CREATE"))
	}
}
