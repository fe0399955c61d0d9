package bench

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
)

// dispatch is one corpus event: its name and the exact bytes of its "d".
type dispatch struct {
	T string
	D json.RawMessage
}

// corpus is a deterministic stream of dispatches, built once per process.
type corpus struct {
	name   string
	events []dispatch
	bytes  int // sum of len(D)
}

// Corpus sizes. The steady set repeats after steadyLen events; big sets are short.
const (
	steadyLen  = 4000
	guildCount = 8
)

var (
	steadyOnce, startupOnce sync.Once
	steadyCorpus            *corpus
	startupCorpus           *corpus
)

// steady returns the steady-traffic mix of perf.md: 40 % MESSAGE_CREATE (a fifth replies with
// the referenced message inlined, 15 % with embeds), 30 % PRESENCE_UPDATE, 15 % TYPING_START,
// 8 % GUILD_MEMBER_UPDATE and 7 % MESSAGE_REACTION_ADD, in Discord's field shapes (v10), with a
// few fields no typed decoder knows.
func steady() *corpus {
	steadyOnce.Do(func() {
		g := newGen(1)
		c := &corpus{name: "steady"}
		for range steadyLen {
			var d dispatch
			switch r := g.r.IntN(100); {
			case r < 40:
				d = dispatch{"MESSAGE_CREATE", g.message(true)}
			case r < 70:
				d = dispatch{"PRESENCE_UPDATE", g.presence()}
			case r < 85:
				d = dispatch{"TYPING_START", g.typing()}
			case r < 93:
				d = dispatch{"GUILD_MEMBER_UPDATE", g.memberUpdate()}
			default:
				d = dispatch{"MESSAGE_REACTION_ADD", g.reaction()}
			}
			c.events = append(c.events, d)
			c.bytes += len(d.D)
		}
		steadyCorpus = c
	})
	return steadyCorpus
}

// startup returns large GUILD_CREATEs (about 50 KB to 1.9 MB each): members, channels, roles,
// emojis and presences, as a bot sees them right after READY.
func startup() *corpus {
	startupOnce.Do(func() {
		g := newGen(2)
		c := &corpus{name: "startup"}
		for i, members := range []int{40, 150, 400, 800, 1200, 1800, 2500, 600} {
			channels := 15 + i*30
			d := dispatch{"GUILD_CREATE", g.guild(i, members, channels)}
			c.events = append(c.events, d)
			c.bytes += len(d.D)
		}
		startupCorpus = c
	})
	return startupCorpus
}

type gen struct {
	r     *rand.Rand
	next  uint64
	users []map[string]any
}

func newGen(seed uint64) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x636f7264616765)), next: 1_100_000_000_000_000_000}
	for i := range 400 {
		g.users = append(g.users, g.user(i))
	}
	return g
}

// id returns a fresh snowflake string.
func (g *gen) id() string {
	g.next += 1 + uint64(g.r.IntN(1<<22))
	return strconv.FormatUint(g.next, 10)
}

func (g *gen) guildID() string {
	return strconv.FormatUint(1_000_000_000_000_000_000+uint64(g.r.IntN(guildCount))<<22, 10)
}

func (g *gen) hex(n int) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for range n {
		b.WriteByte(digits[g.r.IntN(16)])
	}
	return b.String()
}

var words = strings.Fields(`the a gateway shard resume heartbeat message guild channel role ` +
	`bot user ping pong latency deploy release build test fix cache queue event stream ` +
	`zlib zstd websocket token limit bucket window replay session ready hello invalid ` +
	`cordage discord rust go clojure channel select context cancel goroutine leak soak`)

func (g *gen) text(min, max int) string {
	n := min + g.r.IntN(max-min+1)
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[g.r.IntN(len(words))])
	}
	return b.String()
}

func (g *gen) stamp() string {
	return fmt.Sprintf("2026-%02d-%02dT%02d:%02d:%02d.%06d+00:00",
		1+g.r.IntN(12), 1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60), g.r.IntN(60), g.r.IntN(1_000_000))
}

