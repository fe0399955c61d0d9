package fakediscord

import (
	"encoding/json"
	"testing"

	"github.com/cordage/cordage/events"
)

// While a bot runs two shard sets side by side (a re-shard), every guild event goes to each
// session whose shard covers the guild under that session's own count, with one event id.
func TestOverlappingShardSets(t *testing.T) {
	s := newServer(t, WithGuilds(8), WithShardCount(2), WithMaxConcurrency(16))
	if err := s.SetRecommendedShards(0); err == nil {
		t.Fatal("SetRecommendedShards(0) accepted")
	}
	if err := s.SetRecommendedShards(4); err != nil {
		t.Fatal(err)
	}
	code, body := restGet(t, s, "/gateway/bot", "Bot "+s.Token())
	var gw events.GatewayBot
	if code != 200 || json.Unmarshal(body, &gw) != nil || gw.Shards != 4 || s.RecommendedShards() != 4 {
		t.Fatalf("GET /gateway/bot after SetRecommendedShards(4): %d %s", code, body)
	}
	// Distinct identify buckets (shard % 16), so no spacing wait.
	a, _ := connect(t, s, 0, 2, dialOpts{}) // old set: covers (id>>22)%2 == 0
	b, _ := connect(t, s, 2, 4, dialOpts{}) // new set: covers (id>>22)%4 == 2
	c, _ := connect(t, s, 1, 4, dialOpts{}) // new set: covers (id>>22)%4 == 1
	g := s.GuildsOfShard(2, 4)[0]
	h := s.GuildsOfShard(1, 4)[0]
	if err := s.Dispatch(g, "MESSAGE_CREATE", map[string]any{"guild_id": g, "content": "both sets"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Dispatch(h, "MESSAGE_CREATE", map[string]any{"guild_id": h, "content": "new set only"}); err != nil {
		t.Fatal(err)
	}
	ea := a.expect(events.OpDispatch, "MESSAGE_CREATE")
	eb := b.expect(events.OpDispatch, "MESSAGE_CREATE")
	ec := c.expect(events.OpDispatch, "MESSAGE_CREATE")
	if string(ea.D) != string(eb.D) || !contains(string(ea.D), "both sets") || !contains(string(ec.D), "new set only") {
		t.Fatalf("old set got %s, new set got %s and %s", ea.D, eb.D, ec.D)
	}
	ids := map[string][]int{} // event id → shard counts of the sessions that got it
	for _, sess := range s.Ledger().Sessions {
		for _, e := range sess.Dispatches {
			if e.T == "MESSAGE_CREATE" {
				ids[e.EventID] = append(ids[e.EventID], sess.ShardCount)
			}
		}
	}
	if len(ids) != 2 {
		t.Fatalf("ledger has %d MESSAGE_CREATE event ids, want 2: %v", len(ids), ids)
	}
	for id, counts := range ids {
		if len(counts) != 2 && len(counts) != 1 {
			t.Fatalf("event %s went to sessions of counts %v", id, counts)
		}
	}
}
