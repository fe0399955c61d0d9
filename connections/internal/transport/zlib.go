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
// The dictionary for a restart comes from the inflater itself. flate keeps its output history
// in one 32 KiB ring that Reset reuses, and hands out slices of that ring; captureWindow finds
// the ring once per inflater, and z.pos/z.full track its write position from the output
// counted here. A dead inflater's ring still holds exactly the last 32 KiB of output, so a
// restart rotates it in place to oldest-first and passes it to Reset as the dictionary (Reset
// copies a dictionary into the ring: here onto itself). No copy of the output is kept.
//
// A Read that returns data together with io.ErrUnexpectedEOF means the inflater ran out of
// input inside a block: a frame happened to end in 00 00 ff ff in the middle of a message.
// The message is kept and decoded again from its start once more frames arrive; that needs
// the window as it was before the message, whose oldest part the partial output has just
// overwritten. So once a stream shows a message split over frames, the decoder keeps a copy
// of the window (backup, 32 KiB, filled before the split message is decoded) for the rest of
// the shard's life. Only the very first split, if it is such a fake suffix after the first
// 32 KiB of output, cannot be rewound: it fails the stream (ErrCorruptStream), the runtime
// resumes on a new connection, and the copy is kept from then on. Discord sends every gateway
// message in one websocket message, so none of this happens on a Discord connection.
type zlibStream struct {
	max int

	fr  io.ReadCloser // a flate reader; also a flate.Resetter and an io.WriterTo
	src bytes.Reader

	win  []byte // fr's own output ring (captureWindow); nil if it could not be found
	pos  int    // fr's next write index in win: output since the last restart, mod windowSize
	full bool   // win holds a whole window of output

	backup *history // a copy of the window, kept once messages were split (or without win)
	splits bool     // a message of this shard's streams came split over frames

	pending []byte   // compressed bytes of an unfinished message
	out     []byte   // inflated message, lent to the caller until Release or the next Decode
	outH    *lentBuf // out's carrier while out is borrowed from zlibBufs
	lastLen int      // length of the previous message, for the buffer retention policy

	headerDone bool // the 2-byte zlib header has been consumed
	dead       bool // fr latched an error and must be restarted before use
	restarts   int  // times fr was Reset (tests check that recovery really ran)
	maxRoom    int  // tests: when > 0, the most output asked of one Read
	err        error
	closed     bool
}

// errUnrewindable is wrapped (with ErrCorruptStream) when the first message of a stream that
// came split over frames cannot be decoded again from its start (see zlibStream).
var errUnrewindable = errors.New("transport: a frame ended in 00 00 ff ff inside a message; the window cannot be rewound")

// NewZlibStream returns a Decompressor for Discord's zlib-stream transport compression.
// Messages (inflated, or buffered compressed) over maxMessage bytes fail with
// ErrMessageTooLarge; maxMessage <= 0 means DefaultMaxMessage.
//
// It inflates raw DEFLATE with github.com/klauspost/compress/flate: the 2-byte zlib header at
// the start of the stream is checked and stripped, and the Adler-32 checksum, which a stream
// that never ends never reaches, is not computed. A message whose end falls exactly on a
// 32 KiB boundary of the stream's output is handled (see perf.md) by restarting the inflater
// on its own window, at no cost per message. An idle decoder holds about 37 KiB (flate's
// 32 KiB window and its tables; the message buffer is lent out between messages, Release).
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
	z.pos, z.full = 0, false
	if z.splits || (z.fr != nil && z.win == nil) {
		if z.backup == nil {
			z.backup = new(history)
		}
		z.backup.reset()
	} else {
		z.backup = nil
	}
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
	z.win = nil
	z.backup = nil
	z.pending = nil
	z.out = nil
}

// zlibBufs lends zlib-stream message buffers between messages.
var zlibBufs = bufPool{max: retainBuf}

