package events

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

func TestDecodeDispatch(t *testing.T) {
	want := map[string]string{
		"message_create.json":              "*events.Message",
		"message_create_intnonce.json":     "*events.Message",
		"interaction_command.json":         "*events.Interaction",
		"interaction_component.json":       "*events.Interaction",
		"interaction_autocomplete.json":    "*events.Interaction",
		"ready.json":                       "*events.Ready",
		"guild_members_chunk.json":         "*events.GuildMembersChunk",
		"guild_create.json":                "*events.Guild",
		"guild_delete.json":                "*events.GuildDelete",
		"guild_delete_removed.json":        "*events.GuildDelete",
		"presence_update.json":             "*events.Presence",
		"voice_state_update.json":          "*events.VoiceState",
		"voice_server_update.json":         "*events.VoiceServerUpdate",
		"reaction_add.json":                "*events.MessageReactionAdd",
		"reaction_remove.json":             "*events.MessageReactionRemove",
		"typing_start.json":                "*events.TypingStart",
		"message_delete.json":              "*events.MessageDelete",
		"role_update.json":                 "*events.GuildRoleUpdate",
		"channel_create.json":              "*events.Channel",
		"poll_vote_add.json":               "*events.MessagePollVote",
		"rate_limited.json":                "*events.RateLimited",
		"channel_info.json":                "*events.ChannelInfo",
		"voice_channel_status_update.json": "*events.VoiceChannelStatusUpdate",
		"soundboard_sounds.json":           "*events.SoundboardSounds",
		"unknown_event.json":               "json.RawMessage",
	}
	for file, typ := range want {
		b, err := os.ReadFile("testdata/frames/" + file)
		if err != nil {
			t.Fatal(err)
		}
		e, err := ParseEnvelope(b)
		if err != nil {
			t.Fatal(err)
		}
		v, err := e.DecodeDispatch()
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if got := fmt.Sprintf("%T", v); got != typ {
			t.Errorf("%s: DecodeDispatch gives %s, want %s", file, got, typ)
		}
		if raw, ok := v.(json.RawMessage); ok {
			if string(raw) != string(e.D) || &raw[0] == &e.D[0] {
				t.Errorf("%s: raw data not an equal copy", file)
			}
		}
	}
	if _, err := (Envelope{Op: OpHello, D: json.RawMessage(`{}`)}).DecodeDispatch(); err == nil {
		t.Error("DecodeDispatch accepted a Hello")
	}
	if _, err := (Envelope{Op: OpDispatch, T: EventMessageCreate, D: json.RawMessage(`{"id":true}`)}).DecodeDispatch(); err == nil {
		t.Error("DecodeDispatch accepted a bad MESSAGE_CREATE")
	}
	if v, err := (Envelope{Op: OpDispatch, T: EventResumed}).DecodeDispatch(); err != nil || v.(*Resumed) == nil {
		t.Errorf("RESUMED without data: %v %v", v, err)
	}
	names := map[string]bool{}
	for _, n := range DispatchNames {
		names[n] = true
	}
	for n := range dispatchTypes {
		if !names[n] {
			t.Errorf("typed dispatch %s missing from DispatchNames", n)
		}
		if NewDispatchData(n) == nil {
			t.Errorf("NewDispatchData(%s) = nil", n)
		}
	}
	if NewDispatchData("NOPE") != nil {
		t.Error("NewDispatchData of an unknown name")
	}
}

// BenchmarkDecodeDispatch measures the typed decode that follows ParseEnvelope, for scale: it
// is where a bot's per-event cost goes.
func BenchmarkDecodeDispatch(b *testing.B) {
	for _, fr := range []struct {
		name  string
		frame []byte
	}{{"MessageCreate", benchMessageFrame}, {"GuildCreate", benchGuildFrame}} {
		e, err := ParseEnvelope(fr.frame)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fr.name, func(b *testing.B) {
			b.SetBytes(int64(len(e.D)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.DecodeDispatch(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
