package mls

import (
	"errors"
	"fmt"
)

// Decoding limits. MLS varints top out at 2^30-1; nothing DAVE sends comes close, so a smaller cap
// keeps a hostile length from ever being trusted before the bytes are there.
const maxVectorLen = 1<<30 - 1

// Causes carried by a DecodeError.
var (
	ErrTruncated    = errors.New("truncated input")
	ErrTrailing     = errors.New("trailing bytes")
	ErrBadVarint    = errors.New("invalid variable-length integer")
	ErrInvalidValue = errors.New("invalid field value")
)

// DecodeError reports malformed input: the structure being decoded, the byte offset inside the
// decoded buffer where decoding failed, and the cause (one of ErrTruncated, ErrTrailing,
// ErrBadVarint, ErrInvalidValue).
type DecodeError struct {
	Struct string
	Offset int
	Err    error
	Detail string
}

func (e *DecodeError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("mls: decode %s at offset %d: %v: %s", e.Struct, e.Offset, e.Err, e.Detail)
	}
	return fmt.Sprintf("mls: decode %s at offset %d: %v", e.Struct, e.Offset, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// reader walks a byte slice. Offsets are absolute within the top-level buffer so errors point at
// the real position even inside nested vectors. The first error sticks; later reads are no-ops.
type reader struct {
	buf   []byte
	pos   int
	end   int
	scope string
	err   error
}

func newReader(b []byte, scope string) *reader {
	return &reader{buf: b, end: len(b), scope: scope}
}

// enter switches the structure name used in errors and returns a func restoring the old one.
func (r *reader) enter(name string) func() {
	old := r.scope
	r.scope = name
	return func() { r.scope = old }
}

func (r *reader) fail(cause error, detail string) {
	if r.err == nil {
		r.err = &DecodeError{Struct: r.scope, Offset: r.pos, Err: cause, Detail: detail}
	}
}

func (r *reader) remaining() int { return r.end - r.pos }

func (r *reader) empty() bool { return r.err != nil || r.pos >= r.end }

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > r.end-r.pos {
		r.fail(ErrTruncated, fmt.Sprintf("need %d bytes, have %d", n, r.end-r.pos))
		return nil
	}
	b := r.buf[r.pos : r.pos+n]
	r.pos += n
	return b
}

func (r *reader) u8() uint8 {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) u16() uint16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return uint16(b[0])<<8 | uint16(b[1])
}

func (r *reader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func (r *reader) u64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// varint reads the RFC 9420 §2.1.2 length prefix: 1, 2 or 4 bytes, minimal encoding only.
func (r *reader) varint() int {
	if r.err != nil {
		return 0
	}
	if r.pos >= r.end {
		r.fail(ErrTruncated, "varint")
		return 0
	}
	first := r.buf[r.pos]
	var n int
	switch first >> 6 {
	case 0:
		n = 1
	case 1:
		n = 2
	case 2:
		n = 4
	default:
		r.fail(ErrBadVarint, "8-byte form not allowed")
		return 0
	}
	start := r.pos
	b := r.take(n)
	if b == nil {
		return 0
	}
	v := uint32(b[0] & 0x3f)
	for _, c := range b[1:] {
		v = v<<8 | uint32(c)
	}
	if (n == 2 && v < 1<<6) || (n == 4 && v < 1<<14) {
		r.pos = start
		r.fail(ErrBadVarint, "non-minimal encoding")
		return 0
	}
	return int(v)
}

// opaque reads a variable-length byte vector and returns a copy, so decoded values never alias
// the caller's buffer. The copy is bounded by the bytes actually present.
func (r *reader) opaque() []byte {
	n := r.varint()
	if r.err != nil {
		return nil
	}
	if n > r.remaining() {
		r.fail(ErrTruncated, fmt.Sprintf("vector of %d bytes, have %d", n, r.remaining()))
		return nil
	}
	b := r.take(n)
	out := make([]byte, len(b))
	copy(out, b)
	return out
}

// vector reads a variable-length vector of structures, calling elem until the vector's bytes are
// used up. elem must consume at least one byte or fail.
func (r *reader) vector(elem func(*reader)) {
	n := r.varint()
	if r.err != nil {
		return
	}
	if n > r.remaining() {
		r.fail(ErrTruncated, fmt.Sprintf("vector of %d bytes, have %d", n, r.remaining()))
		return
	}
	outerEnd := r.end
	r.end = r.pos + n
	for r.err == nil && r.pos < r.end {
		before := r.pos
		elem(r)
		if r.err == nil && r.pos == before {
			r.fail(ErrInvalidValue, "empty vector element")
		}
	}
	if r.err == nil && r.pos != r.end {
		r.fail(ErrTruncated, "vector element overruns")
	}
	r.end = outerEnd
}

// optional reads the presence byte of optional<T>.
func (r *reader) optional() bool {
	switch r.u8() {
	case 0:
		return false
	case 1:
		return true
	default:
		r.pos--
		r.fail(ErrInvalidValue, "optional presence byte")
		return false
	}
}

// finish reports trailing bytes or the first error.
func (r *reader) finish() error {
	if r.err == nil && r.pos != r.end {
		r.fail(ErrTrailing, fmt.Sprintf("%d bytes", r.end-r.pos))
	}
	return r.err
}

// writer appends the TLS presentation encoding. Encoding is of values we built or validated, so
// it cannot fail except for over-long vectors, which are recorded and reported by bytes().
type writer struct {
	b   []byte
	err error
}

func (w *writer) u8(v uint8)   { w.b = append(w.b, v) }
func (w *writer) u16(v uint16) { w.b = append(w.b, byte(v>>8), byte(v)) }
func (w *writer) u32(v uint32) {
	w.b = append(w.b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
func (w *writer) u64(v uint64) {
	for i := 56; i >= 0; i -= 8 {
		w.b = append(w.b, byte(v>>uint(i)))
	}
}

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

func (w *writer) opaque(v []byte) {
	if len(v) > maxVectorLen {
		w.err = errors.New("mls: vector too long to encode")
		return
	}
	w.b = appendVarint(w.b, len(v))
	w.b = append(w.b, v...)
}

// vector writes a length-prefixed vector whose body is produced by body.
func (w *writer) vector(body func(*writer)) {
	inner := writer{}
	body(&inner)
	if inner.err != nil {
		w.err = inner.err
		return
	}
	w.opaque(inner.b)
}

func (w *writer) optional(present bool) {
	if present {
		w.u8(1)
	} else {
		w.u8(0)
	}
}

// encode runs f on a fresh writer and returns its bytes.
func encode(f func(*writer)) []byte {
	w := writer{}
	f(&w)
	return w.b
}
