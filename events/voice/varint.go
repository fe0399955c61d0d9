package voice

// MLS variable-length integers (RFC 9420 §2.1.2) prefix every vector in the DAVE binary
// messages: the top two bits of the first byte give the length (00: 1 byte, 01: 2, 10: 4), the
// rest is the value, big-endian. 11 is reserved, and a value must use the shortest form.

// maxVarint is the largest value the 4-byte form carries.
const maxVarint = 1<<30 - 1

// readVarint reads a varint at b[off:]; it returns the value and the offset after it.
func readVarint(decoder string, b []byte, off int) (uint32, int, error) {
	if off >= len(b) {
		return 0, off, Malformed(decoder, off, "truncated length")
	}
	prefix := b[off] >> 6
	if prefix == 3 {
		return 0, off, Malformed(decoder, off, "reserved length prefix")
	}
	n := 1 << prefix
	if len(b)-off < n {
		return 0, off, Malformed(decoder, off, "truncated length")
	}
	v := uint32(b[off] & 0x3f)
	for i := 1; i < n; i++ {
		v = v<<8 | uint32(b[off+i])
	}
	if (n == 2 && v < 1<<6) || (n == 4 && v < 1<<14) {
		return 0, off, Malformed(decoder, off, "length not in its shortest form")
	}
	return v, off + n, nil
}

// readVector reads an opaque<V> at b[off:]: the body and the offset after it.
func readVector(decoder string, b []byte, off int) ([]byte, int, error) {
	n, p, err := readVarint(decoder, b, off)
	if err != nil {
		return nil, off, err
	}
	if uint64(len(b)-p) < uint64(n) {
		return nil, off, Malformed(decoder, off, "vector longer than the message")
	}
	return b[p : p+int(n) : p+int(n)], p + int(n), nil
}

// appendVarint appends n in its shortest form. n must not exceed 2^30-1 (callers check).
func appendVarint(dst []byte, n int) []byte {
	switch {
	case n < 1<<6:
		return append(dst, byte(n))
	case n < 1<<14:
		return append(dst, byte(n>>8)|0x40, byte(n))
	default:
		return append(dst, byte(n>>24)|0x80, byte(n>>16), byte(n>>8), byte(n))
	}
}

func appendVector(dst, body []byte) []byte {
	return append(appendVarint(dst, len(body)), body...)
}
