package fakediscord

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cordage/cordage/events"
)

type chunk struct {
	GuildID    events.Snowflake   `json:"guild_id"`
	Members    []events.Member    `json:"members"`
	ChunkIndex int                `json:"chunk_index"`
	ChunkCount int                `json:"chunk_count"`
	NotFound   []events.Snowflake `json:"not_found"`
	Presences  []json.RawMessage  `json:"presences"`
	Nonce      *string            `json:"nonce"`
}

func readChunks(t *testing.T, c *wsClient) []chunk {
	t.Helper()
	var out []chunk
	for {
		env := c.expect(events.OpDispatch, "GUILD_MEMBERS_CHUNK")
		var ch chunk
		if err := env.Decode(&ch); err != nil {
			t.Fatal(err)
		}
		if ch.ChunkIndex != len(out) {
			t.Fatalf("chunk index %d, want %d", ch.ChunkIndex, len(out))
		}
		out = append(out, ch)
		if len(out) == ch.ChunkCount {
			return out
		}
	}
}

func memberReq(guild events.Snowflake, query *string, limit int, presences bool, ids []events.Snowflake, nonce string) map[string]any {
	m := map[string]any{"guild_id": guild, "limit": limit, "presences": presences}
	if query != nil {
		m["query"] = *query
	}
	if ids != nil {
		m["user_ids"] = ids
	}
	if nonce != "" {
		m["nonce"] = nonce
	}
	return m
}

func TestRequestGuildMembers(t *testing.T) {
	clk := manualClock()
	s := newServer(t, WithClock(clk), WithMembersPerGuild(1100), WithGuilds(1))
	c, _ := connect(t, s, 0, 1, dialOpts{})
	g := s.Guilds()[0]
	all := ""

	// All members: 1100 members and the bot in chunks of at most 1000.
	c.send(events.OpRequestGuildMembers, memberReq(g, &all, 0, true, nil, "n1"))
	chunks := readChunks(t, c)
	if len(chunks) != 2 {
		t.Fatalf("%d chunks", len(chunks))
	}
	seen := map[events.Snowflake]bool{}
	for _, ch := range chunks {
		if len(ch.Members) > 1000 || ch.ChunkCount != 2 || ch.Nonce == nil || *ch.Nonce != "n1" || ch.GuildID != g {
			t.Fatalf("chunk %d: %d members, count %d, nonce %v", ch.ChunkIndex, len(ch.Members), ch.ChunkCount, ch.Nonce)
		}
		if len(ch.Presences) != len(ch.Members) {
			t.Fatalf("chunk %d: %d presences for %d members", ch.ChunkIndex, len(ch.Presences), len(ch.Members))
		}
		for _, m := range ch.Members {
			seen[m.User.ID] = true
		}
	}
	if len(seen) != 1101 {
		t.Fatalf("%d distinct members", len(seen))
	}

	// A second all-members request within 30 s: RATE_LIMITED, no chunks.
	clk.Advance(10 * time.Second)
	c.send(events.OpRequestGuildMembers, memberReq(g, &all, 0, false, nil, "n2"))
	env := c.expect(events.OpDispatch, "RATE_LIMITED")
	var rl events.RateLimited
	var meta events.RequestGuildMembersRateLimit
	if err := env.Decode(&rl); err != nil || json.Unmarshal(rl.Meta, &meta) != nil {
		t.Fatal(err)
	}
	if rl.Opcode != events.OpRequestGuildMembers || rl.RetryAfter != 20 || meta.GuildID != g || meta.Nonce != "n2" {
		t.Fatalf("RATE_LIMITED %s", env.D)
	}
	if env.S == 0 {
		t.Fatal("RATE_LIMITED is a dispatch and carries a seq")
	}
	// Other requests are not limited.
	q := "member0000"
	c.send(events.OpRequestGuildMembers, memberReq(g, &q, 5, false, nil, ""))
	chunks = readChunks(t, c)
	if len(chunks) != 1 || len(chunks[0].Members) != 5 || chunks[0].Nonce != nil || chunks[0].Presences != nil {
		t.Fatalf("query chunk %+v", chunks)
	}
	for _, m := range chunks[0].Members {
		if !strings.HasPrefix(m.User.Username, q) {
			t.Fatalf("member %q does not match %q", m.User.Username, q)
		}
	}
	// A query without a limit returns at most 100.
	q = "member"
	c.send(events.OpRequestGuildMembers, memberReq(g, &q, 0, false, nil, ""))
	if chunks = readChunks(t, c); len(chunks[0].Members) != 100 {
		t.Fatalf("prefix query returned %d", len(chunks[0].Members))
	}
	// 30 s after the first, all members may be asked again.
	clk.Advance(20 * time.Second)
	c.send(events.OpRequestGuildMembers, memberReq(g, &all, 0, false, nil, ""))
	if chunks = readChunks(t, c); len(chunks) != 2 || chunks[0].Presences != nil {
		t.Fatalf("second all-members request: %d chunks", len(chunks))
	}

	// user_ids: found members and not_found; an over-long nonce is dropped.
	ids := []events.Snowflake{s.MemberID(g, 0), s.MemberID(g, 1099), 42, s.MemberID(g, 1100)}
	c.send(events.OpRequestGuildMembers, memberReq(g, nil, 0, false, ids, strings.Repeat("z", 33)))
	chunks = readChunks(t, c)
	if len(chunks) != 1 || len(chunks[0].Members) != 2 || chunks[0].Nonce != nil {
		t.Fatalf("user_ids chunk %+v", chunks[0])
	}
	if !slices.Equal(chunks[0].NotFound, []events.Snowflake{42, s.MemberID(g, 1100)}) {
		t.Fatalf("not_found %v", chunks[0].NotFound)
	}
	// A nonce of exactly 32 bytes is echoed.
	c.send(events.OpRequestGuildMembers, memberReq(g, nil, 0, false, ids[:1], strings.Repeat("z", 32)))
	if chunks = readChunks(t, c); chunks[0].Nonce == nil || len(*chunks[0].Nonce) != 32 {
		t.Fatalf("32-byte nonce not echoed")
	}
	if n := len(s.Received(0)); n != 8 { // identify + 7 requests
		t.Fatalf("received %d frames on shard 0", n)
	}
}

