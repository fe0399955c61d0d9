package transport

import "slices"

// windowSize is DEFLATE's maximum back-reference distance: the most history a restarted
// inflater can need.
const windowSize = 32 << 10

// history keeps exactly the last 32 KiB of a connection's inflated output, so that a flate
// reader that had to be restarted can be given the same dictionary the stream was built on.
// Appending costs one copy of at most 32 KiB per message; linearising (needed only on a
// restart) rotates in place, so the history never needs a second buffer.
//
// A zlibStream keeps one only when it cannot rewind the inflater's own window (see
// zlibStream): the buffer is allocated on first use and is exactly 32 KiB.
type history struct {
	buf  []byte
	pos  int  // next write index
	full bool // buf holds a whole window; the oldest byte is at pos
}

func (h *history) reset() {
	h.pos = 0
	h.full = false
}

func (h *history) write(p []byte) {
	if h.buf == nil {
		h.buf = make([]byte, windowSize)
	}
	if len(p) >= windowSize {
		copy(h.buf, p[len(p)-windowSize:])
		h.pos = 0
		h.full = true
		return
	}
	n := copy(h.buf[h.pos:], p)
	if n < len(p) {
		h.pos = copy(h.buf, p[n:])
		h.full = true
		return
	}
	h.pos += n
	if h.pos == windowSize {
		h.pos = 0
		h.full = true
	}
}

// load replaces the history with a ring window whose next write index is pos (the layout of
// flate's own window): when full, win[pos:] is the older part and win[:pos] the newer.
func (h *history) load(win []byte, pos int, full bool) {
	h.reset()
	if full {
		h.write(win[pos:])
	}
	h.write(win[:pos])
}

// bytes returns the history oldest byte first. It may reorder buf in place.
func (h *history) bytes() []byte {
	if !h.full {
		return h.buf[:h.pos]
	}
	rotateLeft(h.buf, h.pos)
	h.pos = 0
	return h.buf
}

// rotateLeft rotates b left by k in place (the three-reversal rotation): b[k:] then b[:k].
func rotateLeft(b []byte, k int) {
	if k == 0 || k == len(b) {
		return
	}
	slices.Reverse(b[:k])
	slices.Reverse(b[k:])
	slices.Reverse(b)
}
