package dave

import "github.com/cordage/cordage/events/voice"

// ULEB128 (unsigned little-endian base 128) carries the frame nonce and the unencrypted ranges in
// the DAVE supplemental data: 7 bits per byte, low groups first, high bit set on every byte but
// the last.

// maxULEB128Len is the longest encoding of a uint64.
const maxULEB128Len = 10

// AppendULEB128 appends the shortest encoding of v.
func AppendULEB128(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// ULEB128Len is the length of the shortest encoding of v.
func ULEB128Len(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

const decULEB128 = "dave.ReadULEB128"

// ReadULEB128 reads one value from the start of b and returns it with its encoded length. It
// rejects truncated input and values that overflow 64 bits. Non-minimal encodings (trailing 0x80
// groups) are accepted, as other implementations' readers accept them.
func ReadULEB128(b []byte) (v uint64, n int, err error) {
	for i := 0; i < len(b) && i < maxULEB128Len; i++ {
		c := b[i]
		if i == maxULEB128Len-1 && c > 1 {
			return 0, 0, voice.Malformed(decULEB128, i, "value overflows 64 bits")
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1, nil
		}
	}
	if len(b) >= maxULEB128Len {
		return 0, 0, voice.Malformed(decULEB128, maxULEB128Len-1, "value overflows 64 bits")
	}
	return 0, 0, voice.Malformed(decULEB128, len(b), "truncated")
}
