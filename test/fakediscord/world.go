package fakediscord

import (
	"fmt"
	"time"

	"github.com/cordage/cordage/events"
)

// worldEpoch is the creation time of every deterministic snowflake the server makes, so ids do
// not change between runs.
var worldEpoch = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// world is the static data of the simulated bot: its user, its application and its guilds.
type world struct {
	botID    events.Snowflake
	appID    events.Snowflake
	guildIDs []events.Snowflake
	guildSet map[events.Snowflake]int // guild id → index
	members  int
}

func newWorld(cfg *config) *world {
	w := &world{members: cfg.membersPerGuild}
	// The bot's id depends on the seed so that two servers with different seeds are told apart.
	w.botID = events.NewSnowflake(worldEpoch.Add(-time.Hour), uint32(cfg.seed)&0xfff)
	w.appID = w.botID
	if len(cfg.guildIDs) > 0 {
		w.guildIDs = append(w.guildIDs, cfg.guildIDs...)
	} else {
		// Consecutive millisecond parts make (id>>22) % n visit every shard in turn.
		base := events.NewSnowflake(worldEpoch, 0)
		for i := range cfg.guildCount {
			w.guildIDs = append(w.guildIDs, base+events.Snowflake(uint64(i)<<22)|events.Snowflake(i+1))
		}
	}
	w.guildSet = make(map[events.Snowflake]int, len(w.guildIDs))
	for i, id := range w.guildIDs {
		w.guildSet[id] = i
	}
	return w
}

// guildsOfShard returns the guilds that (id>>22) % count routes to shard.
func (w *world) guildsOfShard(shard, count int) []events.Snowflake {
	var out []events.Snowflake
	for _, id := range w.guildIDs {
		if id.ShardID(count) == shard {
			out = append(out, id)
		}
	}
	return out
}

func (w *world) hasGuild(id events.Snowflake) bool {
	_, ok := w.guildSet[id]
	return ok
}

func (w *world) botUser() events.User {
	return events.User{ID: w.botID, Username: "cordage-fake-bot", Discriminator: "0", Bot: true}
}

// memberID is the user id of member i of guild g (i from 0). Member ids are derived from the
// guild id, so they are unique across guilds.
func (w *world) memberID(g events.Snowflake, i int) events.Snowflake {
	return g + events.Snowflake(1<<21) + events.Snowflake(i+1)
}

// memberIndex inverts memberID; ok is false for an id that is not a member of g.
func (w *world) memberIndex(g, user events.Snowflake) (int, bool) {
	if user == w.botID {
		return -1, true
	}
	d := int64(user) - int64(g) - (1 << 21) - 1
	if d < 0 || d >= int64(w.members) {
		return 0, false
	}
	return int(d), true
}

func (w *world) memberName(i int) string { return fmt.Sprintf("member%05d", i) }

func (w *world) member(g events.Snowflake, i int) events.Member {
	if i < 0 {
		u := w.botUser()
		return events.Member{User: &u, Roles: []events.Snowflake{}, JoinedAt: worldEpoch.Format(time.RFC3339)}
	}
	u := events.User{ID: w.memberID(g, i), Username: w.memberName(i), Discriminator: "0"}
	return events.Member{User: &u, Roles: []events.Snowflake{}, JoinedAt: worldEpoch.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)}
}

// channel ids of a guild: the text channel and the voice channel.
func (w *world) textChannel(g events.Snowflake) events.Snowflake  { return g + 1<<20 + 1 }
func (w *world) voiceChannel(g events.Snowflake) events.Snowflake { return g + 1<<20 + 2 }

// guildCreate builds the GUILD_CREATE payload of guild g as a bot with largeThreshold sees it.
func (w *world) guildCreate(g events.Snowflake, largeThreshold int, joined time.Time) map[string]any {
	idx := w.guildSet[g]
	count := w.members + 1 // the bot too
	return map[string]any{
		"id":           g,
		"name":         fmt.Sprintf("Fake Guild %d", idx),
		"icon":         nil,
		"owner_id":     w.memberID(g, 0),
		"joined_at":    joined.UTC().Format(time.RFC3339Nano),
		"large":        count > largeThreshold,
		"unavailable":  false,
		"member_count": count,
		"roles": []map[string]any{{
			"id": g, "name": "@everyone", "permissions": "104324673", "position": 0,
			"color": 0, "hoist": false, "managed": false, "mentionable": false,
		}},
		"channels": []map[string]any{
			{"id": w.textChannel(g), "type": 0, "guild_id": g, "name": "general", "position": 0},
			{"id": w.voiceChannel(g), "type": 2, "guild_id": g, "name": "voice", "position": 1, "bitrate": 64000},
		},
		"members":                []events.Member{w.member(g, -1)},
		"threads":                []any{},
		"presences":              []any{},
		"voice_states":           []any{},
		"stage_instances":        []any{},
		"guild_scheduled_events": []any{},
		"soundboard_sounds":      w.sounds(g),
		"emojis":                 []any{},
		"stickers":               []any{},
		"features":               []string{},
	}
}

func (w *world) sounds(g events.Snowflake) []map[string]any {
	return []map[string]any{{
		"name": "quack", "sound_id": g + 1<<20 + 3, "volume": 1.0, "emoji_id": nil,
		"emoji_name": "🦆", "guild_id": g, "available": true,
	}}
}
