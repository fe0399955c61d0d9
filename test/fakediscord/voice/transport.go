package voicesim

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/cordage/cordage/events/voice"
)

// The simulator writes its own RTP and AEAD code rather than importing the runtime's
// (connections/voice/rtp): two independent readings of the same rules check each other.

const (
	rtpFixedLen  = 12
	aeadTagLen   = 16
	nonceTailLen = 4
)

var (
	errShortPacket = errors.New("voicesim: packet too short for an rtpsize packet")
	errOpen        = errors.New("voicesim: packet failed authentication")
)

// transport is one direction's AEAD for one session: the client's key and mode.
type transport struct {
	aead  cipher.AEAD
	nonce [chacha20poly1305.NonceSizeX]byte
	next  uint32 // the counter of the next packet sealed (server → client direction)
}

func newTransport(mode voice.Mode, key []byte) (*transport, error) {
	var (
		a   cipher.AEAD
		err error
	)
	switch mode {
	case voice.ModeAES256GCMRTPSize:
		var b cipher.Block
		if b, err = aes.NewCipher(key); err == nil {
			a, err = cipher.NewGCM(b)
		}
	case voice.ModeXChaCha20Poly1305RTPSize:
		a, err = chacha20poly1305.NewX(key)
	default:
		return nil, errors.New("voicesim: unsupported mode")
	}
	if err != nil {
		return nil, err
	}
	return &transport{aead: a}, nil
}

// rtpHeader is what the relay needs from an RTP header: its length as sent in clear (fixed part,
// CSRCs, extension preamble), the SSRC, and the length of the encrypted extension body.
type rtpHeader struct {
	n       int // bytes of clear header
	ssrc    uint32
	seq     uint16
	ts      uint32
	ext     bool
	extBody int // bytes of extension body at the start of the plaintext
}

func parseRTP(b []byte) (rtpHeader, bool) {
	if len(b) < rtpFixedLen || b[0]>>6 != 2 {
		return rtpHeader{}, false
	}
	h := rtpHeader{
		n:    rtpFixedLen + 4*int(b[0]&0x0f),
		seq:  binary.BigEndian.Uint16(b[2:]),
		ts:   binary.BigEndian.Uint32(b[4:]),
		ssrc: binary.BigEndian.Uint32(b[8:]),
		ext:  b[0]&0x10 != 0,
	}
	if h.ext {
		if len(b) < h.n+4 {
			return rtpHeader{}, false
		}
		h.extBody = 4 * int(binary.BigEndian.Uint16(b[h.n+2:]))
		h.n += 4
	}
	return h, len(b) >= h.n
}

// isRTCP: RTCP packet types 192–223 sit where RTP's marker bit and payload type are.
func isRTCP(b []byte) bool { return len(b) >= 2 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223 }

// open decrypts an rtpsize packet into dst and returns the plaintext: extension body (if any),
// then the payload. The header is pkt[:h.n].
func (t *transport) open(dst, pkt []byte, h rtpHeader) ([]byte, error) {
	if len(pkt) < h.n+aeadTagLen+nonceTailLen {
		return nil, errShortPacket
	}
	tail := len(pkt) - nonceTailLen
	clear(t.nonce[:])
	copy(t.nonce[:], pkt[tail:])
	pt, err := t.aead.Open(dst[:0], t.nonce[:t.aead.NonceSize()], pkt[h.n:tail], pkt[:h.n])
	if err != nil {
		return nil, errOpen
	}
	if h.extBody > len(pt) {
		return nil, errShortPacket
	}
	return pt, nil
}

// seal appends header, the sealed plaintext and the 4-byte nonce counter to dst.
func (t *transport) seal(dst, header, plain []byte) []byte {
	n := t.next
	t.next++
	start := len(dst)
	dst = append(dst, header...)
	clear(t.nonce[:])
	binary.BigEndian.PutUint32(t.nonce[:], n)
	dst = t.aead.Seal(dst, t.nonce[:t.aead.NonceSize()], plain, dst[start:])
	return binary.BigEndian.AppendUint32(dst, n)
}

// isDAVEFrame reports whether an Opus payload is a DAVE protocol frame: it ends with the 0xFAFA
// marker preceded by a supplemental size that fits the frame (tag 8, nonce ≥ 1, size byte and
// marker). The relay never decrypts it; it only decides who may receive it.
func isDAVEFrame(p []byte) bool {
	const minSupp = 8 + 1 + 1 + 2
	if len(p) < minSupp || p[len(p)-1] != 0xFA || p[len(p)-2] != 0xFA {
		return false
	}
	supp := int(p[len(p)-3])
	return supp >= minSupp && supp <= len(p)
}

// IP discovery: type u16 · length u16 (70) · ssrc u32 · address [64] · port u16.
const (
	discoveryLen     = 74
	discoveryRequest = 1
	discoveryReply   = 2
)

func appendDiscoveryReply(dst []byte, ssrc uint32, ip string, port uint16) []byte {
	dst = binary.BigEndian.AppendUint16(dst, discoveryReply)
	dst = binary.BigEndian.AppendUint16(dst, 70)
	dst = binary.BigEndian.AppendUint32(dst, ssrc)
	var a [64]byte
	copy(a[:63], ip)
	dst = append(dst, a[:]...)
	return binary.BigEndian.AppendUint16(dst, port)
}

// parseDiscoveryRequest returns the SSRC of a well-formed request.
func parseDiscoveryRequest(b []byte) (uint32, bool) {
	if len(b) != discoveryLen || binary.BigEndian.Uint16(b) != discoveryRequest || binary.BigEndian.Uint16(b[2:]) != 70 {
		return 0, false
	}
	return binary.BigEndian.Uint32(b[4:]), true
}
