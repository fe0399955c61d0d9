package connections_test

import (
	"fmt"
	"testing"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
)

func fmtAny(v any) string { return fmt.Sprintf("%+v", v) }

func TestConnectBotReadyAndDispatch(t *testing.T) {
	for _, comp := range []connections.Compression{connections.None, connections.ZlibStream, connections.ZstdStream} {
		t.Run(comp.String(), func(t *testing.T) {
			clk := clock.Scaled(scale)
			srv := newServer(t, clk, fakediscord.WithShardCount(2), fakediscord.WithGuilds(6))
			_, rec := connectBot(t, srv, clk, connections.WithCompression(comp))
			rec.wait(t, "all shards connected", func(evs []connections.Event) bool {
				return count(evs, connections.KindConnectedAllShards) == 1
			})
			g := srv.Guilds()[0]
			if err := srv.Dispatch(g, "MESSAGE_CREATE", map[string]any{"content": "hi", "guild_id": g}); err != nil {
				t.Fatal(err)
			}
			evs := rec.wait(t, "MESSAGE_CREATE", func(evs []connections.Event) bool { return countType(evs, "MESSAGE_CREATE") == 1 })
			for _, ev := range evs {
				if ev.Type == "MESSAGE_CREATE" && ev.Shard != g.ShardID(2) {
					t.Fatalf("message on shard %d, want %d", ev.Shard, g.ShardID(2))
				}
			}
			if n := countType(evs, events.EventReady); n != 2 {
				t.Fatalf("%d READY dispatches, want 2", n)
			}
			for _, ua := range srv.UserAgents() {
				if ua != connections.UserAgent {
					t.Fatalf("User-Agent %q", ua)
				}
			}
		})
	}
}