func TestRequestGuildMembersNeedsIntents(t *testing.T) {
	s := newServer(t, WithGuilds(1))
	c := dial(t, s, dialOpts{})
	c.hello()
	c.send(events.OpIdentify, identifyPayload(s, 0, 1, events.IntentGuilds))
	c.until(events.OpDispatch, "GUILD_CREATE")
	g := s.Guilds()[0]
	// Presences are forced off without GUILD_PRESENCES.
	q := "member"
	c.send(events.OpRequestGuildMembers, memberReq(g, &q, 3, true, nil, ""))
	if chunks := readChunks(t, c); chunks[0].Presences != nil {
		t.Fatal("presences without GUILD_PRESENCES")
	}
	// All members needs GUILD_MEMBERS.
	all := ""
	c.send(events.OpRequestGuildMembers, memberReq(g, &all, 0, false, nil, ""))
	if got := c.closeCode(); got != events.CloseUnknownOpcode {
		t.Fatalf("closed with %v", got)
	}
}

func TestVoiceStateUpdate(t *testing.T) {
	s := newServer(t, WithGuilds(1), WithVoiceEndpoint("voice.test:443"))
	c, _ := connect(t, s, 0, 1, dialOpts{})
	g := s.Guilds()[0]
	ch := s.world.voiceChannel(g)
	c.send(events.OpVoiceStateUpdate, events.UpdateVoiceState{GuildID: g, ChannelID: &ch, SelfDeaf: true})
	env := c.expect(events.OpDispatch, "VOICE_STATE_UPDATE")
	var vs struct {
		GuildID   events.Snowflake  `json:"guild_id"`
		ChannelID *events.Snowflake `json:"channel_id"`
		UserID    events.Snowflake  `json:"user_id"`
		SessionID string            `json:"session_id"`
		SelfDeaf  bool              `json:"self_deaf"`
	}
	if env.Decode(&vs) != nil || vs.GuildID != g || vs.ChannelID == nil || *vs.ChannelID != ch || vs.UserID != s.BotUser().ID || vs.SessionID == "" || !vs.SelfDeaf {
		t.Fatalf("VOICE_STATE_UPDATE %s", env.D)
	}
	env = c.expect(events.OpDispatch, "VOICE_SERVER_UPDATE")
	var vsu struct {
		Token    string           `json:"token"`
		GuildID  events.Snowflake `json:"guild_id"`
		Endpoint string           `json:"endpoint"`
	}
	if env.Decode(&vsu) != nil || vsu.Token == "" || vsu.GuildID != g || vsu.Endpoint != "voice.test:443" {
		t.Fatalf("VOICE_SERVER_UPDATE %s", env.D)
	}
	// Leaving: only the voice state.
	c.send(events.OpVoiceStateUpdate, events.UpdateVoiceState{GuildID: g})
	env = c.expect(events.OpDispatch, "VOICE_STATE_UPDATE")
	if env.Decode(&vs) != nil || vs.ChannelID != nil {
		t.Fatalf("leave: %s", env.D)
	}
	if err := s.DispatchToShard(0, "MARK", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	c.expect(events.OpDispatch, "MARK")
}

func TestSoundboardChannelInfoPresence(t *testing.T) {
	s := newServer(t, WithGuilds(4), WithShardCount(2))
	c, r := connect(t, s, 1, 2, dialOpts{})
	mine := s.GuildsOfShard(1, 2)
	if len(mine) != 2 || len(r.Guilds) != 2 {
		t.Fatalf("shard 1 guilds %v", mine)
	}
	other := s.GuildsOfShard(0, 2)[0]
	c.send(events.OpRequestSoundboardSounds, events.RequestSoundboardSounds{GuildIDs: append([]events.Snowflake{other}, mine...)})
	for _, g := range mine {
		env := c.expect(events.OpDispatch, "SOUNDBOARD_SOUNDS")
		var ss struct {
			GuildID events.Snowflake  `json:"guild_id"`
			Sounds  []json.RawMessage `json:"soundboard_sounds"`
		}
		if env.Decode(&ss) != nil || ss.GuildID != g || len(ss.Sounds) != 1 {
			t.Fatalf("SOUNDBOARD_SOUNDS %s", env.D)
		}
	}
	c.send(events.OpRequestChannelInfo, events.RequestChannelInfo{GuildID: mine[0], Fields: []string{"status", "voice_start_time"}})
	env := c.expect(events.OpDispatch, "CHANNEL_INFO")
	var ci struct {
		GuildID  events.Snowflake `json:"guild_id"`
		Channels []struct {
			ID             events.Snowflake `json:"id"`
			Status         *string          `json:"status"`
			VoiceStartTime *int64           `json:"voice_start_time"`
		} `json:"channels"`
	}
	if env.Decode(&ci) != nil || ci.GuildID != mine[0] || len(ci.Channels) != 1 || ci.Channels[0].Status == nil || ci.Channels[0].VoiceStartTime == nil {
		t.Fatalf("CHANNEL_INFO %s", env.D)
	}
	c.send(events.OpPresenceUpdate, events.PresenceUpdate{Status: "idle", Activities: []events.Activity{events.NewActivity("tests", 0, "")}})
	if err := s.WaitFor(ctxT(t), func(sn *Snapshot) bool { return sn.Received[1] == 4 }); err != nil {
		t.Fatal(err)
	}
	got := s.Received(1)
	ops := []events.Op{got[0].Op, got[1].Op, got[2].Op, got[3].Op}
	if !slices.Equal(ops, []events.Op{events.OpIdentify, events.OpRequestSoundboardSounds, events.OpRequestChannelInfo, events.OpPresenceUpdate}) {
		t.Fatalf("received ops %v", ops)
	}
	if len(s.Received(0)) != 0 {
		t.Fatal("shard 1's frames recorded for shard 0")
	}
}
