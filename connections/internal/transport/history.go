package transport

import "slices"

// windowSize is DEFLATE's maximum back-reference distance: the most history a restarted
// inflater can need.
const windowSize = 32 << 10

// history keeps exactly the last 32 KiB of a connection's inflated output, so that a flate
// reader that had to be restarted can be given the same dictionary the stream was built on.
// Appending costs one copy of at most 32 KiB per message; linearising (needed only on a
// restart) rotates in place, so the history never needs a second buffer.
type history struct {
	buf  [windowSize]byte
	pos  int  // next write index
	full bool // buf holds a whole window; the oldest byte is at pos
}

func (h *history) reset() {
	h.pos = 0
	h.full = false
}

func (h *history) write(p []byte) {
	if len(p) >= windowSize {
		copy(h.buf[:], p[len(p)-windowSize:])
		h.pos = 0
		h.full = true
		return
	}
	n := copy(h.buf[h.pos:], p)
	if n < len(p) {
		h.pos = copy(h.buf[:], p[n:])
		h.full = true
		return
	}
	h.pos += n
	if h.pos == windowSize {
		h.pos = 0
		h.full = true
	}
}

// bytes returns the history oldest byte first. It may reorder buf in place.
func (h *history) bytes() []byte {
	if !h.full {
		return h.buf[:h.pos]
	}
	if h.pos != 0 {
		// Rotate left by pos: the classic three-reversal rotation, in place.
		slices.Reverse(h.buf[:h.pos])
		slices.Reverse(h.buf[h.pos:])
		slices.Reverse(h.buf[:])
		h.pos = 0
	}
	return h.buf[:]
}
