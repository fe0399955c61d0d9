package fakediscord

import (
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
)

func TestHelloIdentifyReadyHeartbeat(t *testing.T) {
	s := newServer(t, WithGuilds(4), WithHeartbeatInterval(41250*time.Millisecond), WithClock(clock.Scaled(10)))
	c := dial(t, s, dialOpts{})
	h := c.hello()
	if h.HeartbeatInterval != 41250 {
		t.Fatalf("heartbeat_interval %d", h.HeartbeatInterval)
	}
	c.send(events.OpHeartbeat, nil)
	c.expect(events.OpHeartbeatACK, "")
	c.send(events.OpIdentify, identifyPayload(s, 0, 1, events.IntentGuilds))
	env := c.expect(events.OpDispatch, "READY")
	if env.S != 1 {
		t.Fatalf("READY seq %d, want 1", env.S)
	}
	var r events.Ready
	if err := env.Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.SessionID == "" || r.ResumeGatewayURL != s.ResumeURL() || r.ResumeGatewayURL == s.GatewayURL() {
		t.Fatalf("bad READY %+v", r)
	}
	if r.Shard == nil || *r.Shard != (events.ShardInfo{0, 1}) || r.Application.ID == 0 || r.User.ID != s.BotUser().ID {
		t.Fatalf("bad READY %+v", r)
	}
	if len(r.Guilds) != 4 {
		t.Fatalf("READY has %d guilds, want 4", len(r.Guilds))
	}
	for i, g := range r.Guilds {
		if !g.Unavailable {
			t.Fatalf("guild %v not unavailable", g.ID)
		}
		gc := c.expect(events.OpDispatch, "GUILD_CREATE")
		if gc.S != int64(i+2) {
			t.Fatalf("GUILD_CREATE seq %d, want %d", gc.S, i+2)
		}
	}
	c.send(events.OpHeartbeat, 5)
	c.expect(events.OpHeartbeatACK, "")
}
