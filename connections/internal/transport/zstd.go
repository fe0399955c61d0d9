package transport

import (
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// MaxZstdWindow is the largest zstd window a zstd-stream decompressor accepts. The window is
// allocated in full per connection, so it is capped: Discord's streams use about 2 MiB; a
// stream that asks for more than this fails with ErrCorruptStream.
const MaxZstdWindow = 8 << 20

// zstdFeed is the decoder's input: the bytes of the current message, up to the end of its last
// output-producing block. It deliberately has no Bytes/Len methods: the zstd decoder would
// otherwise decode such a reader in one shot as a complete stream.
type zstdFeed struct {
	data []byte
	pos  int
}

func (f *zstdFeed) Read(p []byte) (int, error) {
	if f.pos >= len(f.data) {
		return 0, io.EOF
	}
	n := copy(p, f.data[f.pos:])
	f.pos += n
	return n, nil
}

// zstdStream decodes Discord's zstd-stream transport compression: one zstd frame that never
// ends, each websocket message carrying one gateway message as whole blocks.
//
// The decoder runs synchronously (concurrency 1, no goroutines) and returns one block's output
// per Read. It must never be asked for a block that has not arrived: that latches an error.
// So each message is first walked with zstdScan, the decoder is fed only up to the end of the
// last block that produces output, and Reads stop when that point is consumed. Anything after
// it (empty blocks, a new frame header) stays buffered for the next message. Every Read gets
// more room than one block can produce, so a short Read proves the block's output is drained.
type zstdStream struct {
	max int

	dec  *zstd.Decoder
	feed zstdFeed
	scan zstdScan // structure state at the decoder's input position

	pending []byte // bytes after the last consumed block, or an unfinished message
	out     []byte
	outH    *lentBuf // out's carrier while out is borrowed from zstdBufs
	lastLen int

	err    error
	closed bool
}

// NewZstdStream returns a Decompressor for Discord's zstd-stream transport compression, with
// one github.com/klauspost/compress/zstd decoder that lives as long as the Decompressor.
// Messages (inflated, or buffered compressed) over maxMessage bytes fail with
// ErrMessageTooLarge; maxMessage <= 0 means DefaultMaxMessage.
//
// Each websocket message is expected to carry whole zstd blocks, as Discord sends them; a
// message that ends inside a block is buffered until the block completes, and structure after
// a message's last data block (empty blocks, a new frame header) is kept for the next one.
//
// Memory per connection is dominated by the decoder's history ring: the stream's window
// (1–2 MiB, at most MaxZstdWindow) plus room for two 128 KiB blocks, and a 128 KiB block
// buffer; the output buffer (at least 128 KiB) is lent out between messages (Release). With
// the simulator's 1 MiB window an idle decoder holds about 1.4 MiB.
func NewZstdStream(maxMessage int) Decompressor {
	z := &zstdStream{max: maxOrDefault(maxMessage)}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1), // synchronous: no goroutines, one block per Read
		zstd.WithDecoderLowmem(true),   // size block buffers to the blocks actually seen
		zstd.WithDecoderMaxWindow(MaxZstdWindow),
	)
	if err != nil {
		z.err = fmt.Errorf("transport: creating zstd decoder: %w", err)
		return z
	}
	z.dec = dec
	z.Reset()
	return z
}

func (z *zstdStream) Reset() {
	if z.closed || z.dec == nil {
		return
	}
	z.feed = zstdFeed{}
	if err := z.dec.Reset(&z.feed); err != nil {
		z.err = fmt.Errorf("%w: %v", ErrCorruptStream, err)
		return
	}
	z.scan = zstdScan{}
	z.pending = shrink(z.pending[:0], 0)
	z.out = z.out[:0]
	z.lastLen = 0
	z.err = nil
}

func (z *zstdStream) Close() {
	if z.closed {
		return
	}
	z.closed = true
	z.err = errClosed
	if z.dec != nil {
		z.dec.Close()
		z.dec = nil
	}
	z.feed = zstdFeed{}
	z.pending = nil
	z.out = nil
}

// zstdBufs lends zstd-stream message buffers (at least one block's room, 128 KiB) between
// messages.
var zstdBufs = bufPool{max: retainBuf + minZstdRoom}

func (z *zstdStream) Release() {
	if z.lastLen > retainBuf {
		return // big messages come in bursts (startup): keep the big buffer for the next
	}
	zstdBufs.give(z.out, z.outH)
	z.out, z.outH = nil, nil
}

func (z *zstdStream) Decode(frame []byte) ([]byte, bool, error) {
	if z.err != nil {
		return nil, false, z.err
	}
	msg, ok, err := z.decode(frame)
	if err != nil {
		z.err = err
		z.pending = nil
		z.out = nil
		return nil, false, err
	}
	return msg, ok, nil
}

// minZstdRoom exceeds the most output one zstd block can produce.
const minZstdRoom = zstdMaxBlockSize + 1

func (z *zstdStream) decode(frame []byte) ([]byte, bool, error) {
	if z.out == nil {
		z.out, z.outH = zstdBufs.take()
	}
	if cap(z.out) > retainBuf+minZstdRoom && z.lastLen <= retainBuf {
		z.out = nil
	}
	z.out = z.out[:0]

	data := frame
	if len(z.pending) > 0 {
		if len(z.pending)+len(frame) > z.max {
			return nil, false, fmt.Errorf("%w: more than %d compressed bytes buffered", ErrMessageTooLarge, z.max)
		}
		z.pending = append(z.pending, frame...)
		data = z.pending
	} else if len(frame) > z.max {
		return nil, false, fmt.Errorf("%w: %d compressed bytes in one frame", ErrMessageTooLarge, len(frame))
	}

	res, err := z.scan.scan(data)
	if err != nil {
		return nil, false, err
	}
	if !res.whole || res.outEnd == 0 {
		// A partial block (Discord sends whole blocks, so wait for the rest), or nothing that
		// produces output yet (a frame header, empty blocks): keep it for the next frame.
		if len(z.pending) == 0 {
			z.pending = append(z.pending[:0], frame...)
		}
		return nil, false, nil
	}

	z.feed = zstdFeed{data: data[:res.outEnd]}
	limit := z.max + 1
	for z.feed.pos < len(z.feed.data) {
		z.out = growBuf(z.out, min(minZstdRoom, limit-len(z.out)), limit)
		room := z.out[len(z.out):cap(z.out)]
		n, rerr := z.dec.Read(room)
		z.out = z.out[:len(z.out)+n]
		if len(z.out) > z.max {
			return nil, false, fmt.Errorf("%w: inflates to more than %d bytes", ErrMessageTooLarge, z.max)
		}
		if rerr != nil {
			return nil, false, fmt.Errorf("%w: %v", ErrCorruptStream, rerr)
		}
		if n == 0 {
			return nil, false, fmt.Errorf("%w: zstd decoder made no progress", ErrCorruptStream)
		}
	}
	z.scan = res.atOutEnd

	// Keep what follows the last output block (empty blocks, the next frame's header).
	rest := data[res.outEnd:]
	switch {
	case len(rest) == 0:
		z.pending = shrink(z.pending[:0], len(data))
	case len(z.pending) > 0: // data is pending: move the rest to its front
		z.pending = z.pending[:copy(z.pending, rest)]
	default:
		z.pending = append(z.pending[:0], rest...)
	}
	z.feed = zstdFeed{}
	z.lastLen = len(z.out)
	return z.out, true, nil
}
