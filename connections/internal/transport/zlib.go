package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/flate"
)

// syncFlushSuffix ends every zlib-stream gateway message: the LEN/NLEN of the empty stored
// block that Z_SYNC_FLUSH writes.
var syncFlushSuffix = []byte{0x00, 0x00, 0xff, 0xff}

// retainBuf is the largest buffer a decompressor keeps between messages once big messages
// stop coming; beyond it a buffer is dropped so an idle shard does not hold a GUILD_CREATE.
const retainBuf = 64 << 10

// zlibStream decodes Discord's zlib-stream transport compression.
//
// The inflater reads each message from a *bytes.Reader that returns io.EOF when drained, and
// lives across messages. Two outcomes end a message:
//
//   - Normal: the final Read returns data without error after the reader consumed the whole
//     message, i.e. right after the empty stored block of the sync flush.
//   - Window boundary: when a message's last byte fills the 32 KiB output window, the data is
//     handed out early, the stored block then yields nothing, and the inflater reads on into
//     the next block header, finds the source drained and latches io.ErrUnexpectedEOF. A Read
//     that returns (0, io.ErrUnexpectedEOF) with the input fully consumed therefore means the
//     message is complete; the inflater is dead and is restarted before the next message with
//     flate's Reset and the last 32 KiB of output as dictionary.
//
// A Read that returns data together with io.ErrUnexpectedEOF means the inflater ran out of
// input inside a block: a frame happened to end in 00 00 ff ff in the middle of a message.
// The message is kept and decoded again from its start once more frames arrive.
type zlibStream struct {
	max int

	fr   io.ReadCloser // a flate reader; also a flate.Resetter
	src  bytes.Reader
	hist history

	pending []byte // compressed bytes of an unfinished message
	out     []byte // inflated message, lent to the caller until the next Decode
	lastLen int    // length of the previous message, for the buffer retention policy

	headerDone bool // the 2-byte zlib header has been consumed
	dead       bool // fr latched an error and must be Reset with hist before use
	restarts   int  // times fr was Reset (tests check that recovery really ran)
	err        error
	closed     bool
}

// NewZlibStream returns a Decompressor for Discord's zlib-stream transport compression.
// Messages (inflated, or buffered compressed) over maxMessage bytes fail with
// ErrMessageTooLarge; maxMessage <= 0 means DefaultMaxMessage.
//
// It inflates raw DEFLATE with github.com/klauspost/compress/flate: the 2-byte zlib header at
// the start of the stream is checked and stripped, and the Adler-32 checksum, which a stream
// that never ends never reaches, is not computed. A message whose end falls exactly on a
// 32 KiB boundary of the stream's output is handled (see perf.md); it costs keeping a copy of
// the last 32 KiB of output. An idle decoder holds about 80 KiB (measured after 20 messages:
// flate state, that history, and a small message buffer).
//
// One case stays ambiguous, as it is for every zlib-stream client: a frame that ends inside a
// message but happens to end in 00 00 ff ff. When the inflater still produced output from it,
// the message is recognised as unfinished and decoded again from its start once the next frame
// arrives; only if that frame ends exactly where the inflater had just flushed a full 32 KiB
// window would it be taken for a whole message.
func NewZlibStream(maxMessage int) Decompressor {
	return &zlibStream{max: maxOrDefault(maxMessage)}
}

func (z *zlibStream) Reset() {
	if z.closed {
		return
	}
	z.hist.reset()
	z.pending = shrink(z.pending[:0], 0)
	z.out = shrink(z.out[:0], 0)
	z.lastLen = 0
	z.headerDone = false
	z.dead = true // fresh stream: restart with an empty dictionary
	z.err = nil
}

func (z *zlibStream) Close() {
	z.closed = true
	z.err = errClosed
	z.fr = nil
	z.pending = nil
	z.out = nil
}

// shrink drops buf when it is larger than retainBuf and the last message did not need it.
func shrink(buf []byte, lastLen int) []byte {
	if cap(buf) > retainBuf && lastLen <= retainBuf {
		return nil
	}
	return buf
}

func (z *zlibStream) Decode(frame []byte) ([]byte, bool, error) {
	if z.err != nil {
		return nil, false, z.err
	}
	msg, ok, err := z.decode(frame)
	if err != nil {
		z.fail(err)
		return nil, false, err
	}
	return msg, ok, nil
}

