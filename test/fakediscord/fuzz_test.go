package fakediscord

import (
	"fmt"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord/internal/outbox"
)

// FuzzClientFrame feeds arbitrary client frames to a connection, identified or not, and checks
// that the server never panics and only ever closes with a gateway close code.
func FuzzClientFrame(f *testing.F) {
	tok := DefaultToken
	for _, seed := range []string{
		`{"op":1,"d":null}`,
		`{"op":1,"d":"x"}`,
		fmt.Sprintf(`{"op":2,"d":{"token":%q,"intents":513,"properties":{"os":"l","browser":"b","device":"d"},"shard":[0,1]}}`, tok),
		fmt.Sprintf(`{"op":2,"d":{"token":%q,"intents":513,"shard":[3,1],"large_threshold":9}}`, tok),
		fmt.Sprintf(`{"op":6,"d":{"token":%q,"session_id":"x","seq":3}}`, tok),
		`{"op":3,"d":{"since":null,"activities":[{"name":"x","type":0}],"status":"online","afk":false}}`,
		`{"op":4,"d":{"guild_id":"1","channel_id":null,"self_mute":false,"self_deaf":false}}`,
		`{"op":8,"d":{"guild_id":"1","query":"","limit":0,"nonce":"n"}}`,
		`{"op":8,"d":{"guild_id":"1","user_ids":"5"}}`,
		`{"op":31,"d":{"guild_ids":["1"]}}`,
		`{"op":43,"d":{"guild_id":"1","fields":["status"]}}`,
		`{"op":99}`, `[]`, `null`, `{"op":"2"}`, "\xff",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	s, err := New(WithClock(clock.NewManual(time.Unix(1_700_000_000, 0))), WithGuilds(2), WithMembersPerGuild(3))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Close)
	known := map[events.CloseCode]bool{}
	for _, info := range events.CloseCodes {
		known[info.Code] = true
	}
	f.Fuzz(func(t *testing.T, frame string, identified bool) {
		// A connection without a socket: frames go straight to the handler, answers to its queue.
		c := &conn{s: s, id: -1, out: outbox.New[outItem](nil)}
		if identified {
			s.mu.Lock()
			sess := &session{id: "fuzz", shard: 0, count: 1, intents: events.IntentsAll, largeThreshold: 50}
			s.attachLocked(c, sess)
			s.mu.Unlock()
		}
		s.handleFrame(c, []byte(frame))
		for {
			it, ok := c.out.Pop()
			if !ok {
				break
			}
			if it.kind == outClose && !known[it.code] {
				t.Fatalf("closed with %v", it.code)
			}
		}
	})
}
