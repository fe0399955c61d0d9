package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"unsafe"
)

func TestParseEnvelopeShapes(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		want  Envelope
		fast  bool // taken by the fast path
		isErr bool
	}{
		{"dispatch", `{"t":"MESSAGE_CREATE","s":42,"op":0,"d":{"id":"1"}}`, Envelope{Op: 0, S: 42, T: "MESSAGE_CREATE", D: json.RawMessage(`{"id":"1"}`)}, true, false},
		{"hello", `{"t":null,"s":null,"op":10,"d":{"heartbeat_interval":41250,"_trace":["x"]}}`, Envelope{Op: 10, D: json.RawMessage(`{"heartbeat_interval":41250,"_trace":["x"]}`)}, true, false},
		{"ack no d", `{"t":null,"s":null,"op":11}`, Envelope{Op: 11}, true, false},
		{"d null", `{"t":null,"s":null,"op":7,"d":null}`, Envelope{Op: 7}, true, false},
		{"d bool", `{"t":null,"s":null,"op":9,"d":false}`, Envelope{Op: 9, D: json.RawMessage(`false`)}, true, false},
		{"d number", `{"t":null,"s":null,"op":1,"d":251}`, Envelope{Op: 1, D: json.RawMessage(`251`)}, true, false},
		{"spaces", " \n{ \"t\" : \"READY\" , \"s\" : 1 , \"op\" : 0 , \"d\" : { } } \r\n", Envelope{Op: 0, S: 1, T: "READY", D: json.RawMessage(`{ }`)}, true, false},
		{"unknown name", `{"t":"NEW_THING","s":3,"op":0,"d":[]}`, Envelope{Op: 0, S: 3, T: "NEW_THING", D: json.RawMessage(`[]`)}, true, false},
		{"negative s", `{"t":null,"s":-5,"op":0,"d":1}`, Envelope{Op: 0, S: -5, D: json.RawMessage(`1`)}, true, false},
		// Other shapes go to the full decoder and still decode.
		{"our order", `{"op":1,"d":12,"s":null,"t":null}`, Envelope{Op: 1, D: json.RawMessage(`12`)}, false, false},
		{"escaped t", `{"t":"READ\u0059","s":1,"op":0,"d":{}}`, Envelope{Op: 0, S: 1, T: "READY", D: json.RawMessage(`{}`)}, false, false},
		{"float s", `{"t":null,"s":1.0,"op":0,"d":{}}`, Envelope{}, false, true},
		{"big s", `{"t":null,"s":1234567890123456789,"op":0,"d":{}}`, Envelope{Op: 0, S: 1234567890123456789, D: json.RawMessage(`{}`)}, false, false},
		{"upper key", `{"T":"READY","S":1,"OP":0,"D":{}}`, Envelope{Op: 0, S: 1, T: "READY", D: json.RawMessage(`{}`)}, false, false},
		// Not envelopes.
		{"empty", ``, Envelope{}, false, true},
		{"null", `null`, Envelope{}, false, true},
		{"array", `[1,2]`, Envelope{}, false, true},
		{"no op", `{"t":null,"s":null,"d":{}}`, Envelope{}, false, true},
		{"op null", `{"t":null,"s":null,"op":null,"d":{}}`, Envelope{}, false, true},
		{"op string", `{"t":null,"s":null,"op":"1","d":{}}`, Envelope{}, false, true},
		{"truncated", `{"t":"GUILD_CREATE","s":2,"op":0,"d":{"id":"1"`, Envelope{}, false, true},
		{"truncated d", `{"t":null,"s":null,"op":0,"d":}`, Envelope{}, false, true},
		{"garbage d", `{"t":null,"s":null,"op":0,"d":xyz}`, Envelope{}, false, true},
		{"leading zero", `{"t":null,"s":01,"op":0,"d":{}}`, Envelope{}, false, true},
		{"trailing junk", `{"t":null,"s":null,"op":11} x`, Envelope{}, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, fast := parseDiscordOrder([]byte(c.in))
			if fast != c.fast {
				t.Errorf("fast path taken = %v, want %v", fast, c.fast)
			}
			got, err := ParseEnvelope([]byte(c.in))
			if c.isErr {
				if !errors.Is(err, ErrNotEnvelope) {
					t.Fatalf("err = %v, want ErrNotEnvelope", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !envelopesEqual(got, c.want) {
				t.Errorf("got %+v (D=%s), want %+v (D=%s)", got, got.D, c.want, c.want.D)
			}
		})
	}
}

func envelopesEqual(a, b Envelope) bool {
	return a.Op == b.Op && a.S == b.S && a.T == b.T && bytes.Equal(a.D, b.D) && (a.D == nil) == (b.D == nil)
}

func TestParseEnvelopeAliasesAndInterns(t *testing.T) {
	b := []byte(`{"t":"GUILD_CREATE","s":2,"op":0,"d":{"id":"1"}}`)
	e, err := ParseEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	// D is a window into b: overwriting b changes D (callers that reuse b must copy).
	i := bytes.Index(b, []byte(`"1"`))
	b[i+1] = '9'
	if string(e.D) != `{"id":"9"}` {
		t.Errorf("D does not alias the frame: %s", e.D)
	}
	// T is the package constant, not a copy of the frame's bytes.
	if e.T != EventGuildCreate || unsafe.StringData(e.T) != unsafe.StringData(EventGuildCreate) {
		t.Error("known name was not interned")
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParseEnvelope(b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ParseEnvelope allocates %v times per frame for a known name", allocs)
	}
}

// TestParseEnvelopeMatchesFullDecode runs every sample frame through both decoders.
func TestParseEnvelopeMatchesFullDecode(t *testing.T) {
	files, _ := filepath.Glob("testdata/frames/*.json")
	if len(files) == 0 {
		t.Fatal("no sample frames")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, fast := parseDiscordOrder(b); !fast {
			t.Errorf("%s: fast path not taken for a frame in Discord's order", f)
		}
		checkSameAsFull(t, b)
	}
}

// checkSameAsFull is the differential check of FuzzParseEnvelope. For valid JSON whose D is
// itself valid (always true when "d" is the last key), both decoders must agree exactly.
func checkSameAsFull(t *testing.T, b []byte) {
	t.Helper()
	got, gerr := ParseEnvelope(b)
	var want Envelope
	werr := want.UnmarshalJSON(b)
	if gerr != nil && !errors.Is(gerr, ErrNotEnvelope) {
		t.Fatalf("error does not wrap ErrNotEnvelope: %v", gerr)
	}
	if !json.Valid(b) {
		// Invalid input: the fast path may accept a frame whose d it never looked at, but
		// whatever it accepts must have an integer op and a plausible D.
		return
	}
	if gerr == nil && got.D != nil && !json.Valid(got.D) {
		// Keys after "d": documented, and D cannot be decoded.
		if _, fast := parseDiscordOrder(b); !fast {
			t.Fatalf("full decoder returned an invalid D %q", got.D)
		}
		return
	}
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("ParseEnvelope err=%v, UnmarshalJSON err=%v for %q", gerr, werr, b)
	}
	if gerr == nil && !envelopesEqual(got, want) {
		t.Fatalf("ParseEnvelope = %+v (D=%q), UnmarshalJSON = %+v (D=%q) for %q", got, got.D, want, want.D, b)
	}
}

func FuzzParseEnvelope(f *testing.F) {
	files, _ := filepath.Glob("testdata/frames/*.json")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`{"t":null,"s":null,"op":11}`,
		`{"t":null,"s":null,"op":10,"d":{"heartbeat_interval":41250}}`,
		`{"op":1,"d":null,"s":null,"t":null}`,
		`{"t":"READY","s":1,"op":0,"d":{},"x":1}`,
		`{"t":"READY","s":1,"op":0,"d":1,"d":2}`,
		`{"t":"\u0052EADY","s":-0,"op":-0,"d":"x"}`,
		`{"t":"READY","s":1e3,"op":0,"d":[]}`,
		` {"t" :"a","s": 9223372036854775807 ,"op":2147483648,"d":true } `,
		`{"t":null,"s":null,"op":0,"d":"}`,
		"{\"t\":\"\xff\",\"s\":1,\"op\":0,\"d\":{}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkSameAsFull(t, b)
		// Whatever is accepted re-encodes to a frame that decodes to the same envelope.
		e, err := ParseEnvelope(b)
		if err != nil || (e.D != nil && !json.Valid(e.D)) {
			return
		}
		back, err := ParseEnvelope(e.AppendJSON(nil))
		if err != nil {
			t.Fatalf("re-encoded envelope does not parse: %v", err)
		}
		if !envelopesEqual(back, e) {
			t.Fatalf("roundtrip: %+v became %+v", e, back)
		}
	})
}

