package connections_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
)

// waitReceived waits until the server has read n frames with op from shard's sessions.
func waitReceived(t *testing.T, srv *fakediscord.Server, shard int, op events.Op, n int) {
	t.Helper()
	if err := srv.WaitFor(ctxT(t), func(*fakediscord.Snapshot) bool { return received(srv, shard, op) >= n }); err != nil {
		t.Fatalf("shard %d: waiting for %d × %v: %v (have %d)", shard, n, op, err, received(srv, shard, op))
	}
}

func received(srv *fakediscord.Server, shard int, op events.Op) int {
	n := 0
	for _, env := range srv.Received(shard) {
		if env.Op == op {
			n++
		}
	}
	return n
}

// Presence updates go to every shard (or the chosen ones); voice state updates and member
// requests go to the guild's shard only.
func TestCommandRouting(t *testing.T) {
	const shards = 3
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithShardCount(shards), fakediscord.WithGuilds(6),
		fakediscord.WithMaxConcurrency(shards))
	conn, rec := connectBot(t, srv, clk, connections.WithIntents(events.IntentGuilds|events.IntentGuildMembers|events.IntentGuildVoiceStates))
	ready(t, rec)
	ctx := ctxT(t)

	if err := conn.UpdateStatus(ctx, events.PresenceUpdate{Status: events.StatusIdle, Activities: []events.Activity{events.NewActivity("tests", events.ActivityWatching, "")}}); err != nil {
		t.Fatal(err)
	}
	for sh := range shards {
		waitReceived(t, srv, sh, events.OpPresenceUpdate, 1)
	}
	if err := conn.UpdateStatus(ctx, events.PresenceUpdate{Status: events.StatusOnline}, 2); err != nil {
		t.Fatal(err)
	}
	waitReceived(t, srv, 2, events.OpPresenceUpdate, 2)
	if received(srv, 2, events.OpPresenceUpdate) != 2 || received(srv, 0, events.OpPresenceUpdate) != 1 {
		t.Fatal("a presence update for shard 2 reached another shard")
	}

	g := srv.Guilds()[1]
	home := g.ShardID(shards)
	ch := events.Snowflake(123)
	if err := conn.UpdateVoiceState(ctx, connections.VoiceStateUpdate{GuildID: g, ChannelID: &ch, Deaf: true}); err != nil {
		t.Fatal(err)
	}
	q := ""
	if err := conn.RequestGuildMembers(ctx, connections.RequestGuildMembers{GuildID: g, Query: &q, Limit: 5, Nonce: "n1"}); err != nil {
		t.Fatal(err)
	}
	waitReceived(t, srv, home, events.OpVoiceStateUpdate, 1)
	waitReceived(t, srv, home, events.OpRequestGuildMembers, 1)
	for sh := range shards {
		want := 0
		if sh == home {
			want = 1
		}
		if got := received(srv, sh, events.OpVoiceStateUpdate); got != want {
			t.Fatalf("shard %d got %d voice state updates, want %d", sh, got, want)
		}
		if got := received(srv, sh, events.OpRequestGuildMembers); got != want {
			t.Fatalf("shard %d got %d member requests, want %d", sh, got, want)
		}
	}
	evs := rec.wait(t, "GUILD_MEMBERS_CHUNK", func(evs []connections.Event) bool { return countType(evs, "GUILD_MEMBERS_CHUNK") > 0 })
	for _, ev := range evs {
		if ev.Type == "GUILD_MEMBERS_CHUNK" || ev.Type == "VOICE_STATE_UPDATE" {
			if ev.Shard != home {
				t.Fatalf("%s arrived on shard %d, want %d", ev.Type, ev.Shard, home)
			}
		}
	}

	// Bad requests come back as errors, not drops.
	long := strings.Repeat("n", events.MaxNonceLength+1)
	if err := conn.RequestGuildMembers(ctx, connections.RequestGuildMembers{GuildID: g, Query: &q, Nonce: long}); !errors.Is(err, connections.ErrInvalidOption) {
		t.Fatalf("long nonce: %v", err)
	}
	if err := conn.RequestGuildMembers(ctx, connections.RequestGuildMembers{GuildID: g}); !errors.Is(err, connections.ErrInvalidOption) {
		t.Fatalf("no query: %v", err)
	}
	if err := conn.UpdateStatus(ctx, events.PresenceUpdate{Status: events.StatusOnline}, 7); !errors.Is(err, connections.ErrUnknownShard) {
		t.Fatalf("unknown shard: %v", err)
	}
}

// Commands over 4096 bytes fail before they are sent, and the connection stays up.
func TestPayloadTooLarge(t *testing.T) {
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithGuilds(2))
	conn, rec := connectBot(t, srv, clk)
	ready(t, rec)
	big := events.PresenceUpdate{Status: events.StatusOnline, Activities: []events.Activity{{Name: strings.Repeat("x", 4100)}}}
	err := conn.UpdateStatus(ctxT(t), big)
	if !errors.Is(err, connections.ErrPayloadTooLarge) {
		t.Fatalf("got %v, want ErrPayloadTooLarge", err)
	}
	if received(srv, 0, events.OpPresenceUpdate) != 0 {
		t.Fatal("the oversized payload was sent")
	}
	// Just under the limit goes through.
	fits := events.PresenceUpdate{Status: events.StatusOnline, Activities: []events.Activity{{Name: strings.Repeat("x", 3900)}}}
	if err := conn.UpdateStatus(ctxT(t), fits); err != nil {
		t.Fatal(err)
	}
	waitReceived(t, srv, 0, events.OpPresenceUpdate, 1)
	if n := count(rec.snapshot(), connections.KindShardDisconnected); n != 0 {
		t.Fatalf("%d disconnects", n)
	}
}

// The 121st send in a minute would get close 4008; the runtime refuses it (keeping room for
// heartbeats) with a SendWindowError that says when to retry.
func TestSendWindow(t *testing.T) {
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithGuilds(2))
	conn, rec := connectBot(t, srv, clk)
	ready(t, rec)
	ctx := ctxT(t)
	sent := 0
	var err error
	for ; sent < 200; sent++ {
		if err = conn.UpdateStatus(ctx, events.PresenceUpdate{Status: events.StatusOnline}); err != nil {
			break
		}
	}
	var swe *connections.SendWindowError
	if !errors.As(err, &swe) || !errors.Is(err, connections.ErrSendWindowFull) || swe.RetryAfter <= 0 || swe.RetryAfter > time.Minute+time.Second {
		t.Fatalf("after %d sends: %v", sent, err)
	}
	// Identify used one send and heartbeats may have used a few; five stay reserved.
	if sent < 100 || sent > 114 {
		t.Fatalf("%d commands fit in the window, want 100–114", sent)
	}
	// Heartbeats still go out, and the server never saw more than 120 sends a minute.
	if err := srv.RequestHeartbeat(0); err != nil {
		t.Fatal(err)
	}
	tm := clk.NewTimer(5 * time.Second)
	<-tm.C()
	if n := count(rec.snapshot(), connections.KindShardDisconnected); n != 0 {
		t.Fatalf("disconnected: %s", summary(rec.snapshot()))
	}
}
