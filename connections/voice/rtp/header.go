package rtp

import (
	"encoding/binary"

	"github.com/cordage/cordage/events/voice"
)

// Fixed values of the packets a Discord client sends.
const (
	Version         = 2
	PayloadTypeOpus = 0x78 // 120, dynamic payload type Discord uses for Opus
	FixedHeaderLen  = 12
	// TimestampStep is the timestamp increment per 20 ms Opus frame at 48 kHz.
	TimestampStep = 960
	// ExtensionProfileOneByte is the RFC 8285 one-byte header extension profile Discord uses.
	ExtensionProfileOneByte = 0xBEDE
)

// Header is an RTP header (RFC 3550 §5.1) with its CSRC list and extension preamble. The
// extension body is not part of it: in rtpsize modes it is encrypted with the payload.
type Header struct {
	Padding     bool
	Extension   bool
	Marker      bool
	CSRCCount   uint8 // 0..15; the first CSRCCount entries of CSRC are valid
	PayloadType uint8
	Seq         uint16
	Timestamp   uint32
	SSRC        uint32
	CSRC        [15]uint32

	ExtensionProfile uint16 // valid when Extension is set
	ExtensionWords   uint16 // extension body length in 32-bit words
}

// Len is the length of the encoded header: 12 bytes, 4 per CSRC, and 4 for the extension
// preamble. In rtpsize modes it is also the length of the unencrypted part.
func (h *Header) Len() int {
	n := FixedHeaderLen + 4*int(h.CSRCCount&0x0f)
	if h.Extension {
		n += 4
	}
	return n
}

// ExtensionBodyLen is the length in bytes of the extension body that follows the header.
func (h *Header) ExtensionBodyLen() int {
	if !h.Extension {
		return 0
	}
	return 4 * int(h.ExtensionWords)
}

// AppendTo appends the encoded header to dst.
func (h *Header) AppendTo(dst []byte) []byte {
	b0 := byte(Version<<6) | h.CSRCCount&0x0f
	if h.Padding {
		b0 |= 0x20
	}
	if h.Extension {
		b0 |= 0x10
	}
	b1 := h.PayloadType & 0x7f
	if h.Marker {
		b1 |= 0x80
	}
	dst = append(dst, b0, b1)
	dst = binary.BigEndian.AppendUint16(dst, h.Seq)
	dst = binary.BigEndian.AppendUint32(dst, h.Timestamp)
	dst = binary.BigEndian.AppendUint32(dst, h.SSRC)
	for _, c := range h.CSRC[:h.CSRCCount&0x0f] {
		dst = binary.BigEndian.AppendUint32(dst, c)
	}
	if h.Extension {
		dst = binary.BigEndian.AppendUint16(dst, h.ExtensionProfile)
		dst = binary.BigEndian.AppendUint16(dst, h.ExtensionWords)
	}
	return dst
}

const decHeader = "rtp.ParseHeader"

// ParseHeader decodes the header at the start of b. It checks the version and that b holds the
// CSRCs and the extension preamble, not that it holds the extension body (which in rtpsize modes
// is encrypted). It returns the header and its length.
func ParseHeader(b []byte) (Header, int, error) {
	if len(b) < FixedHeaderLen {
		return Header{}, 0, voice.Malformed(decHeader, len(b), "shorter than 12 bytes")
	}
	if b[0]>>6 != Version {
		return Header{}, 0, voice.Malformed(decHeader, 0, "version is not 2")
	}
	h := Header{
		Padding:     b[0]&0x20 != 0,
		Extension:   b[0]&0x10 != 0,
		CSRCCount:   b[0] & 0x0f,
		Marker:      b[1]&0x80 != 0,
		PayloadType: b[1] & 0x7f,
		Seq:         binary.BigEndian.Uint16(b[2:]),
		Timestamp:   binary.BigEndian.Uint32(b[4:]),
		SSRC:        binary.BigEndian.Uint32(b[8:]),
	}
	n := h.Len()
	if len(b) < n {
		return Header{}, 0, voice.Malformed(decHeader, len(b), "truncated CSRC list or extension preamble")
	}
	off := FixedHeaderLen
	for i := range h.CSRC[:h.CSRCCount] {
		h.CSRC[i] = binary.BigEndian.Uint32(b[off:])
		off += 4
	}
	if h.Extension {
		h.ExtensionProfile = binary.BigEndian.Uint16(b[off:])
		h.ExtensionWords = binary.BigEndian.Uint16(b[off+2:])
	}
	return h, n, nil
}

// IsRTCP reports whether a datagram is RTCP rather than RTP: RTCP packet types 192–223 sit
// where RTP's marker bit and payload type are (RFC 5761 §4). Discord sends receiver and sender
// reports (200–204) on the same socket; a receiver ignores them.
func IsRTCP(b []byte) bool {
	return len(b) >= 2 && b[0]>>6 == Version && b[1] >= 192 && b[1] <= 223
}