func (g *gen) user(i int) map[string]any {
	u := map[string]any{
		"id":            g.id(),
		"username":      fmt.Sprintf("user%04d_%s", i, g.hex(3)),
		"discriminator": "0",
		"global_name":   "User " + g.text(4, 14),
		"avatar":        g.hex(32),
		"public_flags":  g.r.IntN(2) * 64,
		"flags":         0,
		"banner":        nil,
		"accent_color":  nil,
		"clan":          nil,
	}
	if g.r.IntN(4) == 0 {
		u["avatar_decoration_data"] = map[string]any{"asset": "a_" + g.hex(32), "sku_id": g.id(), "expires_at": nil}
	} else {
		u["avatar_decoration_data"] = nil
	}
	if g.r.IntN(5) == 0 {
		u["primary_guild"] = map[string]any{"identity_guild_id": g.id(), "identity_enabled": true, "tag": "CRD", "badge": g.hex(32)}
	}
	if g.r.IntN(6) == 0 {
		u["collectibles"] = map[string]any{"nameplate": map[string]any{"sku_id": g.id(), "asset": "nameplates/x/" + g.hex(8), "label": "", "palette": "crimson"}}
	}
	return u
}

func (g *gen) someUser() map[string]any { return g.users[g.r.IntN(len(g.users))] }

func (g *gen) roles(n int) []string {
	out := make([]string, g.r.IntN(n+1))
	for i := range out {
		out[i] = g.id()
	}
	return out
}

func (g *gen) member(withUser bool) map[string]any {
	m := map[string]any{
		"roles":                        g.roles(5),
		"joined_at":                    g.stamp(),
		"premium_since":                nil,
		"deaf":                         false,
		"mute":                         false,
		"pending":                      false,
		"nick":                         nil,
		"avatar":                       nil,
		"banner":                       nil,
		"flags":                        0,
		"communication_disabled_until": nil,
	}
	if g.r.IntN(3) == 0 {
		m["nick"] = g.text(4, 16)
	}
	if withUser {
		m["user"] = g.someUser()
	}
	return m
}

func (g *gen) message(allowReply bool) json.RawMessage {
	return mustJSON(g.messageMap(allowReply, g.guildID()))
}

func (g *gen) messageMap(allowReply bool, guild string) map[string]any {
	channel := g.id()
	m := map[string]any{
		"type":              0,
		"tts":               false,
		"timestamp":         g.stamp(),
		"pinned":            false,
		"nonce":             g.id(),
		"mentions":          []any{},
		"mention_roles":     []any{},
		"mention_everyone":  false,
		"member":            g.member(false),
		"id":                g.id(),
		"flags":             0,
		"embeds":            []any{},
		"edited_timestamp":  nil,
		"content":           g.text(10, 400),
		"components":        []any{},
		"channel_id":        channel,
		"author":            g.someUser(),
		"attachments":       []any{},
		"guild_id":          guild,
		"channel_type":      0,
		"poll_result":       nil,
		"application_id":    nil,
		"webhook_id":        nil,
		"interaction":       nil,
		"sticker_items":     []any{},
		"soundboard_sounds": nil,
	}
	if g.r.IntN(4) == 0 {
		m["mentions"] = []any{g.someUser()}
	}
	if g.r.IntN(100) < 15 {
		m["embeds"] = []any{map[string]any{
			"type":        "rich",
			"title":       g.text(10, 60),
			"description": g.text(60, 500),
			"url":         "https://example.invalid/" + g.hex(12),
			"color":       g.r.IntN(1 << 24),
			"footer":      map[string]any{"text": g.text(5, 30)},
			"fields": []any{
				map[string]any{"name": g.text(3, 20), "value": g.text(5, 80), "inline": true},
				map[string]any{"name": g.text(3, 20), "value": g.text(5, 80), "inline": false},
			},
			"content_scan_version": 2,
		}}
	}
	if g.r.IntN(10) == 0 {
		id := g.id()
		m["attachments"] = []any{map[string]any{
			"id": id, "filename": "image_" + g.hex(6) + ".png", "size": 1000 + g.r.IntN(900000),
			"url":       "https://cdn.example.invalid/attachments/" + channel + "/" + id + "/image.png?ex=" + g.hex(8) + "&is=" + g.hex(8) + "&hm=" + g.hex(64),
			"proxy_url": "https://media.example.invalid/attachments/" + channel + "/" + id + "/image.png?ex=" + g.hex(8),
			"width":     1 + g.r.IntN(2000), "height": 1 + g.r.IntN(2000), "content_type": "image/png",
			"placeholder": g.hex(24), "placeholder_version": 1,
		}}
	}
	if allowReply && g.r.IntN(5) == 0 {
		ref := g.messageMap(false, guild)
		ref["channel_id"] = channel
		delete(ref, "member")
		m["type"] = 19
		m["message_reference"] = map[string]any{"type": 0, "channel_id": channel, "message_id": ref["id"], "guild_id": guild}
		m["referenced_message"] = ref
		m["mentions"] = []any{ref["author"]}
	}
	return m
}

