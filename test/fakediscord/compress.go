package fakediscord

import (
	"bytes"
	"fmt"

	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// window is the deflate window: Go's flate readers misbehave when a message's inflated output
// ends exactly on a multiple of it (see ZlibBoundaryNext).
const window = 32 * 1024

// encoder turns gateway messages into the bytes of one transport-compression stream. A
// connection has one encoder for its whole life: the compression context is shared by all its
// messages, as Discord's is.
type encoder interface {
	// encode compresses msg and flushes, returning the bytes to send for it. The result is only
	// valid until the next call.
	encode(msg []byte) ([]byte, error)
	// total returns how many uncompressed bytes have gone into the stream so far.
	total() int64
	close()
}

func newEncoder(compress string) (encoder, error) {
	switch compress {
	case "":
		return plainEncoder{}, nil
	case "zlib-stream":
		e := &streamEncoder{}
		w, err := zlib.NewWriterLevel(&e.buf, zlib.DefaultCompression)
		if err != nil {
			return nil, fmt.Errorf("fakediscord: zlib writer: %w", err)
		}
		e.w = w
		return e, nil
	case "zstd-stream":
		e := &streamEncoder{}
		// One goroutine-free encoder per connection; a single frame that never ends, flushed per
		// message.
		// SpeedFastest with lower memory keeps hundreds of simulated shards cheap.
		w, err := zstd.NewWriter(&e.buf, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20),
			zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithLowerEncoderMem(true))
		if err != nil {
			return nil, fmt.Errorf("fakediscord: zstd writer: %w", err)
		}
		e.w = w
		// Release without ending the frame: Discord's zstd frame never ends either.
		e.release = func() { _ = w.Close() }
		return e, nil
	}
	return nil, fmt.Errorf("fakediscord: unknown compression %q", compress)
}

type plainEncoder struct{}

func (plainEncoder) encode(msg []byte) ([]byte, error) { return msg, nil }
func (plainEncoder) total() int64                      { return 0 }
func (plainEncoder) close()                            {}

// flushWriter is the part of zlib.Writer and zstd.Encoder a stream encoder uses.
type flushWriter interface {
	Write(p []byte) (int, error)
	Flush() error
}

// streamEncoder is the encoder of both compressed transports: w writes into buf, and each
// message is written and sync-flushed (for zlib the output then ends in 00 00 ff ff).
type streamEncoder struct {
	buf bytes.Buffer
	w   flushWriter
	n   int64
	// release frees the writer at close; nil when there is nothing to free.
	release func()
}

func (e *streamEncoder) encode(msg []byte) ([]byte, error) {
	e.buf.Reset()
	if _, err := e.w.Write(msg); err != nil {
		return nil, err
	}
	if err := e.w.Flush(); err != nil {
		return nil, err
	}
	e.n += int64(len(msg))
	return e.buf.Bytes(), nil
}

func (e *streamEncoder) total() int64 { return e.n }

func (e *streamEncoder) close() {
	if e.release != nil {
		e.release()
	}
}

// padToWindow returns msg (a JSON object) with a "_pad" member added so that, after `before`
// bytes already went into the stream, the stream's output ends exactly on a multiple of the
// 32 KiB window at the end of msg.
func padToWindow(msg []byte, before int64) []byte {
	const overhead = len(`,"_pad":""`)
	end := before + int64(len(msg))
	need := int((window - end%window) % window)
	if need == 0 {
		return msg
	}
	for need < overhead {
		need += window
	}
	out := make([]byte, 0, len(msg)+need)
	out = append(out, msg[:len(msg)-1]...)
	out = append(out, `,"_pad":"`...)
	out = append(out, bytes.Repeat([]byte{' '}, need-overhead)...)
	out = append(out, `"}`...)
	return out
}