func (z *zlibStream) fail(err error) {
	z.err = err
	// Release what a broken stream no longer needs; Reset starts over anyway.
	z.pending = nil
	z.out = nil
}

func (z *zlibStream) decode(frame []byte) ([]byte, bool, error) {
	z.out = shrink(z.out, z.lastLen)
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
	if !bytes.HasSuffix(data, syncFlushSuffix) {
		z.keep(frame)
		return nil, false, nil
	}

	body := data
	if !z.headerDone {
		if len(body) < 2 {
			return nil, false, fmt.Errorf("%w: stream shorter than its zlib header", ErrCorruptStream)
		}
		if err := checkZlibHeader(body[0], body[1]); err != nil {
			return nil, false, err
		}
		body = body[2:]
	}

	msg, complete, err := z.inflate(body)
	if err != nil {
		return nil, false, err
	}
	if !complete {
		// A 00 00 ff ff inside the message happened to end a frame: keep the whole message
		// and decode it again from its start when the rest arrives.
		z.keep(frame)
		z.dead = true
		z.out = z.out[:0]
		return nil, false, nil
	}
	z.headerDone = true
	z.pending = shrink(z.pending[:0], len(data))
	z.hist.write(msg)
	z.lastLen = len(msg)
	if len(msg) == 0 {
		// A bare sync flush carries no gateway message.
		return nil, false, nil
	}
	return msg, true, nil
}

// keep stores an unfinished message's compressed bytes. When frames are already being
// buffered, pending holds the frame too; otherwise the frame is the caller's buffer, which the
// caller reuses, so it is copied.
func (z *zlibStream) keep(frame []byte) {
	if len(z.pending) == 0 {
		z.pending = append(z.pending[:0], frame...)
	}
}

func checkZlibHeader(cmf, flg byte) error {
	switch {
	case cmf&0x0f != 8:
		return fmt.Errorf("%w: zlib header: compression method %d, want 8 (deflate)", ErrCorruptStream, cmf&0x0f)
	case cmf>>4 > 7:
		return fmt.Errorf("%w: zlib header: window size 2^%d too large", ErrCorruptStream, cmf>>4+8)
	case (uint16(cmf)<<8|uint16(flg))%31 != 0:
		return fmt.Errorf("%w: zlib header: bad check bits", ErrCorruptStream)
	case flg&0x20 != 0:
		return fmt.Errorf("%w: zlib header: preset dictionary not supported", ErrCorruptStream)
	}
	return nil
}

// inflate decodes body, one whole message's DEFLATE data, into z.out. complete is false when
// the input ran out inside a block.
func (z *zlibStream) inflate(body []byte) (msg []byte, complete bool, err error) {
	z.src.Reset(body)
	if z.fr == nil {
		// Created on first use so that an idle, never-connected shard costs nothing.
		z.fr = flate.NewReader(&z.src)
		z.dead = true
	}
	if z.dead {
		if err := z.fr.(flate.Resetter).Reset(&z.src, z.hist.bytes()); err != nil {
			return nil, false, fmt.Errorf("%w: %v", ErrCorruptStream, err)
		}
		z.dead = false
		z.restarts++
	}
	limit := z.max + 1
	for {
		z.out = growBuf(z.out, min(4096, limit-len(z.out)), limit)
		room := z.out[len(z.out):cap(z.out)]
		n, rerr := z.fr.Read(room)
		z.out = z.out[:len(z.out)+n]
		if len(z.out) > z.max {
			return nil, false, fmt.Errorf("%w: inflates to more than %d bytes", ErrMessageTooLarge, z.max)
		}
		drained := z.src.Len() == 0
		switch {
		case rerr == nil:
			if drained && n < len(room) {
				return z.out, true, nil
			}
			// Input left, or the Read filled the buffer and more output may be pending.
		case errors.Is(rerr, io.ErrUnexpectedEOF) && drained:
			z.dead = true
			// No output with the error: the inflater read past the message's final sync
			// flush (the window-boundary case, or a buffer filled exactly). Output with it:
			// the input ended inside a block.
			return z.out, n == 0, nil
		case rerr == io.EOF:
			z.dead = true
			return nil, false, fmt.Errorf("%w: the stream ended with a final block", ErrCorruptStream)
		default:
			z.dead = true
			return nil, false, fmt.Errorf("%w: %v", ErrCorruptStream, rerr)
		}
	}
}