func (g *gen) activity() map[string]any {
	switch g.r.IntN(3) {
	case 0:
		return map[string]any{"type": 4, "name": "Custom Status", "state": g.text(5, 40), "id": "custom", "created_at": 1767225600000 + g.r.Int64N(1e9)}
	case 1:
		return map[string]any{
			"type": 2, "name": "Spotify", "id": "spotify:1", "flags": 48, "party": map[string]any{"id": "spotify:" + g.id()},
			"details": g.text(5, 40), "state": g.text(5, 30), "sync_id": g.hex(22), "session_id": g.hex(32),
			"timestamps": map[string]any{"start": 1767225600000 + g.r.Int64N(1e9), "end": 1767225900000 + g.r.Int64N(1e9)},
			"assets":     map[string]any{"large_image": "spotify:" + g.hex(40), "large_text": g.text(5, 30)},
			"created_at": 1767225600000 + g.r.Int64N(1e9),
		}
	default:
		return map[string]any{
			"type": 0, "name": "Visual Studio Code", "id": g.hex(16), "application_id": g.id(),
			"details": "Editing " + g.hex(6) + ".go", "state": "Workspace: cordage",
			"timestamps": map[string]any{"start": 1767225600000 + g.r.Int64N(1e9)},
			"assets":     map[string]any{"large_image": g.id(), "large_text": "Editing a Go file", "small_image": g.id(), "small_text": "Visual Studio Code"},
			"created_at": 1767225600000 + g.r.Int64N(1e9),
		}
	}
}

func (g *gen) presence() json.RawMessage {
	acts := []any{}
	for range g.r.IntN(3) {
		acts = append(acts, g.activity())
	}
	status := []string{"online", "idle", "dnd"}[g.r.IntN(3)]
	return mustJSON(map[string]any{
		"user":          map[string]any{"id": g.someUser()["id"]},
		"status":        status,
		"guild_id":      g.guildID(),
		"client_status": map[string]any{"desktop": status},
		"activities":    acts,
	})
}

func (g *gen) typing() json.RawMessage {
	return mustJSON(map[string]any{
		"user_id":    g.someUser()["id"],
		"timestamp":  1767225600 + g.r.IntN(1e6),
		"member":     g.member(true),
		"channel_id": g.id(),
		"guild_id":   g.guildID(),
	})
}

func (g *gen) memberUpdate() json.RawMessage {
	m := g.member(true)
	m["guild_id"] = g.guildID()
	return mustJSON(m)
}

func (g *gen) reaction() json.RawMessage {
	emoji := map[string]any{"id": nil, "name": "👍"}
	if g.r.IntN(2) == 0 {
		emoji = map[string]any{"id": g.id(), "name": "cordage_" + g.hex(4), "animated": false}
	}
	return mustJSON(map[string]any{
		"user_id": g.someUser()["id"], "type": 0, "message_id": g.id(), "message_author_id": g.someUser()["id"],
		"member": g.member(true), "emoji": emoji, "channel_id": g.id(), "burst": false, "burst_colors": []any{},
		"guild_id": g.guildID(),
	})
}

