package events

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// frame reads a sample frame and returns its envelope, checking the event name.
func frame(t *testing.T, file, name string) Envelope {
	t.Helper()
	b, err := os.ReadFile("testdata/frames/" + file)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	if e.Op != OpDispatch || e.T != name || e.S == 0 {
		t.Fatalf("%s: envelope op=%v t=%q s=%d", file, e.Op, e.T, e.S)
	}
	return e
}

func decode[T any](t *testing.T, e Envelope) T {
	t.Helper()
	var v T
	if err := e.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

func TestDecodeMessageCreate(t *testing.T) {
	m := decode[Message](t, frame(t, "message_create.json", EventMessageCreate))
	if m.ID != 1400000000000000010 || m.ChannelID != 1300000000000000002 || m.GuildID != 1000000000000000007 {
		t.Errorf("ids: %d %d %d", m.ID, m.ChannelID, m.GuildID)
	}
	if m.Type != MessageReply || m.Author.Username != "bob" || m.Author.GlobalName != nil || m.Author.PublicFlags != 64 {
		t.Errorf("type/author: %v %+v", m.Type, m.Author)
	}
	if d := m.Author.AvatarDecorationData; d == nil || d.SkuID != 1600000000000000012 {
		t.Errorf("avatar decoration: %+v", d)
	}
	if m.Member == nil || m.Member.Nick == nil || *m.Member.Nick != "bobby" || len(m.Member.Roles) != 2 || m.Member.User != nil {
		t.Errorf("member: %+v", m.Member)
	}
	if !m.Timestamp.Equal(ts("2026-08-01T12:00:00.123Z")) || m.EditedTimestamp == nil || !m.EditedTimestamp.Equal(ts("2026-08-01T12:00:05.5Z")) {
		t.Errorf("timestamps: %v %v", m.Timestamp, m.EditedTimestamp)
	}
	if m.Nonce != "1400000000000000998" || m.ChannelType == nil || *m.ChannelType != ChannelGuildText {
		t.Errorf("nonce/channel_type: %q %v", m.Nonce, m.ChannelType)
	}
	if len(m.Mentions) != 1 || m.Mentions[0].ID != 1200000000000000003 || m.Mentions[0].Member == nil || m.Mentions[0].DisplayName() != "Alice" {
		t.Errorf("mentions: %+v", m.Mentions)
	}
	if len(m.MentionRoles) != 1 || m.MentionRoles[0] != 1100000000000000005 {
		t.Errorf("mention_roles: %v", m.MentionRoles)
	}
	wantRef := &MessageReference{Type: MessageReferenceDefault, MessageID: 1400000000000000001, ChannelID: 1300000000000000002, GuildID: 1000000000000000007}
	if diff := cmp.Diff(wantRef, m.MessageReference); diff != "" {
		t.Errorf("message_reference (-want +got):\n%s", diff)
	}
	if r := m.ReferencedMessage; r == nil || r.Content != "who wants pizza?" || r.Author.ID != 1200000000000000003 || r.EditedTimestamp != nil {
		t.Errorf("referenced_message: %+v", r)
	}
	wantEmbed := Embed{
		Type: "rich", Title: "Order", Description: "Two **large** pizzas", URL: "https://example.com/order/7",
		Timestamp: ptr(ts("2026-08-01T12:00:00Z")), Color: 0xff0000,
		Footer:    &EmbedFooter{Text: "pizzabot", IconURL: "https://example.com/i.png"},
		Image:     &EmbedMedia{URL: "https://example.com/p.png", ProxyURL: "https://media.example/p.png", Height: 400, Width: 600},
		Thumbnail: &EmbedMedia{URL: "https://example.com/t.png", Height: 80, Width: 80},
		Author:    &EmbedAuthor{Name: "Bob", URL: "https://example.com/bob"},
		Fields:    []EmbedField{{"Size", "large", true}, {"Count", "2", true}, {"Note", "extra cheese", false}},
	}
	if len(m.Embeds) != 1 {
		t.Fatalf("embeds: %d", len(m.Embeds))
	}
	if diff := cmp.Diff(wantEmbed, m.Embeds[0], cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("embed (-want +got):\n%s", diff)
	}
	if len(m.Attachments) != 2 || m.Attachments[1].Width == nil || *m.Attachments[1].Width != 768 || m.Attachments[0].Size != 123456 || m.Attachments[0].Height != nil {
		t.Errorf("attachments: %+v", m.Attachments)
	}
	if len(m.Reactions) != 2 || m.Reactions[0].Emoji.Name != "🍕" || m.Reactions[0].Emoji.Custom() || !m.Reactions[0].Me ||
		m.Reactions[0].CountDetails != (ReactionCountDetails{Burst: 1, Normal: 2}) || m.Reactions[1].Emoji.String() != "<a:party:1500000000000000011>" {
		t.Errorf("reactions: %+v", m.Reactions)
	}
	if !bytes.Contains(m.Components, []byte(`"custom_id":"order:7"`)) {
		t.Errorf("components not kept raw: %s", m.Components)
	}
}

func TestDecodeMessageIntegerNonceAndForward(t *testing.T) {
	m := decode[Message](t, frame(t, "message_create_intnonce.json", EventMessageCreate))
	if m.Nonce != "1234567890123" {
		t.Errorf("integer nonce = %q", m.Nonce)
	}
	if m.Flags&MessageFlagEphemeral == 0 || m.WebhookID != 1800000000000000023 || !m.Author.Bot || m.Member != nil || m.GuildID != 0 {
		t.Errorf("flags/webhook/author: %v %d %+v", m.Flags, m.WebhookID, m.Author)
	}
	ref := m.MessageReference
	if ref == nil || ref.Type != MessageReferenceForward || ref.FailIfNotExists == nil || *ref.FailIfNotExists {
		t.Errorf("forward reference: %+v", ref)
	}
	if len(m.MessageSnapshots) == 0 || len(m.Poll) == 0 || m.ChannelType != nil {
		t.Errorf("raw fields: snapshots=%s poll=%s", m.MessageSnapshots, m.Poll)
	}
	// A nonce is re-sent as a string.
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"nonce":"1234567890123"`)) {
		t.Errorf("nonce not encoded as a string: %s", b)
	}
}

func TestNonceJSON(t *testing.T) {
	for in, want := range map[string]Nonce{`"abc"`: "abc", `12`: "12", `-3`: "-3", `null`: "", `"\u00e9"`: "é"} {
		var n Nonce
		if err := json.Unmarshal([]byte(in), &n); err != nil || n != want {
			t.Errorf("Unmarshal(%s) = %q, %v", in, n, err)
		}
	}
	for _, bad := range []string{`true`, `{}`, `[1]`} {
		var n Nonce
		if err := json.Unmarshal([]byte(bad), &n); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
}

func TestDecodeInteractionCommand(t *testing.T) {
	in := decode[Interaction](t, frame(t, "interaction_command.json", EventInteractionCreate))
	if in.Type != InteractionApplicationCommand || in.Version != 1 || in.ApplicationID != 2100000000000000042 || in.Token == "" {
		t.Errorf("interaction: %+v", in)
	}
	if u := in.Invoker(); u == nil || u.Username != "dave" {
		t.Errorf("invoker: %+v", u)
	}
	if in.Member.Permissions != 1<<52-1 || in.AppPermissions != 1<<52-1 || in.AppPermissions.Has(PermBypassSlowmode) {
		t.Errorf("permissions: %d %d", in.Member.Permissions, in.AppPermissions)
	}
	if !in.Member.TimedOut(ts("2026-08-01T12:59:00Z")) || in.Member.TimedOut(ts("2026-08-01T13:00:01Z")) {
		t.Error("TimedOut")
	}
	if in.Member.JoinedTime().Year() != 2022 || in.Member.Flags != 2 {
		t.Errorf("member: %+v", in.Member)
	}
	if in.Context == nil || *in.Context != ContextGuild || in.Locale != "en-GB" || in.GuildLocale != "de" || in.AttachmentSizeLimit != 10485760 {
		t.Errorf("context/locale: %v %s %s", in.Context, in.Locale, in.GuildLocale)
	}
	if in.Channel == nil || in.Channel.Name != "general" || in.Channel.Permissions == 0 || in.ChannelID != 1300000000000000037 {
		t.Errorf("channel: %+v", in.Channel)
	}
	if string(in.AuthorizingIntegrationOwners) != `{"0":"1000000000000000034"}` || string(in.Entitlements) != `[]` {
		t.Errorf("raw fields: %s %s", in.AuthorizingIntegrationOwners, in.Entitlements)
	}
	if _, err := in.ComponentData(); err == nil {
		t.Error("ComponentData on a command")
	}

	d, err := in.CommandData()
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "mod" || d.Type != CommandChatInput || d.GuildID != 1000000000000000034 {
		t.Errorf("data: %+v", d)
	}
	path, opts := d.Leaf()
	if diff := cmp.Diff([]string{"admin", "warn"}, path); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	if len(opts) != 8 {
		t.Fatalf("leaf options: %d", len(opts))
	}
	group, _ := d.Option("admin")
	sub, _ := group.Option("warn")
	get := func(name string) ApplicationCommandDataOption {
		o, ok := sub.Option(name)
		if !ok {
			t.Fatalf("option %s missing", name)
		}
		return o
	}
	if s, err := get("reason").StringValue(); err != nil || s != "spamming" {
		t.Errorf("reason = %q, %v", s, err)
	}
	if n, err := get("days").IntValue(); err != nil || n != 3 {
		t.Errorf("days = %d, %v", n, err)
	}
	if f, err := get("weight").FloatValue(); err != nil || f != 2.5 {
		t.Errorf("weight = %v, %v", f, err)
	}
	if _, err := get("weight").IntValue(); err == nil {
		t.Error("2.5 read as an integer")
	}
	if b, err := get("silent").BoolValue(); err != nil || !b {
		t.Errorf("silent = %v, %v", b, err)
	}
	if _, err := get("silent").StringValue(); err == nil {
		t.Error("bool read as a string")
	}
	uid, err := get("user").SnowflakeValue()
	if err != nil || d.Resolved.Users[uid].Username != "erin" || d.Resolved.Members[uid].Nick == nil || d.Resolved.Members[uid].Permissions != PermViewChannel {
		t.Errorf("resolved user %d: %v %+v", uid, err, d.Resolved)
	}
	rid, _ := get("role").SnowflakeValue()
	if r := d.Resolved.Roles[rid]; r.Name != "mods" || r.Colors == nil || r.Colors.Primary != 3447003 || r.Colors.Secondary != nil || r.Permissions != 1<<40-1 {
		t.Errorf("resolved role: %+v", r)
	}
	cid, _ := get("channel").SnowflakeValue()
	if c := d.Resolved.Channels[cid]; c.Name != "general" || c.ParentID != 1300000000000000038 {
		t.Errorf("resolved channel: %+v", c)
	}
	aid, _ := get("evidence").SnowflakeValue()
	if a := d.Resolved.Attachments[aid]; a.Filename != "log.txt" || !a.Ephemeral {
		t.Errorf("resolved attachment: %+v", a)
	}
	if get("user").Type != OptionUser || get("evidence").Type != OptionAttachment {
		t.Error("option types")
	}
}

func TestDecodeInteractionComponentAndAutocomplete(t *testing.T) {
	in := decode[Interaction](t, frame(t, "interaction_component.json", EventInteractionCreate))
	if in.Member != nil || in.Invoker() == nil || in.Invoker().Username != "frank" || in.Context == nil || *in.Context != ContextBotDM {
		t.Errorf("DM interaction: %+v", in)
	}
	if in.Message == nil || in.Message.Author.ID != 2100000000000000042 || in.Channel.Type != ChannelDM || len(in.Channel.Recipients) != 1 {
		t.Errorf("message/channel: %+v %+v", in.Message, in.Channel)
	}
	c, err := in.ComponentData()
	if err != nil || c.CustomID != "pick" || c.ComponentType != ComponentStringSelect || len(c.Values) != 2 {
		t.Errorf("component data: %+v %v", c, err)
	}
	if _, err := in.CommandData(); err == nil {
		t.Error("CommandData on a component")
	}

	ac := decode[Interaction](t, frame(t, "interaction_autocomplete.json", EventInteractionCreate))
	d, err := ac.CommandData()
	if err != nil {
		t.Fatal(err)
	}
	f, ok := d.Focused()
	if !ok || f.Name != "name" {
		t.Fatalf("focused: %+v %v", f, ok)
	}
	if s, _ := f.StringValue(); s != "piz" {
		t.Errorf("focused value %q", s)
	}
	if ac.Context != nil || ac.Member.Permissions != 0 {
		t.Error("absent context / zero permissions")
	}
}

func TestDecodeReady(t *testing.T) {
	r := decode[Ready](t, frame(t, "ready.json", EventReady))
	want := Ready{
		V:                10,
		User:             User{ID: 2100000000000000042, Username: "pizzabot", Discriminator: "4242", Bot: true, MFAEnabled: true, Verified: true},
		Guilds:           []UnavailableGuild{{ID: 1000000000000000007, Unavailable: true}, {ID: 1000000000000000034, Unavailable: true}},
		SessionID:        "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
		ResumeGatewayURL: "wss://gateway-us-east1-b.discord.gg",
		Shard:            &ShardInfo{1, 4},
		Application:      PartialApplication{ID: 2100000000000000042, Flags: 565248, FlagsNew: "2252899325313024"},
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("READY (-want +got):\n%s", diff)
	}
}

func TestDecodeGuildMembersChunk(t *testing.T) {
	c := decode[GuildMembersChunk](t, frame(t, "guild_members_chunk.json", EventGuildMembersChunk))
	if c.GuildID != 1000000000000000007 || c.ChunkIndex != 0 || c.ChunkCount != 1 || c.Nonce != "req-1" {
		t.Errorf("chunk: %+v", c)
	}
	// not_found mixes a small id echoed back as a number with a string id.
	if diff := cmp.Diff([]Snowflake{123, 1200000000000000999}, c.NotFound); diff != "" {
		t.Errorf("not_found (-want +got):\n%s", diff)
	}
	if len(c.Members) != 2 || c.Members[0].PremiumSince == nil || c.Members[0].Avatar == nil || !c.Members[1].Pending {
		t.Errorf("members: %+v", c.Members)
	}
	var p Presence
	if len(c.Presences) != 1 || json.Unmarshal(c.Presences[0], &p) != nil || p.Status != StatusOnline || p.ClientStatus.Desktop != StatusOnline {
		t.Errorf("presences: %s", c.Presences)
	}
}

func TestDecodeGuildCreate(t *testing.T) {
	g := decode[Guild](t, frame(t, "guild_create.json", EventGuildCreate))
	if g.ID != 1000000000000000007 || g.Name != "Pizza Lovers" || g.OwnerID != 1200000000000000003 || g.MemberCount != 3 || g.Large || g.Unavailable {
		t.Errorf("guild: %+v", g)
	}
	if !g.JoinedAt.Equal(ts("2025-03-04T05:06:07.08Z")) || g.AFKChannelID != 0 || g.ApplicationID != 0 || g.PremiumTier != 2 {
		t.Errorf("joined_at/afk: %v %d", g.JoinedAt, g.AFKChannelID)
	}
	if len(g.Roles) != 3 || g.Roles[0].Permissions != 2248473465835073 || g.Roles[1].Tags == nil || g.Roles[1].Tags.BotID != 2100000000000000042 ||
		bool(g.Roles[1].Tags.PremiumSubscriber) || g.Roles[2].Tags == nil || !bool(g.Roles[2].Tags.PremiumSubscriber) {
		t.Errorf("roles: %+v", g.Roles)
	}
	if len(g.Channels) != 3 {
		t.Fatalf("channels: %d", len(g.Channels))
	}
	text := g.Channels[0]
	if text.Type != ChannelGuildText || text.Topic == nil || *text.Topic != "talk pizza" || text.RateLimitPerUser != 5 || text.ParentID != 1300000000000000084 ||
		len(text.PermissionOverwrites) != 2 || text.PermissionOverwrites[0].Deny != PermSendMessages || text.PermissionOverwrites[1].Type != OverwriteMember {
		t.Errorf("text channel: %+v", text)
	}
	if v := g.Channels[1]; v.Type != ChannelGuildVoice || v.Bitrate != 64000 || v.Status == nil || *v.Status != "baking" {
		t.Errorf("voice channel: %+v", v)
	}
	if len(g.Threads) != 1 || g.Threads[0].ThreadMetadata == nil || g.Threads[0].ThreadMetadata.AutoArchiveDuration != 1440 || !g.Threads[0].Type.IsThread() {
		t.Errorf("threads: %+v", g.Threads)
	}
	if len(g.Members) != 2 || !g.Members[0].User.Bot || len(g.VoiceStates) != 1 || g.VoiceStates[0].ChannelID == nil || !g.VoiceStates[0].SelfMute {
		t.Errorf("members/voice: %+v %+v", g.Members, g.VoiceStates)
	}
	if len(g.Emojis) != 1 || !g.Emojis[0].Animated || g.Emojis[0].APIName() != "party:1500000000000000011" {
		t.Errorf("emojis: %+v", g.Emojis)
	}
	if len(g.Presences) != 1 {
		t.Fatalf("presences: %d", len(g.Presences))
	}
	var p Presence
	if err := json.Unmarshal(g.Presences[0], &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != StatusDND || p.ClientStatus.VR != StatusDND || len(p.Activities) != 2 || p.Activities[0].Type != ActivityCustom ||
		*p.Activities[0].State != "hungry" || p.Activities[0].Emoji.Name != "🍕" || p.Activities[1].StatusDisplayType == nil || *p.Activities[1].StatusDisplayType != 2 ||
		p.Activities[1].Timestamps.Start != 1784990000000 {
		t.Errorf("presence: %+v", p)
	}
	if string(g.StageInstances) != "[]" || string(g.SoundboardSounds) != "[]" {
		t.Errorf("raw lists: %s %s", g.StageInstances, g.SoundboardSounds)
	}
}

func TestDecodeGuildDelete(t *testing.T) {
	down := decode[GuildDelete](t, frame(t, "guild_delete.json", EventGuildDelete))
	if down.ID != 1000000000000000007 || !down.Unavailable || down.Removed() {
		t.Errorf("outage: %+v", down)
	}
	left := decode[GuildDelete](t, frame(t, "guild_delete_removed.json", EventGuildDelete))
	if left.ID != 1000000000000000034 || !left.Removed() {
		t.Errorf("removed: %+v", left)
	}
}

func TestDecodeSmallDispatches(t *testing.T) {
	p := decode[Presence](t, frame(t, "presence_update.json", EventPresenceUpdate))
	if p.User.ID != 1200000000000000004 || p.GuildID != 1000000000000000007 || p.Status != StatusIdle || len(p.Activities) != 1 ||
		p.Activities[0].Type != ActivityListening || p.Activities[0].Timestamps.End != 1785000200000 || p.Activities[0].Flags != 48 || len(p.Activities[0].Party) == 0 {
		t.Errorf("presence: %+v", p)
	}

	vs := decode[VoiceState](t, frame(t, "voice_state_update.json", EventVoiceStateUpdate))
	if vs.ChannelID != nil || vs.UserID != 1200000000000000004 || vs.Member == nil || vs.SessionID == "" || vs.RequestToSpeakTimestamp != nil {
		t.Errorf("voice state: %+v", vs)
	}
	vsu := decode[VoiceServerUpdate](t, frame(t, "voice_server_update.json", EventVoiceServerUpdate))
	if vsu.Endpoint != nil || vsu.Token != "voice-token-abc" || vsu.GuildID != 1000000000000000007 {
		t.Errorf("voice server: %+v", vsu)
	}

	ra := decode[MessageReactionAdd](t, frame(t, "reaction_add.json", EventMessageReactionAdd))
	if ra.Type != ReactionBurst || !ra.Burst || len(ra.BurstColors) != 2 || ra.MessageAuthorID != 1200000000000000003 || ra.Member == nil || ra.Emoji.ID != 1500000000000000011 {
		t.Errorf("reaction add: %+v", ra)
	}
	rr := decode[MessageReactionRemove](t, frame(t, "reaction_remove.json", EventMessageReactionRemove))
	if rr.Type != ReactionNormal || rr.Emoji.Custom() || rr.Emoji.APIName() != "🍕" || rr.UserID != 1200000000000000004 {
		t.Errorf("reaction remove: %+v", rr)
	}

	ty := decode[TypingStart](t, frame(t, "typing_start.json", EventTypingStart))
	if ty.Time() != time.Unix(1785000000, 0).UTC() || ty.Member == nil || ty.ChannelID != 1300000000000000002 {
		t.Errorf("typing: %+v", ty)
	}
	md := decode[MessageDelete](t, frame(t, "message_delete.json", EventMessageDelete))
	if md != (MessageDelete{ID: 1400000000000000010, ChannelID: 1300000000000000002, GuildID: 1000000000000000007}) {
		t.Errorf("message delete: %+v", md)
	}
	ru := decode[GuildRoleUpdate](t, frame(t, "role_update.json", EventGuildRoleUpdate))
	if r := ru.Role; r.Tags == nil || !bool(r.Tags.AvailableForPurchase) || bool(r.Tags.PremiumSubscriber) || r.Tags.SubscriptionListingID != 2400000000000000092 ||
		r.Colors == nil || *r.Colors.Secondary != 65280 || r.Colors.Tertiary != nil || !r.Permissions.Has(PermBypassSlowmode|PermPinMessages) || r.Mention() != "<@&1100000000000000090>" {
		t.Errorf("role: %+v", r)
	}
	ch := decode[Channel](t, frame(t, "channel_create.json", EventChannelCreate))
	if ch.Type != ChannelGuildForum || ch.DefaultSortOrder != nil || ch.DefaultForumLayout != 1 || ch.ParentID != 0 || len(ch.AvailableTags) == 0 || ch.Mention() != "<#1300000000000000095>" {
		t.Errorf("channel: %+v", ch)
	}
	pv := decode[MessagePollVote](t, frame(t, "poll_vote_add.json", EventMessagePollVoteAdd))
	if pv.AnswerID != 2 || pv.MessageID != 1400000000000000020 {
		t.Errorf("poll vote: %+v", pv)
	}
	rl := decode[RateLimited](t, frame(t, "rate_limited.json", EventRateLimited))
	var meta RequestGuildMembersRateLimit
	if rl.Opcode != OpRequestGuildMembers || rl.RetryAfter != 27.5 || json.Unmarshal(rl.Meta, &meta) != nil || meta.Nonce != "all-1" {
		t.Errorf("rate limited: %+v %+v", rl, meta)
	}
	ci := decode[ChannelInfo](t, frame(t, "channel_info.json", EventChannelInfo))
	if len(ci.Channels) != 2 || *ci.Channels[0].Status != "baking" || *ci.Channels[0].VoiceStartTime != 1785000000 || ci.Channels[1].Status != nil {
		t.Errorf("channel info: %+v", ci)
	}
	vcs := decode[VoiceChannelStatusUpdate](t, frame(t, "voice_channel_status_update.json", EventVoiceChannelStatusUpdate))
	if vcs.Status != nil || vcs.ID != 1300000000000000083 {
		t.Errorf("voice channel status: %+v", vcs)
	}
	ss := decode[SoundboardSounds](t, frame(t, "soundboard_sounds.json", EventSoundboardSounds))
	if len(ss.SoundboardSounds) != 1 || ss.SoundboardSounds[0].Volume != 0.8 || ss.SoundboardSounds[0].User == nil {
		t.Errorf("soundboard: %+v", ss)
	}
}

// TestUnknownEventPassesThrough shows that a dispatch this package has never heard of keeps its
// name, sequence and data byte for byte, and survives a re-encode.
func TestUnknownEventPassesThrough(t *testing.T) {
	raw, err := os.ReadFile("testdata/frames/unknown_event.json")
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.TrimSpace(raw)
	e, err := ParseEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	if e.T != "SOMETHING_DISCORD_ADDS_IN_2027" || e.S != 27 {
		t.Errorf("envelope: %+v", e)
	}
	want := `{"hologram":{"id":"1","dimensions":[3,4,5]},"nested":[{"a":null}]}`
	if string(e.D) != want {
		t.Errorf("D = %s", e.D)
	}
	var full Envelope
	if err := json.Unmarshal(raw, &full); err != nil || string(full.D) != want {
		t.Errorf("full decode: %s %v", full.D, err)
	}
	// Re-encoded (as a proxy or the simulator would), the data is unchanged.
	again, err := ParseEnvelope(e.AppendJSON(nil))
	if err != nil || string(again.D) != want || again.T != e.T || again.S != e.S {
		t.Errorf("re-encoded: %+v %v", again, err)
	}
	// Unknown fields inside known events are ignored, not errors.
	var m Message
	if err := frame(t, "message_create.json", EventMessageCreate).Decode(&m); err != nil {
		t.Errorf("unknown field broke decoding: %v", err)
	}
}

func TestEnvelopeRoundtrip(t *testing.T) {
	cases := []Envelope{
		{Op: OpDispatch, S: 5, T: EventMessageCreate, D: json.RawMessage(`{"id":"1"}`)},
		{Op: OpHeartbeat, D: json.RawMessage(`251`)},
		{Op: OpHeartbeat},
		{Op: OpHeartbeatACK},
		{Op: OpInvalidSession, D: json.RawMessage(`true`)},
		{Op: OpDispatch, S: 1 << 40, T: "WEIRD \"name\" \u00e9\u0007", D: json.RawMessage(`[]`)},
	}
	for _, want := range cases {
		b, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b) {
			t.Fatalf("Marshal(%+v) produced invalid JSON %s", want, b)
		}
		var got Envelope
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if !envelopesEqual(got, want) {
			t.Errorf("roundtrip %s: got %+v want %+v", b, got, want)
		}
		if fast, err := ParseEnvelope(b); err != nil || !envelopesEqual(fast, want) {
			t.Errorf("ParseEnvelope(%s) = %+v, %v", b, fast, err)
		}
	}
	b, _ := json.Marshal(Envelope{Op: OpHeartbeatACK})
	if string(b) != `{"op":11,"d":null,"s":null,"t":null}` {
		t.Errorf("ACK encodes as %s", b)
	}
	e, err := NewEnvelope(OpHeartbeat, 7)
	if err != nil || string(e.D) != "7" || e.Op != OpHeartbeat {
		t.Errorf("NewEnvelope: %+v %v", e, err)
	}
	if err := (Envelope{Op: OpHeartbeatACK}).Decode(new(int)); err == nil {
		t.Error("Decode of an empty D succeeded")
	}
}

// TestTypesRoundtrip checks that decoding, encoding and decoding again keeps every sample the
// same, so the simulator can send what a client reads.
func TestTypesRoundtrip(t *testing.T) {
	check := func(name string, e Envelope, v any) {
		t.Helper()
		if err := e.Decode(v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b1, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: marshal: %v", name, err)
		}
		if err := json.Unmarshal(b1, v); err != nil {
			t.Fatalf("%s: re-decode: %v", name, err)
		}
		b2, _ := json.Marshal(v)
		if !bytes.Equal(b1, b2) {
			t.Errorf("%s: not stable:\n%s\n%s", name, b1, b2)
		}
	}
	check("message", frame(t, "message_create.json", EventMessageCreate), new(Message))
	check("message2", frame(t, "message_create_intnonce.json", EventMessageCreate), new(Message))
	check("interaction", frame(t, "interaction_command.json", EventInteractionCreate), new(Interaction))
	check("guild", frame(t, "guild_create.json", EventGuildCreate), new(Guild))
	check("ready", frame(t, "ready.json", EventReady), new(Ready))
	check("chunk", frame(t, "guild_members_chunk.json", EventGuildMembersChunk), new(GuildMembersChunk))
	check("role", frame(t, "role_update.json", EventGuildRoleUpdate), new(GuildRoleUpdate))
	check("voice", frame(t, "voice_state_update.json", EventVoiceStateUpdate), new(VoiceState))
}
