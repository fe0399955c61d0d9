package transport

import (
	"bytes"
	"errors"
	"testing"

	"github.com/klauspost/compress/flate"
)

// TestZlibWindowCaptured pins what the window-boundary recovery relies on in the flate version
// of go.mod: the inflater's own ring is found, so no copy of the output is kept.
func TestZlibWindowCaptured(t *testing.T) {
	d := NewZlibStream(0)
	defer d.Close()
	msgs := steadyMessages(3, 40)
	equalMessages(t, decodeAll(t, d, zlibChunks(t, msgs, 6, false)), msgs)
	z := d.(*zlibStream)
	if z.win == nil {
		t.Fatal("flate's window was not captured: every shard would keep a 32 KiB copy of its output")
	}
	if z.backup != nil {
		t.Fatal("a backup copy is kept although no message was split")
	}
	total := 0
	for _, m := range msgs {
		total += len(m)
	}
	if z.pos != total%windowSize || z.full != (total >= windowSize) {
		t.Fatalf("pos=%d full=%v after %d bytes", z.pos, z.full, total)
	}
}

// TestZlibTinyReads asks at most a few bytes of each Read, so that messages often end exactly
// when the output buffer is full: the next Read then runs past the sync flush with the window
// at any position (not only on a 32 KiB boundary), and the restart must rotate the ring.
func TestZlibTinyReads(t *testing.T) {
	msgs, _ := boundaryMessages(21, []int{1, 3}, 40)
	msgs = append(msgs, steadyMessages(22, 60)...)
	for _, room := range []int{1, 2, 7, 64} {
		for _, kp := range []bool{false, true} {
			d := NewZlibStream(0)
			d.(*zlibStream).maxRoom = room
			equalMessages(t, decodeAll(t, d, zlibChunks(t, msgs, 6, kp)), msgs)
			z := d.(*zlibStream)
			if z.restarts < 3 {
				t.Fatalf("room %d: only %d restarts; the test does not reach the recovery", room, z.restarts)
			}
			if z.backup != nil {
				t.Fatalf("room %d: backup kept", room)
			}
			d.Close()
		}
	}
}

// fakeSuffixStream returns messages whose total passes 32 KiB before a message whose stored
// block carries the bytes 00 00 ff ff, and where to cut that message's chunk right after them.
func fakeSuffixStream(t *testing.T, seed uint64) (msgs, chunks [][]byte, trickyIdx, cut int) {
	t.Helper()
	g := newCorpus(seed)
	total := 0
	for total < 3*windowSize/2 {
		m := g.messageCreate()
		msgs = append(msgs, m)
		total += len(m)
	}
	tricky := append([]byte(`{"t":"X","d":"`), 0x00, 0x00, 0xff, 0xff)
	tricky = append(tricky, []byte(`tail of the message"}`)...)
	trickyIdx = len(msgs)
	msgs = append(msgs, tricky, g.messageCreate(), g.messageCreate())
	chunks = zlibChunks(t, msgs, flate.NoCompression, false)
	idx := bytes.Index(chunks[trickyIdx], []byte{0x00, 0x00, 0xff, 0xff, 't', 'a', 'i', 'l'})
	if idx < 0 {
		t.Fatal("stored block does not carry the data bytes")
	}
	return msgs, chunks, trickyIdx, idx + 4
}

// TestZlibFakeSuffixAfterFullWindow: a fake suffix in a stream that never split a message
// before, after the window filled, cannot be rewound: the stream fails with ErrCorruptStream
// (the runtime resumes on a new connection). The decoder then keeps a copy of the window, and
// the same case on the next stream decodes.
func TestZlibFakeSuffixAfterFullWindow(t *testing.T) {
	msgs, chunks, ti, cut := fakeSuffixStream(t, 8)
	d := NewZlibStream(0)
	defer d.Close()
	equalMessages(t, decodeAll(t, d, chunks[:ti]), msgs[:ti])
	_, ok, err := d.Decode(chunks[ti][:cut])
	if ok || !errors.Is(err, ErrCorruptStream) || !errors.Is(err, errUnrewindable) {
		t.Fatalf("first fake suffix: ok=%v err=%v, want an unrewindable corrupt stream", ok, err)
	}

	d.Reset()
	if d.(*zlibStream).backup == nil {
		t.Fatal("no backup kept after a split was seen")
	}
	var got [][]byte
	for i, c := range chunks {
		frames := [][]byte{c}
		if i == ti {
			frames = [][]byte{c[:cut], c[cut:]}
		}
		for j, f := range frames {
			msg, ok, err := d.Decode(f)
			if err != nil {
				t.Fatalf("message %d frame %d: %v", i, j, err)
			}
			if ok != (j == len(frames)-1) {
				t.Fatalf("message %d: ok=%v at frame %d of %d", i, ok, j, len(frames))
			}
			if ok {
				got = append(got, bytes.Clone(msg))
			}
		}
	}
	equalMessages(t, got, msgs)
}

// TestZlibSplitThenFakeSuffix: a message split at an ordinary point shows that the server
// splits messages; the window is copied before that message is decoded, so a later fake
// suffix after the window filled decodes on the same stream.
func TestZlibSplitThenFakeSuffix(t *testing.T) {
	msgs, chunks, ti, cut := fakeSuffixStream(t, 9)
	d := NewZlibStream(0)
	defer d.Close()
	var got [][]byte
	for i, c := range chunks {
		frames := [][]byte{c}
		switch {
		case i == ti:
			frames = [][]byte{c[:cut], c[cut:]}
		case i == ti-3: // after 32 KiB of output, before the fake suffix
			frames = [][]byte{c[:len(c)/2], c[len(c)/2:]}
		}
		for j, f := range frames {
			msg, ok, err := d.Decode(f)
			if err != nil {
				t.Fatalf("message %d frame %d: %v", i, j, err)
			}
			if ok != (j == len(frames)-1) {
				t.Fatalf("message %d: ok=%v at frame %d of %d", i, ok, j, len(frames))
			}
			if ok {
				got = append(got, bytes.Clone(msg))
			}
		}
	}
	equalMessages(t, got, msgs)
}

// TestReleaseLendsBuffer: after Release an idle decoder holds no message buffer, and decoding
// goes on correctly with a borrowed one (several decoders sharing the pool).
func TestReleaseLendsBuffer(t *testing.T) {
	msgs := steadyMessages(5, 30)
	for name, mk := range map[string]func() (Decompressor, [][]byte){
		"zlib": func() (Decompressor, [][]byte) { return NewZlibStream(0), zlibChunks(t, msgs, 6, false) },
		"zstd": func() (Decompressor, [][]byte) { return NewZstdStream(0), zstdChunks(t, msgs) },
	} {
		t.Run(name, func(t *testing.T) {
			a, chunks := mk()
			b, _ := mk()
			defer a.Close()
			defer b.Close()
			for i, c := range chunks {
				for _, d := range []Decompressor{a, b} {
					msg, ok, err := d.Decode(c)
					if err != nil || !ok || !bytes.Equal(msg, msgs[i]) {
						t.Fatalf("message %d: ok=%v err=%v", i, ok, err)
					}
					d.Release()
					if _, o := bufCaps(d); o != 0 {
						t.Fatalf("message %d: %d bytes of buffer held after Release", i, o)
					}
				}
			}
		})
	}
}
