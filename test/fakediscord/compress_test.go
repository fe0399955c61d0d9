package fakediscord

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cordage/cordage/events"
)

var syncFlush = []byte{0, 0, 0xff, 0xff}

func TestZlibStreamSplitFrames(t *testing.T) {
	const maxFrame = 100
	s := newServer(t, WithZlibSplit(maxFrame), WithGuilds(3))
	c, _ := connect(t, s, 0, 1, dialOpts{compress: "zlib-stream"})
	for i := range 20 {
		if err := s.DispatchToShard(0, "MESSAGE_CREATE", map[string]any{"content": strings.Repeat(fmt.Sprint(i), 300)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		env := c.expect(events.OpDispatch, "MESSAGE_CREATE")
		var m struct{ Content string }
		if err := json.Unmarshal(env.D, &m); err != nil || m.Content != strings.Repeat(fmt.Sprint(i), 300) {
			t.Fatalf("message %d: %s", i, env.D)
		}
	}
	frames := c.rawFrames()
	messages := 1 + 1 + 3 + 20 // Hello, READY, GUILD_CREATEs, messages
	if len(frames) <= messages {
		t.Fatalf("%d frames for %d messages: nothing was split", len(frames), messages)
	}
	if !bytes.HasPrefix(frames[0], []byte{0x78}) {
		t.Fatalf("stream does not start with a zlib header: % x", frames[0][:2])
	}
	// Reassemble as a client must: buffer frames until the buffer ends in 00 00 ff ff (the
	// suffix itself may straddle two frames).
	ends := 0
	var buf []byte
	for i, f := range frames {
		if len(f) > maxFrame {
			t.Fatalf("frame %d has %d bytes", i, len(f))
		}
		buf = append(buf, f...)
		if bytes.HasSuffix(buf, syncFlush) {
			ends++
			buf = buf[:0]
		}
	}
	if ends != messages || len(buf) != 0 {
		t.Fatalf("%d messages reassembled (%d bytes left over), want %d", ends, len(buf), messages)
	}
}

func TestZlibStreamOneFramePerMessage(t *testing.T) {
	s := newServer(t, WithGuilds(2))
	c, _ := connect(t, s, 0, 1, dialOpts{compress: "zlib-stream"})
	frames := c.rawFrames()
	if len(frames) != 4 {
		t.Fatalf("%d frames, want 4", len(frames))
	}
	for _, f := range frames {
		if !bytes.HasSuffix(f, syncFlush) {
			t.Fatalf("frame does not end in 00 00 ff ff: % x", f[len(f)-4:])
		}
	}
}

func TestZstdStream(t *testing.T) {
	s := newServer(t, WithGuilds(2))
	c, _ := connect(t, s, 0, 1, dialOpts{compress: "zstd-stream"})
	for i := range 10 {
		if err := s.DispatchToShard(0, "MESSAGE_CREATE", map[string]any{"n": i, "pad": strings.Repeat("x", i*500)}); err != nil {
			t.Fatal(err)
		}
		// Each message decodes before the next is sent: the encoder flushes per message.
		env := c.expect(events.OpDispatch, "MESSAGE_CREATE")
		var m struct{ N int }
		if json.Unmarshal(env.D, &m) != nil || m.N != i {
			t.Fatalf("message %d: %.80s", i, env.D)
		}
	}
	frames := c.rawFrames()
	if len(frames) != 1+1+2+10 {
		t.Fatalf("%d frames, want one per message", len(frames))
	}
	magic := []byte{0x28, 0xb5, 0x2f, 0xfd}
	if !bytes.HasPrefix(frames[0], magic) {
		t.Fatalf("first frame does not start a zstd frame: % x", frames[0][:4])
	}
	for i, f := range frames[1:] {
		if bytes.HasPrefix(f, magic) {
			t.Fatalf("frame %d starts a new zstd frame: the stream must be one frame", i+1)
		}
	}
}

// TestZlibBoundary checks that ZlibBoundaryNext makes a message's inflated output end exactly on
// a multiple of 32 KiB of the connection's whole stream, counted by an independent inflater.
func TestZlibBoundary(t *testing.T) {
	for _, split := range []int{0, 1000} {
		t.Run(fmt.Sprintf("split=%d", split), func(t *testing.T) {
			s := newServer(t, WithZlibSplit(split))
			c := dial(t, s, dialOpts{compress: "zlib-stream"})
			var total int64
			read := func() (events.Envelope, []byte) {
				env, raw := c.nextRaw()
				total += int64(len(raw))
				return env, raw
			}
			read() // Hello
			c.send(events.OpIdentify, identifyPayload(s, 0, 1, events.IntentsAll))
			for range 1 + len(s.Guilds()) {
				read()
			}
			hits := 0
			for round := range 3 {
				for i := range 7 {
					if err := s.DispatchToShard(0, "MESSAGE_CREATE", map[string]any{"content": strings.Repeat("y", 97*i+round)}); err != nil {
						t.Fatal(err)
					}
					read()
				}
				if err := s.ZlibBoundaryNext(0); err != nil {
					t.Fatal(err)
				}
				if err := s.DispatchToShard(0, "MESSAGE_CREATE", map[string]any{"round": round}); err != nil {
					t.Fatal(err)
				}
				env, raw := read()
				var m struct{ Round int }
				if env.T != "MESSAGE_CREATE" || json.Unmarshal(env.D, &m) != nil || m.Round != round {
					t.Fatalf("padded message: %.100s", raw)
				}
				if !bytes.Contains(raw, []byte(`"_pad":"`)) && total%window != 0 {
					t.Fatal("message not padded")
				}
				if total%window != 0 {
					t.Fatalf("round %d: stream output %d bytes after the padded message, not a multiple of 32768", round, total)
				}
				hits++
			}
			if hits != 3 || total < 2*window {
				t.Fatalf("hits %d, total %d", hits, total)
			}
			// The next message is not padded.
			if err := s.DispatchToShard(0, "AFTER", map[string]any{}); err != nil {
				t.Fatal(err)
			}
			if _, raw := read(); bytes.Contains(raw, []byte("_pad")) {
				t.Fatal("padding leaked into the next message")
			}
		})
	}
	t.Run("needs zlib", func(t *testing.T) {
		s := newServer(t)
		connect(t, s, 0, 1, dialOpts{compress: "zstd-stream"})
		if err := s.ZlibBoundaryNext(0); err == nil {
			t.Fatal("boundary mode accepted on a zstd connection")
		}
	})
}

func TestPadToWindow(t *testing.T) {
	for before := int64(0); before < 3*window; before += 4999 {
		for _, n := range []int{2, 10, 100, 32760, 32768, 40000} {
			msg := []byte(`{"a":"` + strings.Repeat("b", n) + `"}`)
			out := padToWindow(msg, before)
			if (before+int64(len(out)))%window != 0 {
				t.Fatalf("before %d, len %d: padded to %d", before, len(msg), len(out))
			}
			if !json.Valid(out) {
				t.Fatalf("padded message is not JSON: %.60s", out)
			}
		}
	}
}
