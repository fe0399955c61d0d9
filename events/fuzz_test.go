package events

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"testing"
)

// addFrameData seeds f with the data of sample frames.
func addFrameData(f *testing.F, files ...string) {
	for _, file := range files {
		b, err := os.ReadFile("testdata/frames/" + file)
		if err != nil {
			f.Fatal(err)
		}
		e, err := ParseEnvelope(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(e.D))
	}
}

// fuzzRoundtrip decodes b into a fresh T. When that works, encoding must work, the encoding
// must decode, and a second encoding must equal the first: what a client reads, the
// simulator can send back unchanged.
func fuzzRoundtrip[T any](t *testing.T, b []byte) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return
	}
	b1, err := json.Marshal(&v)
	if err != nil {
		t.Fatalf("decoded %q but cannot encode it: %v", b, err)
	}
	var w T
	if err := json.Unmarshal(b1, &w); err != nil {
		t.Fatalf("cannot decode own encoding %s: %v", b1, err)
	}
	b2, err := json.Marshal(&w)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("encoding not stable:\n%s\n%s", b1, b2)
	}
}

func FuzzSnowflake(f *testing.F) {
	for _, s := range []string{`"175928847299117063"`, `175928847299117063`, `null`, `"0"`, `"18446744073709551615"`, `"-1"`, `1e3`, `"１"`, `""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Snowflake
		if err := json.Unmarshal(b, &s); err != nil {
			return
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if want := `"` + strconv.FormatUint(uint64(s), 10) + `"`; string(out) != want {
			t.Fatalf("Marshal(%d) = %s", s, out)
		}
		var back Snowflake
		if err := json.Unmarshal(out, &back); err != nil || back != s {
			t.Fatalf("roundtrip %d -> %s -> %d, %v", s, out, back, err)
		}
		if p, err := ParseSnowflake(s.String()); err != nil || p != s {
			t.Fatalf("ParseSnowflake(%s) = %d, %v", s, p, err)
		}
		// Time and NewSnowflake are inverse for every id.
		if n := NewSnowflake(s.Time(), uint32(s&(1<<22-1))); n != s {
			t.Fatalf("NewSnowflake(Time(%d)) = %d", s, n)
		}
		for _, shards := range []int{0, 1, 2, 7, 1 << 20} {
			if id := s.ShardID(shards); id < 0 || (shards > 0 && id >= shards) {
				t.Fatalf("ShardID(%d) of %d = %d", shards, s, id)
			}
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	addFrameData(f, "message_create.json", "message_create_intnonce.json", "message_delete.json")
	f.Add([]byte(`{"nonce":1.5e3,"timestamp":"2026-01-01T00:00:00Z","edited_timestamp":null}`))
	f.Add([]byte(`{"referenced_message":{"referenced_message":{"id":"1"}},"mentions":[{"id":1,"member":{}}]}`))
	f.Fuzz(fuzzRoundtrip[Message])
}

func FuzzDecodeInteraction(f *testing.F) {
	addFrameData(f, "interaction_command.json", "interaction_component.json", "interaction_autocomplete.json")
	f.Add([]byte(`{"type":2,"data":{"options":[{"type":1,"options":[{"type":4,"value":3.0}]}],"resolved":{"users":{"7":{"id":"7"}}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzRoundtrip[Interaction](t, b)
		var in Interaction
		if json.Unmarshal(b, &in) != nil {
			return
		}
		// The accessors must never panic, whatever the data holds.
		in.Invoker()
		if d, err := in.CommandData(); err == nil {
			_, opts := d.Leaf()
			d.Focused()
			for _, o := range opts {
				o.StringValue()
				o.IntValue()
				o.FloatValue()
				o.BoolValue()
				o.SnowflakeValue()
			}
		}
		in.ComponentData()
		in.ModalSubmitData()
	})
}

func FuzzDecodeReady(f *testing.F) {
	addFrameData(f, "ready.json")
	f.Add([]byte(`{"shard":[0,1,2],"guilds":[{"id":1}],"application":{"flags":1.5}}`))
	f.Fuzz(fuzzRoundtrip[Ready])
}

func FuzzDecodeGuildMembersChunk(f *testing.F) {
	addFrameData(f, "guild_members_chunk.json")
	f.Add([]byte(`{"not_found":[1,"2",null],"members":[{"user":{"id":"3"},"premium_since":null,"permissions":"8"}]}`))
	f.Fuzz(fuzzRoundtrip[GuildMembersChunk])
}

func FuzzDecodeGuild(f *testing.F) {
	addFrameData(f, "guild_create.json")
	f.Fuzz(fuzzRoundtrip[Guild])
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "READY", `a"b\c`, "\x00\x1f\x7f", "tab\tnl\ncr\r", "é🍕", "\xff\xfe", "\u2028"} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("appendJSONString(%q) = %s: %v", s, b, err)
		}
		want, _ := json.Marshal(s)
		var wantS string
		json.Unmarshal(want, &wantS)
		if got != wantS {
			t.Errorf("appendJSONString(%q) decodes to %q, want %q", s, got, wantS)
		}
	}
}
