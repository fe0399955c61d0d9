package events

import (
	"encoding/json"
	"testing"
	"time"
)

func TestOpString(t *testing.T) {
	cases := map[Op]string{
		OpDispatch: "Dispatch", OpHeartbeat: "Heartbeat", OpIdentify: "Identify",
		OpPresenceUpdate: "PresenceUpdate", OpVoiceStateUpdate: "VoiceStateUpdate",
		OpResume: "Resume", OpReconnect: "Reconnect", OpRequestGuildMembers: "RequestGuildMembers",
		OpInvalidSession: "InvalidSession", OpHello: "Hello", OpHeartbeatACK: "HeartbeatACK",
		OpRequestSoundboardSounds: "RequestSoundboardSounds", OpRequestChannelInfo: "RequestChannelInfo",
		5: "Op(5)", 12: "Op(12)", -1: "Op(-1)",
	}
	for op, want := range cases {
		if got := op.String(); got != want {
			t.Errorf("Op(%d).String() = %q, want %q", int(op), got, want)
		}
		if known := op.Known(); known != (want[:3] != "Op(") {
			t.Errorf("Op(%d).Known() = %v", int(op), known)
		}
	}
	for _, op := range []Op{OpHeartbeat, OpIdentify, OpPresenceUpdate, OpVoiceStateUpdate, OpResume, OpRequestGuildMembers, OpRequestSoundboardSounds, OpRequestChannelInfo} {
		if !op.ClientSends() {
			t.Errorf("%v.ClientSends() = false", op)
		}
	}
	for _, op := range []Op{OpDispatch, OpReconnect, OpInvalidSession, OpHello, OpHeartbeatACK, 5} {
		if op.ClientSends() {
			t.Errorf("%v.ClientSends() = true", op)
		}
	}
}

func TestCloseCodeTableComplete(t *testing.T) {
	// The policy column as closecode.go documents it (docs plus the two noted choices).
	want := map[CloseCode]ClosePolicy{
		4000: PolicyResume, 4001: PolicyResume, 4002: PolicyResume, 4003: PolicyNewSession,
		4004: PolicyFatal, 4005: PolicyNewSession, 4006: PolicyNewSession, 4007: PolicyNewSession,
		4008: PolicyResume, 4009: PolicyResume, 4010: PolicyFatal, 4011: PolicyReShard,
		4012: PolicyFatal, 4013: PolicyFatal, 4014: PolicyFatal,
	}
	for code := CloseCode(4000); code <= 4014; code++ {
		info, ok := code.Info()
		if !ok {
			t.Errorf("close code %d missing from CloseCodes", int(code))
			continue
		}
		if info.Code != code || info.Name == "" || info.Cause == "" {
			t.Errorf("close code %d: incomplete entry %+v", int(code), info)
		}
		if info.Policy != want[code] || code.Policy() != want[code] {
			t.Errorf("close code %d: policy %v / %v, want %v", int(code), info.Policy, code.Policy(), want[code])
		}
	}
	if len(CloseCodes) != 15 {
		t.Errorf("CloseCodes has %d entries, want 15", len(CloseCodes))
	}
	for i := 1; i < len(CloseCodes); i++ {
		if CloseCodes[i].Code <= CloseCodes[i-1].Code {
			t.Errorf("CloseCodes not in code order at %d", i)
		}
	}
	// Codes outside the table resume (a dropped connection, a server 1000).
	for _, c := range []CloseCode{1000, 1001, 1006, 4015, 4900} {
		if c.Policy() != PolicyResume {
			t.Errorf("%d.Policy() = %v, want resume", int(c), c.Policy())
		}
	}
}

func TestCloseCodeString(t *testing.T) {
	cases := map[CloseCode]string{
		4004: "4004 Authentication failed", 4011: "4011 Sharding required",
		1000: "1000 Normal closure", 1001: "1001 Going away", 1006: "1006 Abnormal closure",
		4900: "4900",
	}
	for c, want := range cases {
		if got := c.String(); got != want {
			t.Errorf("CloseCode(%d).String() = %q, want %q", int(c), got, want)
		}
	}
	for p, want := range map[ClosePolicy]string{PolicyResume: "resume", PolicyNewSession: "new-session", PolicyReShard: "re-shard", PolicyFatal: "fatal", 9: "ClosePolicy(9)"} {
		if got := p.String(); got != want {
			t.Errorf("ClosePolicy(%d).String() = %q, want %q", int(p), got, want)
		}
	}
}

func TestIntentValues(t *testing.T) {
	if IntentsAll != 53608447 {
		t.Errorf("IntentsAll = %d, want 53608447", IntentsAll)
	}
	if IntentsNonPrivileged != 53575421 {
		t.Errorf("IntentsNonPrivileged = %d, want 53575421", IntentsNonPrivileged)
	}
	var all Intent
	for _, in := range Intents {
		all |= in.Intent
		if in.Privileged != (in.Intent&IntentsPrivileged != 0) {
			t.Errorf("%s: privileged flag %v disagrees with IntentsPrivileged", in.Name, in.Privileged)
		}
		if got, ok := ParseIntent(in.Name); !ok || got != in.Intent {
			t.Errorf("ParseIntent(%q) = %v, %v", in.Name, got, ok)
		}
	}
	if all != IntentsAll {
		t.Errorf("OR of Intents = %d, want %d", all, IntentsAll)
	}
	if u := (IntentGuilds | 1<<17 | 1<<30).Unknown(); u != 1<<17|1<<30 {
		t.Errorf("Unknown() = %d", u)
	}
}

