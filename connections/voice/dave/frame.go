package dave

import "github.com/cordage/cordage/events/voice"

// A DAVE protocol frame (the payload of an RTP packet, before transport encryption):
//
//	| body (ciphertext with unencrypted ranges left in place) | tag (8) | ULEB128 nonce |
//	| ULEB128 range pairs (offset, size)… | supplemental size (1) | 0xFA 0xFA |
//
// The supplemental size counts everything from the tag to the end. Opus frames have no
// unencrypted ranges, so for audio the body is all ciphertext.

// Frame format constants.
const (
	TagLen = 8    // the AES-128-GCM tag, truncated to 8 bytes
	Marker = 0xFA // both bytes of the 2-byte magic marker that ends every protocol frame
	// minSupplemental: tag, a 1-byte nonce, the size byte and the marker.
	minSupplemental = TagLen + 1 + 1 + 2
	// maxNonceLen is the longest ULEB128 encoding of a 32-bit nonce.
	maxNonceLen = 5
)

// silence is the Opus frame of silence that Discord's SFU synthesises; it is never encrypted.
var silence = [3]byte{0xF8, 0xFF, 0xFE}

// IsSilence reports whether b is exactly the 3-byte Opus silence frame F8 FF FE. Senders never
// encrypt it and receivers accept it in clear.
func IsSilence(b []byte) bool {
	return len(b) == 3 && b[0] == silence[0] && b[1] == silence[1] && b[2] == silence[2]
}

// Range is one unencrypted range of a frame body.
type Range struct {
	Offset, Size int
}

// Frame is a parsed protocol frame. Its slices alias the input.
type Frame struct {
	Body  []byte // ciphertext, with unencrypted ranges in place
	Tag   []byte // 8 bytes
	Nonce uint32 // the 32-bit truncated nonce; its top byte is the key generation
	// ranges holds the validated ULEB128 range pairs, decoded on demand by EachRange so that
	// parsing allocates nothing.
	ranges []byte
}

// Generation is the low 8 bits of the key generation: the nonce's top byte.
func (f *Frame) Generation() uint8 { return uint8(f.Nonce >> 24) }

// HasRanges reports whether the frame has unencrypted ranges (Opus frames have none).
func (f *Frame) HasRanges() bool { return len(f.ranges) > 0 }

// EachRange calls fn for each unencrypted range, in order.
func (f *Frame) EachRange(fn func(Range)) {
	for b := f.ranges; len(b) > 0; {
		off, n1, _ := ReadULEB128(b)
		size, n2, _ := ReadULEB128(b[n1:])
		fn(Range{int(off), int(size)})
		b = b[n1+n2:]
	}
}

const decFrame = "dave.ParseFrame"

// IsProtocolFrame reports whether b ends like a DAVE protocol frame (marker and a plausible
// supplemental size). It does not validate the rest; [ParseFrame] does.
func IsProtocolFrame(b []byte) bool {
	n := len(b)
	return n >= minSupplemental && b[n-1] == Marker && b[n-2] == Marker &&
		int(b[n-3]) >= minSupplemental && int(b[n-3]) <= n
}

// ParseFrame validates a protocol frame and splits it: the marker, the supplemental size, a
// nonce of at most 32 bits, and ranges that are in order, do not overlap and lie inside the body.
func ParseFrame(b []byte) (Frame, error) {
	n := len(b)
	if n < minSupplemental {
		return Frame{}, voice.Malformed(decFrame, n, "shorter than the smallest supplemental data")
	}
	if b[n-1] != Marker || b[n-2] != Marker {
		return Frame{}, voice.Malformed(decFrame, n-2, "no 0xFAFA marker")
	}
	supp := int(b[n-3])
	if supp < minSupplemental || supp > n {
		return Frame{}, voice.Malformed(decFrame, n-3, "supplemental size out of range")
	}
	tagAt := n - supp
	nonceAt := tagAt + TagLen
	metaEnd := n - 3 // nonce and ranges lie in [nonceAt, metaEnd)
	nonce, nl, err := ReadULEB128(b[nonceAt:metaEnd])
	if err != nil {
		return Frame{}, voice.Malformed(decFrame, nonceAt, "bad nonce")
	}
	if nl > maxNonceLen || nonce > 1<<32-1 {
		return Frame{}, voice.Malformed(decFrame, nonceAt, "nonce wider than 32 bits")
	}
	f := Frame{Body: b[:tagAt:tagAt], Tag: b[tagAt:nonceAt:nonceAt], Nonce: uint32(nonce)}
	rangesAt := nonceAt + nl
	f.ranges = b[rangesAt:metaEnd:metaEnd]
	// Ranges: (offset, size) pairs, ascending and disjoint, inside the body.
	end := 0
	for p := rangesAt; p < metaEnd; {
		off, n1, err := ReadULEB128(b[p:metaEnd])
		if err != nil {
			return Frame{}, voice.Malformed(decFrame, p, "bad range offset")
		}
		size, n2, err := ReadULEB128(b[p+n1 : metaEnd])
		if err != nil {
			return Frame{}, voice.Malformed(decFrame, p+n1, "bad range size")
		}
		if off < uint64(end) || off > uint64(tagAt) || size > uint64(tagAt)-off {
			return Frame{}, voice.Malformed(decFrame, p, "range out of order or out of bounds")
		}
		end = int(off + size)
		p += n1 + n2
	}
	return f, nil
}