func (z *zlibStream) Release() {
	if z.lastLen > retainBuf {
		return // big messages come in bursts (startup): keep the big buffer for the next
	}
	zlibBufs.give(z.out, z.outH)
	z.out, z.outH = nil, nil
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
	if z.out == nil {
		z.out, z.outH = zlibBufs.take()
	}
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
		// A message split over frames: from now on keep a copy of the window, taken before
		// this message is decoded, in case a later frame of it ends in a fake suffix.
		z.keepBackup()
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
		if err := z.rewind(len(msg)); err != nil {
			return nil, false, err
		}
		z.keep(frame)
		z.dead = true
		z.out = z.out[:0]
		return nil, false, nil
	}
	z.headerDone = true
	z.pending = shrink(z.pending[:0], len(data))
	z.advance(msg)
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
		z.win = captureWindow(z.fr)
		if z.win == nil && z.backup == nil {
			z.backup = new(history) // the stream is fresh: an empty copy is exact
		}
		z.dead = true
	}
	if z.dead {
		if err := z.restart(); err != nil {
			return nil, false, err
		}
	}
	limit := z.max + 1
	for {
		z.out = growBuf(z.out, min(4096, limit-len(z.out)), limit)
		room := z.out[len(z.out):cap(z.out)]
		if z.maxRoom > 0 && len(room) > z.maxRoom {
			room = room[:z.maxRoom]
		}
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

// advance records a completed message's output in the window position and in the backup.
func (z *zlibStream) advance(msg []byte) {
	if z.pos+len(msg) >= windowSize {
		z.full = true
	}
	z.pos = (z.pos + len(msg)) % windowSize
	if z.backup != nil {
		z.backup.write(msg)
	}
}

// restart resets the dead inflater onto the window as it stands after the last completed
// message: the backup if there is one, otherwise the inflater's own ring, made oldest-first.
func (z *zlibStream) restart() error {
	var dict []byte
	switch {
	case z.backup != nil:
		dict = z.backup.bytes()
	case z.full:
		rotateLeft(z.win, z.pos)
		dict = z.win
	default:
		dict = z.win[:z.pos]
	}
	if err := z.fr.(flate.Resetter).Reset(&z.src, dict); err != nil {
		return fmt.Errorf("%w: %v", ErrCorruptStream, err)
	}
	z.pos, z.full = len(dict)%windowSize, len(dict) == windowSize
	z.dead = false
	z.restarts++
	return nil
}

// keepBackup starts keeping a copy of the window, from the inflater's ring as it stands.
func (z *zlibStream) keepBackup() {
	z.splits = true
	if z.backup != nil || z.win == nil {
		return
	}
	z.backup = new(history)
	z.backup.load(z.win, z.pos, z.full)
}

// rewind makes it possible to decode the current message again from its start after an
// attempt that ran out of input inside a block and wrote k bytes of output into the ring.
func (z *zlibStream) rewind(k int) error {
	if z.backup != nil {
		return nil // restart takes the window from the copy
	}
	z.splits = true
	if z.full || z.pos+k > windowSize {
		// The partial output overwrote history that no copy holds.
		return fmt.Errorf("%w: %w", ErrCorruptStream, errUnrewindable)
	}
	// Nothing but never-used ring space was overwritten: the window is win[:pos], intact.
	z.backup = new(history)
	z.backup.load(z.win, z.pos, false)
	return nil
}

// captureWindow returns fr's output ring, found by inflating a one-byte stored block with
// WriteTo, which hands out slices of the ring itself: the first such slice starts at the
// ring's start and reaches its end by capacity. It checks that a second Reset keeps the same
// ring. It returns nil if fr does not behave that way (then a copy of the output is kept
// instead); the tests pin that the flate version in go.mod does.
func captureWindow(fr io.ReadCloser) []byte {
	rs, ok := fr.(flate.Resetter)
	wt, ok2 := fr.(io.WriterTo)
	if !ok || !ok2 {
		return nil
	}
	probe := func(b byte) []byte {
		// One final stored block holding the single byte b.
		src := bytes.NewReader([]byte{0x01, 0x01, 0x00, 0xfe, 0xff, b})
		if rs.Reset(src, nil) != nil {
			return nil
		}
		var c sliceCatcher
		if _, err := wt.WriteTo(&c); err != nil || c.calls != 1 || len(c.p) != 1 || c.p[0] != b || cap(c.p) != windowSize {
			return nil
		}
		return c.p[:windowSize]
	}
	w1, w2 := probe('a'), probe('b')
	if w1 == nil || w2 == nil || &w1[0] != &w2[0] {
		return nil
	}
	return w1
}

// sliceCatcher is the io.Writer captureWindow inflates into: it keeps the slice it was given,
// which is the point.
type sliceCatcher struct {
	p     []byte
	calls int
}

func (c *sliceCatcher) Write(p []byte) (int, error) {
	c.p = p
	c.calls++
	return len(p), nil
}
