package transport

import (
	"bytes"
	"compress/zlib"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// Both fuzz targets check two properties on every input:
//
//  1. Robustness: the input, cut into frames, goes straight to a decompressor. Whatever it
//     is, Decode must not panic, must fail only with ErrCorruptStream or ErrMessageTooLarge,
//     must never return a message over the limit, and must keep its buffers within the limit.
//  2. Differential round trip: the input, cut into messages, is compressed by a real encoder
//     flushing after each message (optionally padded so that messages end on 32 KiB window
//     boundaries), cut into frames at input-chosen points, and must decode to exactly the
//     messages.

const fuzzLimit = 256 << 10

// fuzzPieces cuts data[1:] at every occurrence of data[0].
func fuzzPieces(data []byte) [][]byte {
	if len(data) < 2 {
		return nil
	}
	return bytes.Split(data[1:], data[:1])
}

func fuzzRand(data []byte) *rand.Rand {
	h := fnv.New64a()
	h.Write(data)
	s := h.Sum64()
	return rand.New(rand.NewPCG(s, s>>7|1))
}

func checkRobust(t *testing.T, d Decompressor, frames [][]byte) {
	t.Helper()
	for _, f := range frames {
		msg, ok, err := d.Decode(f)
		if err != nil {
			if !errors.Is(err, ErrCorruptStream) && !errors.Is(err, ErrMessageTooLarge) {
				t.Fatalf("unexpected error class: %v", err)
			}
			d.Reset()
			continue
		}
		if ok && len(msg) > fuzzLimit {
			t.Fatalf("message of %d bytes over limit %d", len(msg), fuzzLimit)
		}
		if !ok && msg != nil {
			t.Fatalf("message returned with ok=false")
		}
		if p, o := bufCaps(d); p > fuzzLimit || o > fuzzLimit+minZstdRoom {
			t.Fatalf("buffers grew to pending %d, out %d", p, o)
		}
	}
}

// fuzzMessages turns the input into 1..64 non-empty messages; with pad set, each message whose
// first byte is even is lengthened (by repeating itself) to end on the next window boundary.
func fuzzMessages(data []byte, pad bool) [][]byte {
	var msgs [][]byte
	total := 0
	for _, p := range fuzzPieces(data) {
		if len(p) == 0 {
			continue
		}
		m := bytes.Clone(p)
		if pad && p[0]%2 == 0 {
			need := windowSize - total%windowSize
			for len(m) < need {
				m = append(m, p[:min(len(p), need-len(m))]...)
			}
		}
		msgs = append(msgs, m)
		total += len(m)
		if len(msgs) == 64 || total > 256<<10 {
			break
		}
	}
	return msgs
}

// cutFrames splits each chunk into 1..4 frames at random points.
func cutFrames(r *rand.Rand, chunk []byte) [][]byte {
	cuts := make([]int, r.IntN(4))
	for i := range cuts {
		cuts[i] = r.IntN(len(chunk) + 1)
	}
	sortInts(cuts)
	return splitAt(chunk, cuts...)
}

func fuzzSeeds(f *testing.F) {
	g := newCorpus(40)
	var plain [][]byte
	for range 4 {
		plain = append(plain, append([]byte{'|'}, bytes.Join([][]byte{g.messageCreate(), g.messageCreate(), []byte("x")}, []byte("|"))...))
	}
	plain = append(plain, []byte{0}, []byte("\x00a\x00b\x00"), []byte("|{\"op\":11}|{}|a|bb|ccc"))
	for _, p := range plain {
		f.Add(p)
	}
	// Valid compressed streams, with each message's chunk as one frame (separator chosen
	// absent from the stream where possible).
	msgs := steadyMessages(41, 5)
	for _, chunks := range [][][]byte{zlibChunks(f, msgs, 6, false), zstdChunks(f, msgs)} {
		joined := bytes.Join(chunks, nil)
		sep := byte(0)
		for b := 255; b >= 0; b-- {
			if bytes.IndexByte(joined, byte(b)) < 0 {
				sep = byte(b)
				break
			}
		}
		f.Add(append([]byte{sep}, bytes.Join(chunks, []byte{sep})...))
	}
}

func FuzzZlibStream(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		// 1. Robustness on raw frames, and on frames after a valid zlib header.
		d := NewZlibStream(fuzzLimit)
		defer d.Close()
		checkRobust(t, d, fuzzPieces(data))
		d.Reset()
		checkRobust(t, d, append([][]byte{{0x78, 0x9c}}, fuzzPieces(data)...))

		// 2. Differential round trip.
		if len(data) < 2 {
			return
		}
		opt := data[len(data)-1]
		msgs := fuzzMessages(data, opt&1 == 1)
		if len(msgs) == 0 {
			return
		}
		var buf bytes.Buffer
		zw, err := zlib.NewWriterLevel(&buf, int(opt>>1)%10)
		if err != nil {
			t.Fatal(err)
		}
		r := fuzzRand(data)
		d.Reset()
		splitBefore := false // an earlier message of this stream came in several frames
		for i, m := range msgs {
			zw.Write(m)
			zw.Flush()
			frames := cutFrames(r, bytes.Clone(buf.Bytes()))
			buf.Reset()
			for j, fr := range frames {
				got, ok, err := d.Decode(fr)
				if err != nil && errors.Is(err, errUnrewindable) && j < len(frames)-1 && bytes.HasSuffix(fr, syncFlushSuffix) && !splitBefore {
					// The stream's first split is a fake suffix after the window filled: the
					// documented case a resume on a new connection handles (zlibStream).
					return
				}
				if err != nil {
					t.Fatalf("message %d frame %d: %v", i, j, err)
				}
				if ok != (j == len(frames)-1) {
					t.Fatalf("message %d: ok=%v at frame %d of %d", i, ok, j, len(frames))
				}
				if ok && !bytes.Equal(got, m) {
					t.Fatalf("message %d differs: got %d bytes, want %d", i, len(got), len(m))
				}
			}
			splitBefore = splitBefore || len(frames) > 1
		}
	})
}