// Realistic frames for the benchmarks: a 1.6 KB reply with an embed, and a GUILD_CREATE of a
// guild with 2,500 members, 250 channels and 250 roles (about 1 MB).
var (
	benchMessageFrame = mustRead("testdata/frames/message_create.json")
	benchGuildFrame   = bigGuildCreateFrame(2500, 250, 250)
)

func mustRead(name string) []byte {
	b, err := os.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return bytes.TrimSpace(b)
}

func bigGuildCreateFrame(members, channels, roles int) []byte {
	topic := "a channel about pizza"
	g := Guild{ID: 1000000000000000007, Name: "Big Guild", OwnerID: 1200000000000000003, Features: []string{"COMMUNITY"}, MemberCount: members, Large: true}
	for i := range roles {
		g.Roles = append(g.Roles, Role{ID: Snowflake(1100000000000000000 + i), Name: fmt.Sprintf("role-%d", i), Color: i * 997, Position: i, Permissions: PermViewChannel | PermSendMessages})
	}
	for i := range channels {
		g.Channels = append(g.Channels, Channel{ID: Snowflake(1300000000000000000 + i), Type: ChannelGuildText, Name: fmt.Sprintf("channel-%d", i), Topic: &topic, Position: i,
			PermissionOverwrites: []PermissionOverwrite{{ID: g.ID, Type: OverwriteRole, Deny: PermSendMessages}}})
	}
	for i := range members {
		nick := fmt.Sprintf("nick %d", i)
		g.Members = append(g.Members, Member{User: &User{ID: Snowflake(1200000000000000000 + i), Username: fmt.Sprintf("user%d", i), Discriminator: "0"},
			Nick: &nick, Roles: []Snowflake{Snowflake(1100000000000000000 + i%roles)}, JoinedAt: "2024-01-02T03:04:05.000000+00:00"})
		g.Presences = append(g.Presences, json.RawMessage(fmt.Sprintf(`{"user":{"id":"%d"},"status":"online","client_status":{"desktop":"online"},"activities":[]}`, 1200000000000000000+i)))
	}
	d, err := json.Marshal(g)
	if err != nil {
		panic(err)
	}
	return append(append([]byte(`{"t":"GUILD_CREATE","s":2,"op":0,"d":`), d...), '}')
}

