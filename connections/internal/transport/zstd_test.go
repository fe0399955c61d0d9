package transport

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func TestZstdRoundTrip(t *testing.T) {
	msgs := steadyMessages(21, 300)
	g := newCorpus(22)
	// GUILD_CREATEs larger than one 128 KiB block, so one message spans several blocks.
	msgs = append(msgs, g.guildCreate(400), g.messageCreate(), g.guildCreate(700), g.messageCreate())
	for _, tc := range []struct {
		name string
		opts []zstd.EOption
	}{
		{"default", nil},
		{"fastest", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest)}},
		{"best-crc", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderCRC(true)}},
		{"small-window", []zstd.EOption{zstd.WithWindowSize(64 << 10)}},
		{"no-crc", []zstd.EOption{zstd.WithEncoderCRC(false)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewZstdStream(0)
			defer d.Close()
			chunks := zstdChunks(t, msgs, tc.opts...)
			got := decodeAll(t, d, chunks)
			equalMessages(t, got, msgs)
		})
	}
}

// emptyRawBlock is a zstd block header for a non-last raw block of size 0.
var emptyRawBlock = []byte{0x00, 0x00, 0x00}

func TestZstdStructureBetweenMessages(t *testing.T) {
	msgs := steadyMessages(23, 30)
	chunks := zstdChunks(t, msgs)
	// The frame header travels alone, empty blocks trail or lead messages, and a skippable
	// frame sits before the real one: none of them is a message, none may break the stream.
	hdrLen, _, ok, err := frameHeaderLen(chunks[0])
	if err != nil || !ok {
		t.Fatalf("frame header: ok=%v err=%v", ok, err)
	}
	skippable := []byte{0x5e, 0x2a, 0x4d, 0x18, 0x03, 0x00, 0x00, 0x00, 'a', 'b', 'c'}
	frames := [][]byte{
		skippable,
		chunks[0][:hdrLen],
		chunks[0][hdrLen:],
		append(bytes.Clone(chunks[1]), emptyRawBlock...),
		append(append(bytes.Clone(emptyRawBlock), emptyRawBlock...), chunks[2]...),
		emptyRawBlock,
	}
	frames = append(frames, chunks[3:]...)
	d := NewZstdStream(0)
	defer d.Close()
	equalMessages(t, decodeAll(t, d, frames), msgs)
}

// TestZstdPartialBlockWaits splits messages inside blocks: Discord never does, but a partial
// block must wait for its rest, not break the stream.
func TestZstdPartialBlockWaits(t *testing.T) {
	msgs := steadyMessages(24, 20)
	chunks := zstdChunks(t, msgs)
	d := NewZstdStream(0)
	defer d.Close()
	var got [][]byte
	for i, c := range chunks {
		for j := range c {
			msg, ok, err := d.Decode(c[j : j+1])
			if err != nil {
				t.Fatalf("message %d byte %d: %v", i, j, err)
			}
			if ok {
				if j != len(c)-1 {
					t.Fatalf("message %d completed at byte %d of %d", i, j, len(c))
				}
				got = append(got, bytes.Clone(msg))
			}
		}
	}
	equalMessages(t, got, msgs)
}

