package daveserver

import (
	"encoding/binary"

	"github.com/cordage/cordage/events/voice"
)

// The TLS presentation language as RFC 9420 uses it: big-endian integers and vectors prefixed by
// a variable-length size (§2.1.2: top two bits give 1, 2 or 4 bytes, shortest form only).

// maxVector is the largest size the 4-byte varint form carries.
const maxVector = 1<<30 - 1

// reader decodes one structure. The first error sticks: later reads return zero values, so a
// parser can read a whole struct and check r.err once. Vectors alias the input; nothing is
// allocated from a length read off the wire.
type reader struct {
	dec string // decoder name for errors
	b   []byte
	off int
	err error
}

func (r *reader) fail(reason string) {
	if r.err == nil {
		r.err = voice.Malformed(r.dec, r.off, reason)
	}
}

func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b)-r.off < n {
		r.fail("truncated " + what)
		return nil
	}
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p
}

func (r *reader) u8(what string) uint8 {
	p := r.take(1, what)
	if p == nil {
		return 0
	}
	return p[0]
}

func (r *reader) u16(what string) uint16 {
	p := r.take(2, what)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint16(p)
}

func (r *reader) u32(what string) uint32 {
	p := r.take(4, what)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint32(p)
}

func (r *reader) u64(what string) uint64 {
	p := r.take(8, what)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint64(p)
}

func (r *reader) varint(what string) int {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail("truncated length of " + what)
		return 0
	}
	prefix := r.b[r.off] >> 6
	if prefix == 3 {
		r.fail("reserved length prefix in " + what)
		return 0
	}
	n := 1 << prefix
	if len(r.b)-r.off < n {
		r.fail("truncated length of " + what)
		return 0
	}
	v := int(r.b[r.off] & 0x3f)
	for i := 1; i < n; i++ {
		v = v<<8 | int(r.b[r.off+i])
	}
	if (n == 2 && v < 1<<6) || (n == 4 && v < 1<<14) {
		r.fail("length of " + what + " not in its shortest form")
		return 0
	}
	r.off += n
	return v
}

// vec reads an opaque<V>.
func (r *reader) vec(what string) []byte {
	n := r.varint(what)
	if r.err != nil {
		return nil
	}
	if len(r.b)-r.off < n {
		r.fail(what + " longer than the message")
		return nil
	}
	return r.take(n, what)
}

// sub returns a reader over a vector's body, reporting offsets relative to the outer input.
func (r *reader) sub(what string) *reader {
	body := r.vec(what)
	if r.err != nil {
		return &reader{dec: r.dec, err: r.err}
	}
	// The body ends where r now stands; keep the outer buffer so offsets stay absolute.
	return &reader{dec: r.dec, b: r.b[:r.off], off: r.off - len(body)}
}

// u16List reads a vector of uint16 values (capabilities lists).
func (r *reader) u16List(what string) []uint16 {
	s := r.sub(what)
	var out []uint16
	for s.err == nil && s.off < len(s.b) {
		out = append(out, s.u16(what))
	}
	if s.err != nil && r.err == nil {
		r.err = s.err
	}
	return out
}

func appendU16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func appendU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// appendVarint appends n in its shortest form; n must be ≤ maxVector (callers build only
// small structures).
func appendVarint(b []byte, n int) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, byte(n>>8)|0x40, byte(n))
	default:
		return append(b, byte(n>>24)|0x80, byte(n>>16), byte(n>>8), byte(n))
	}
}

func appendVec(b, body []byte) []byte { return append(appendVarint(b, len(body)), body...) }