func FuzzZstdStream(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		// 1. Robustness on raw frames, and on frames after a valid frame header (64 KiB
		// window, checksums on).
		d := NewZstdStream(fuzzLimit)
		defer d.Close()
		checkRobust(t, d, fuzzPieces(data))
		d.Reset()
		checkRobust(t, d, append([][]byte{{0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x30}}, fuzzPieces(data)...))

		// 2. Differential round trip: one never-ending frame, flushed per message. Messages
		// stay below one block, so each flush is exactly one block.
		if len(data) < 2 {
			return
		}
		opt := data[len(data)-1]
		msgs := fuzzMessages(data, false)
		if len(msgs) == 0 {
			return
		}
		level := []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression}[int(opt)%3]
		var buf bytes.Buffer
		zw, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(64<<10),
			zstd.WithEncoderLevel(level), zstd.WithEncoderCRC(opt&4 != 0))
		if err != nil {
			t.Fatal(err)
		}
		defer zw.Close()
		r := fuzzRand(data)
		d.Reset()
		splitBefore := false // an earlier message of this stream came in several frames
		for i, m := range msgs {
			if len(m) > 60<<10 {
				m = m[:60<<10]
			}
			zw.Write(m)
			zw.Flush()
			frames := cutFrames(r, bytes.Clone(buf.Bytes()))
			buf.Reset()
			for j, fr := range frames {
				got, ok, err := d.Decode(fr)
				if err != nil && errors.Is(err, errUnrewindable) && j < len(frames)-1 && bytes.HasSuffix(fr, syncFlushSuffix) && !splitBefore {
					// The stream's first split is a fake suffix after the window filled: the
					// documented case a resume on a new connection handles (zlibStream).
					return
				}
				if err != nil {
					t.Fatalf("message %d frame %d: %v", i, j, err)
				}
				if ok && !bytes.Equal(got, m) {
					t.Fatalf("message %d differs: got %d bytes, want %d", i, len(got), len(m))
				}
				if ok != (j == len(frames)-1) {
					t.Fatalf("message %d: ok=%v at frame %d of %d", i, ok, j, len(frames))
				}
			}
		}
	})
}
