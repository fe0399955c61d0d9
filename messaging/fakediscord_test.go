package messaging_test

import (
	"strings"
	"testing"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/messaging"
	"github.com/cordage/cordage/test/fakediscord"
	"github.com/cordage/cordage/test/fakediscord/restsim"
)

// TestThroughFakediscord runs the client against the whole simulator: fakediscord answers
// /gateway/bot and /users/@me itself and hands every other REST route to restsim.
func TestThroughFakediscord(t *testing.T) {
	clk := clock.Scaled(100)
	sim := restsim.New(restsim.Config{Clock: clk, Token: fakediscord.DefaultToken})
	srv, err := fakediscord.New(fakediscord.WithREST(sim), fakediscord.WithClock(clk), fakediscord.WithShardCount(3))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := messaging.New(srv.Token(), messaging.WithBaseURL(srv.RESTURL()), messaging.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	gb, err := c.GatewayBot(ctx)
	if err != nil || gb.Shards != 3 || !strings.HasPrefix(gb.URL, "ws://") {
		t.Fatalf("gateway/bot = %+v, %v", gb, err)
	}
	me, err := c.GetCurrentUser(ctx)
	if err != nil || me.ID != srv.BotUser().ID {
		t.Fatalf("@me = %+v, %v", me, err)
	}
	ch := sim.Seeded().ChannelIDs[0]
	m, err := c.CreateMessage(ctx, ch, messaging.MessageCreate{Content: "through the simulator"})
	if err != nil || m.Content != "through the simulator" {
		t.Fatalf("create = %+v, %v", m, err)
	}
	if len(sim.Ledger()) != 1 || sim.Ledger()[0].Route != "/channels/{channel.id}/messages" {
		t.Fatalf("restsim ledger = %+v", sim.Ledger())
	}
	for _, ua := range srv.UserAgents() {
		if ua != c.UserAgent() {
			t.Fatalf("User-Agent %q", ua)
		}
	}
	if len(srv.UserAgents()) == 0 {
		t.Fatal("fakediscord saw no REST request")
	}
	c.CloseIdleConnections()
}