func (g *gen) guild(i, members, channels int) json.RawMessage {
	gid := strconv.FormatUint(1_000_000_000_000_000_000+uint64(i)<<22, 10)
	roles := []any{}
	for r := range 10 + members/50 {
		roles = append(roles, map[string]any{
			"id": g.id(), "name": g.text(3, 20), "color": g.r.IntN(1 << 24), "hoist": r%3 == 0, "position": r,
			"permissions": strconv.FormatUint(g.r.Uint64()>>14, 10), "managed": false, "mentionable": r%2 == 0,
			"flags": 0, "icon": nil, "unicode_emoji": nil, "description": nil,
			"colors": map[string]any{"primary_color": g.r.IntN(1 << 24), "secondary_color": nil, "tertiary_color": nil},
		})
	}
	emojis := []any{}
	for range 5 + members/40 {
		emojis = append(emojis, map[string]any{"id": g.id(), "name": "e_" + g.hex(6), "roles": []any{}, "require_colons": true, "managed": false, "animated": g.r.IntN(4) == 0, "available": true})
	}
	chans := []any{}
	parent := g.id()
	for c := range channels {
		ch := map[string]any{
			"id": g.id(), "type": 0, "name": strings.ReplaceAll(g.text(4, 20), " ", "-"), "position": c,
			"parent_id": parent, "topic": g.text(0, 120), "nsfw": false, "rate_limit_per_user": 0,
			"last_message_id": g.id(), "flags": 0, "version": 1767225600000 + g.r.Int64N(1e9),
			"permission_overwrites": []any{
				map[string]any{"id": gid, "type": 0, "allow": "0", "deny": "1024"},
				map[string]any{"id": g.id(), "type": 1, "allow": "3072", "deny": "0"},
			},
		}
		if c%10 == 0 {
			ch["type"] = 4
			delete(ch, "parent_id")
			parent = ch["id"].(string)
		}
		chans = append(chans, ch)
	}
	mems := []any{}
	pres := []any{}
	for m := range members {
		mm := g.member(true)
		mm["user"] = g.user(m)
		mems = append(mems, mm)
		if m%3 == 0 {
			st := []string{"online", "idle", "dnd"}[g.r.IntN(3)]
			acts := []any{}
			if m%2 == 0 {
				acts = append(acts, g.activity())
			}
			pres = append(pres, map[string]any{"user": map[string]any{"id": mm["user"].(map[string]any)["id"]}, "status": st, "client_status": map[string]any{"desktop": st}, "activities": acts})
		}
	}
	return mustJSON(map[string]any{
		"id": gid, "name": "Bench Guild " + strconv.Itoa(i), "icon": g.hex(32), "splash": nil, "discovery_splash": nil,
		"owner_id": g.someUser()["id"], "afk_channel_id": nil, "afk_timeout": 300, "verification_level": 1,
		"default_message_notifications": 1, "explicit_content_filter": 2, "roles": roles, "emojis": emojis,
		"features": []any{"COMMUNITY", "NEWS", "ANIMATED_ICON"}, "mfa_level": 0, "application_id": nil,
		"system_channel_id": nil, "system_channel_flags": 0, "rules_channel_id": nil, "max_members": 500000,
		"vanity_url_code": nil, "description": g.text(10, 80), "banner": nil, "premium_tier": 1,
		"premium_subscription_count": 3, "preferred_locale": "en-US", "public_updates_channel_id": nil,
		"nsfw_level": 0, "stickers": []any{}, "premium_progress_bar_enabled": false, "safety_alerts_channel_id": nil,
		"joined_at": g.stamp(), "large": members > 250, "unavailable": false, "member_count": members,
		"voice_states": []any{}, "members": mems, "channels": chans, "threads": []any{}, "presences": pres,
		"stage_instances": []any{}, "guild_scheduled_events": []any{}, "soundboard_sounds": []any{},
		"lazy": true, "application_command_counts": map[string]any{"1": 3}, "embedded_activities": []any{},
		"version": 1767225600000, "incidents_data": nil, "latest_onboarding_question_id": nil,
	})
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