func BenchmarkParseEnvelope(b *testing.B) {
	for _, fr := range []struct {
		name  string
		frame []byte
	}{{"MessageCreate", benchMessageFrame}, {"GuildCreate", benchGuildFrame}} {
		b.Run(fr.name+"/handrolled", func(b *testing.B) {
			b.SetBytes(int64(len(fr.frame)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseEnvelope(fr.frame); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fr.name+"/encoding_json", func(b *testing.B) {
			b.SetBytes(int64(len(fr.frame)))
			b.ReportAllocs()
			for b.Loop() {
				var e Envelope
				if err := json.Unmarshal(fr.frame, &e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestParseEnvelopeKeysAfterD pins the documented limit of the fast path: keys after "d"
// (which Discord never sends) end up in D, and D then fails to decode instead of silently
// yielding the wrong value.
func TestParseEnvelopeKeysAfterD(t *testing.T) {
	for _, in := range []string{
		`{"t":"READY","s":1,"op":0,"d":{"v":10},"x":{"v":11}}`,
		`{"t":"READY","s":1,"op":0,"d":1,"d":2}`,
	} {
		e, err := ParseEnvelope([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if json.Valid(e.D) {
			t.Errorf("%s: D %s is valid JSON", in, e.D)
		}
		var v any
		if err := e.Decode(&v); err == nil {
			t.Errorf("%s: Decode succeeded with %v", in, v)
		}
	}
}