func TestIntentString(t *testing.T) {
	cases := map[Intent]string{
		0:                                  "0",
		IntentGuilds:                       "GUILDS",
		IntentGuilds | IntentGuildMessages: "GUILDS|GUILD_MESSAGES",
		IntentMessageContent | 1<<17:       "MESSAGE_CONTENT|131072",
		IntentDirectMessagePolls:           "DIRECT_MESSAGE_POLLS",
		IntentsPrivileged:                  "GUILD_MEMBERS|GUILD_PRESENCES|MESSAGE_CONTENT",
	}
	for in, want := range cases {
		if got := in.String(); got != want {
			t.Errorf("Intent(%d).String() = %q, want %q", uint64(in), got, want)
		}
	}
}

func TestSnowflakeTime(t *testing.T) {
	s := Snowflake(175928847299117063)
	want := time.Date(2016, 4, 30, 11, 18, 25, 796_000_000, time.UTC)
	if got := s.Time(); !got.Equal(want) {
		t.Errorf("Time() = %v, want %v", got, want)
	}
	if got := s.Time().Format(time.RFC3339Nano); got != "2016-04-30T11:18:25.796Z" {
		t.Errorf("Time() formats as %s", got)
	}
	if n := NewSnowflake(want, 7); n.Time() != want || uint64(n)&(1<<22-1) != 7 {
		t.Errorf("NewSnowflake roundtrip: %d", n)
	}
	// Guild 175928847299117063 on 16 shards: (id >> 22) % 16.
	if got := s.ShardID(16); got != int((uint64(s)>>22)%16) {
		t.Errorf("ShardID = %d", got)
	}
}

func TestSnowflakeJSON(t *testing.T) {
	cases := []struct {
		in   string
		want Snowflake
		ok   bool
	}{
		{`"175928847299117063"`, 175928847299117063, true},
		{`175928847299117063`, 175928847299117063, true},
		{`123`, 123, true},
		{`null`, 0, true},
		{`"18446744073709551615"`, 1<<64 - 1, true},
		{`"18446744073709551616"`, 0, false},
		{`"-1"`, 0, false},
		{`""`, 0, false},
		{`"12a"`, 0, false},
		{`1.5`, 0, false},
		{`true`, 0, false},
		{`{}`, 0, false},
	}
	for _, c := range cases {
		var s Snowflake
		err := json.Unmarshal([]byte(c.in), &s)
		if (err == nil) != c.ok || (c.ok && s != c.want) {
			t.Errorf("Unmarshal(%s) = %d, %v; want %d ok=%v", c.in, s, err, c.want, c.ok)
		}
	}
	b, err := json.Marshal(struct {
		ID Snowflake `json:"id"`
	}{175928847299117063})
	if err != nil || string(b) != `{"id":"175928847299117063"}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
}

func TestPermissions(t *testing.T) {
	var p Permissions
	if err := json.Unmarshal([]byte(`"9007199254740991"`), &p); err != nil {
		t.Fatal(err)
	}
	if p != 1<<53-1 || !p.Has(PermBypassSlowmode|PermPinMessages|PermSendMessages) {
		t.Errorf("permissions = %d", p)
	}
	for in, want := range map[string]Permissions{`"0"`: 0, `2048`: PermSendMessages, `null`: 0, `"8"`: PermAdministrator} {
		var q Permissions
		if err := json.Unmarshal([]byte(in), &q); err != nil || q != want {
			t.Errorf("Unmarshal(%s) = %d, %v", in, q, err)
		}
	}
	for _, bad := range []string{`"x"`, `"-1"`, `true`, `"18446744073709551616"`} {
		var q Permissions
		if err := json.Unmarshal([]byte(bad), &q); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
	b, _ := json.Marshal(PermBypassSlowmode | PermViewChannel)
	if string(b) != `"4503599627371520"` {
		t.Errorf("Marshal = %s", b)
	}
	if s := (PermViewChannel | PermSendMessages | 1<<47).String(); s != "VIEW_CHANNEL|SEND_MESSAGES|140737488355328" {
		t.Errorf("String() = %s", s)
	}
	if !PermAdministrator.Can(PermBanMembers) || PermKickMembers.Can(PermBanMembers) {
		t.Error("Can() ignores Administrator")
	}
	if Permissions(0).String() != "0" {
		t.Error("zero String")
	}
}

func TestChannelTypeString(t *testing.T) {
	if ChannelGuildForum.String() != "GUILD_FORUM" || ChannelType(99).String() != "ChannelType(99)" {
		t.Error("ChannelType.String")
	}
	if !ChannelPublicThread.IsThread() || ChannelGuildText.IsThread() || !ChannelGuildStageVoice.IsVoice() {
		t.Error("ChannelType predicates")
	}
	if InteractionModalSubmit.String() != "MODAL_SUBMIT" || InteractionType(0).String() != "InteractionType(0)" {
		t.Error("InteractionType.String")
	}
	if OptionMentionable.String() != "MENTIONABLE" || ApplicationCommandOptionType(12).String() != "ApplicationCommandOptionType(12)" {
		t.Error("ApplicationCommandOptionType.String")
	}
}

func TestDispatchNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range DispatchNames {
		if seen[n] {
			t.Errorf("duplicate name %s", n)
		}
		seen[n] = true
	}
	for _, must := range []string{"RATE_LIMITED", "CHANNEL_INFO", "SOUNDBOARD_SOUNDS", "VOICE_CHANNEL_STATUS_UPDATE",
		"VOICE_CHANNEL_START_TIME_UPDATE", "MESSAGE_POLL_VOTE_ADD", "MESSAGE_POLL_VOTE_REMOVE", "SUBSCRIPTION_CREATE",
		"VOICE_CHANNEL_EFFECT_SEND", "GUILD_SOUNDBOARD_SOUNDS_UPDATE", "ENTITLEMENT_DELETE"} {
		if !seen[must] {
			t.Errorf("DispatchNames lacks %s", must)
		}
	}
}