func TestZstdNewFrameAfterEnd(t *testing.T) {
	// A stream that ends its frame and starts another (Discord's does not) keeps working.
	a, b := steadyMessages(25, 5), steadyMessages(26, 5)
	var fa bytes.Buffer
	wa, err := zstd.NewWriter(&fa, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for _, m := range a {
		wa.Write(m)
		wa.Flush()
		frames = append(frames, bytes.Clone(fa.Bytes()))
		fa.Reset()
	}
	wa.Close() // ends the frame: a last block that produces nothing, then the checksum
	if fa.Len() == 0 {
		t.Fatal("Close wrote no frame end")
	}
	frames[len(frames)-1] = append(frames[len(frames)-1], fa.Bytes()...)
	frames = append(frames, zstdChunks(t, b)...)
	d := NewZstdStream(0)
	defer d.Close()
	equalMessages(t, decodeAll(t, d, frames), append(append([][]byte{}, a...), b...))
}

func TestZstdCorruptThenReset(t *testing.T) {
	msgs := steadyMessages(27, 20)
	good := zstdChunks(t, msgs)
	garbled := bytes.Clone(good[2])
	for i := 3; i < len(garbled); i++ {
		garbled[i] = 0xA5
	}
	cases := map[string][][]byte{
		"bad-magic":      {append([]byte{0x29}, good[0][1:]...)},
		"reserved-bit":   {func() []byte { c := bytes.Clone(good[0]); c[4] |= 0x08; return c }()},
		"reserved-block": {good[0], {0x06, 0x00, 0x00}},
		"huge-window": {{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, // window 2^41
			0x09, 0x00, 0x00, 'x'}},
		"window-over-max": {{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x6a, // window 16 MiB + 2×2 MiB
			0x09, 0x00, 0x00, 'x'}},
		"single-segment-over-max": {{0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0x00, 0x00, 0x00, 0x02, // content size 32 MiB
			0x09, 0x00, 0x00, 'x'}},
		"garbage-block":   {good[0], good[1], garbled},
		"tiny-compressed": {good[0], {0x0c, 0x00, 0x00, 0x00}}, // compressed, size 1
	}
	for name, frames := range cases {
		t.Run(name, func(t *testing.T) {
			d := NewZstdStream(0)
			defer d.Close()
			var err error
			for _, f := range frames {
				if _, _, err = d.Decode(f); err != nil {
					break
				}
			}
			if !errors.Is(err, ErrCorruptStream) {
				t.Fatalf("err = %v, want ErrCorruptStream", err)
			}
			if _, _, err2 := d.Decode(good[0]); !errors.Is(err2, ErrCorruptStream) {
				t.Fatalf("second Decode: %v, want the same error", err2)
			}
			d.Reset()
			equalMessages(t, decodeAll(t, d, good), msgs)
		})
	}
}

func TestZstdTooLarge(t *testing.T) {
	const limit = 4000
	g := newCorpus(28)
	small, exact, big := g.messageCreate(), g.padded(limit), g.padded(limit+1)
	t.Run("inflated", func(t *testing.T) {
		chunks := zstdChunks(t, [][]byte{small, exact, big})
		d := NewZstdStream(limit)
		defer d.Close()
		equalMessages(t, decodeAll(t, d, chunks[:2]), [][]byte{small, exact})
		if _, _, err := d.Decode(chunks[2]); !errors.Is(err, ErrMessageTooLarge) {
			t.Fatalf("err = %v, want ErrMessageTooLarge", err)
		}
		if p, o := bufCaps(d); p > limit || o > limit+1 {
			t.Fatalf("buffers grew to pending %d, out %d", p, o)
		}
		d.Reset()
		equalMessages(t, decodeAll(t, d, chunks[:2]), [][]byte{small, exact})
	})
	t.Run("bomb", func(t *testing.T) {
		chunks := zstdChunks(t, [][]byte{make([]byte, 4<<20)})
		d := NewZstdStream(1 << 20)
		defer d.Close()
		if _, _, err := d.Decode(chunks[0]); !errors.Is(err, ErrMessageTooLarge) {
			t.Fatalf("err = %v, want ErrMessageTooLarge", err)
		}
	})
	t.Run("buffered-compressed", func(t *testing.T) {
		chunks := zstdChunks(t, [][]byte{small})
		d := NewZstdStream(limit)
		defer d.Close()
		// A block header announcing 100 KB of raw data, then slow arrival.
		frames := [][]byte{chunks[0], {0x00, 0x35, 0x0c}}
		var err error
		for _, f := range frames {
			if _, _, err = d.Decode(f); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 10 && err == nil; i++ {
			_, _, err = d.Decode(make([]byte, 1000))
		}
		if !errors.Is(err, ErrMessageTooLarge) {
			t.Fatalf("err = %v, want ErrMessageTooLarge", err)
		}
	})
}

func TestZstdResetMidStream(t *testing.T) {
	a, b := steadyMessages(29, 40), steadyMessages(30, 40)
	ca, cb := zstdChunks(t, a), zstdChunks(t, b)
	d := NewZstdStream(0)
	defer d.Close()
	equalMessages(t, decodeAll(t, d, ca[:20]), a[:20])
	if _, ok, err := d.Decode(ca[20][:len(ca[20])/2]); ok || err != nil {
		t.Fatalf("partial: ok=%v err=%v", ok, err)
	}
	d.Reset()
	equalMessages(t, decodeAll(t, d, cb), b)
}

func TestZstdClose(t *testing.T) {
	d := NewZstdStream(0)
	d.Close()
	d.Close()
	d.Reset()
	if _, _, err := d.Decode([]byte{0x28, 0xb5, 0x2f, 0xfd}); err == nil {
		t.Fatal("Decode after Close succeeded")
	}
}

func ExampleNewZstdStream() {
	// Discord's zstd-stream: one frame that never ends, flushed after every message.
	var stream bytes.Buffer
	zw, _ := zstd.NewWriter(&stream, zstd.WithEncoderConcurrency(1))
	defer zw.Close()
	var frames [][]byte
	for _, m := range []string{`{"op":10,"d":{"heartbeat_interval":41250}}`, `{"op":11}`} {
		zw.Write([]byte(m))
		zw.Flush()
		frames = append(frames, bytes.Clone(stream.Bytes()))
		stream.Reset()
	}

	d := NewZstdStream(0)
	defer d.Close()
	for _, f := range frames {
		msg, ok, err := d.Decode(f)
		if err != nil {
			fmt.Println("drop the connection:", err)
			return
		}
		if ok {
			fmt.Println(string(msg))
		}
	}
	// Output:
	// {"op":10,"d":{"heartbeat_interval":41250}}
	// {"op":11}
}

// TestZstdWholeFrames sends each message as a complete single-shot frame (EncodeAll: single
// segment, content size of 1, 2 or 4 bytes, with and without checksum), exercising every
// frame-header shape the scanner must measure, and frame ends between messages.
func TestZstdWholeFrames(t *testing.T) {
	g := newCorpus(31)
	msgs := [][]byte{[]byte("x"), []byte(`{"op":11}`), g.messageCreate(), g.padded(300), g.padded(70000), g.guildCreate(300)}
	for _, crc := range []bool{true, false} {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(crc))
		if err != nil {
			t.Fatal(err)
		}
		var frames [][]byte
		for _, m := range msgs {
			frames = append(frames, enc.EncodeAll(m, nil))
		}
		enc.Close()
		d := NewZstdStream(0)
		equalMessages(t, decodeAll(t, d, frames), msgs)
		d.Close()
	}
}
