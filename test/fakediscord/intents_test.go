package fakediscord

import (
	"testing"
	"time"

	"github.com/cordage/cordage/events"
)

func TestIntentFilter(t *testing.T) {
	s := newServer(t, WithIntentFilter(), WithGuilds(1), WithMaxConcurrency(2), WithShardCount(1))
	g := s.Guilds()[0]
	shard := g.ShardID(2)
	connectWith := func(intents events.Intent) *wsClient {
		c := dial(t, s, dialOpts{})
		c.hello()
		c.send(events.OpIdentify, identifyPayload(s, shard, 2, intents))
		c.until(events.OpDispatch, "READY")
		return c
	}
	messages := connectWith(events.IntentGuilds | events.IntentGuildMessages)
	if err := s.Dispatch(g, "MESSAGE_CREATE", map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Dispatch(g, "TYPING_START", map[string]any{}); err != ErrNoSession {
		t.Fatalf("TYPING_START without GUILD_MESSAGE_TYPING: %v", err)
	}
	if err := s.Dispatch(g, "INTERACTION_CREATE", map[string]any{}); err != nil {
		t.Fatalf("an event tied to no intent: %v", err)
	}
	messages.until(events.OpDispatch, "MESSAGE_CREATE")
	messages.expect(events.OpDispatch, "INTERACTION_CREATE")
	if intentFor("MESSAGE_CREATE", 0) != events.IntentDirectMessages ||
		intentFor("MESSAGE_REACTION_ADD", g) != events.IntentGuildMessageReactions ||
		intentFor("MESSAGE_REACTION_ADD", 0) != events.IntentDirectMessageReactions ||
		intentFor("READY", g) != 0 {
		t.Fatal("intent table")
	}
}

func TestReadyShardOnlyWhenSent(t *testing.T) {
	s := newServer(t)
	c := dial(t, s, dialOpts{})
	c.hello()
	id := identifyPayload(s, 0, 1, events.IntentGuilds)
	id.Shard = nil
	c.send(events.OpIdentify, id)
	var r events.Ready
	if err := c.expect(events.OpDispatch, "READY").Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.Shard != nil || len(r.Guilds) != len(s.Guilds()) {
		t.Fatalf("READY %+v", r)
	}
	if rec := s.IdentifyLog()[0]; rec.Shard != 0 || rec.ShardCount != 1 || !rec.Accepted || rec.ViaResumeURL {
		t.Fatalf("identify record %+v", rec)
	}
	// Identifying on the resume URL works, but is recorded.
	c2 := dial(t, s, dialOpts{resume: true})
	c2.hello()
	s.mu.Lock()
	s.lastIdentify = map[int]time.Time{} // skip the 5 s wait: pacing is tested elsewhere
	s.mu.Unlock()
	c2.send(events.OpIdentify, identifyPayload(s, 0, 1, events.IntentGuilds))
	c2.expect(events.OpDispatch, "READY")
	if rec := s.IdentifyLog()[1]; !rec.ViaResumeURL || !rec.Accepted {
		t.Fatalf("identify record %+v", rec)
	}
}
