package rtp

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/cordage/cordage/events/voice"
)

// Sizes in rtpsize packets.
const (
	TagLen   = 16 // both modes
	NonceLen = 4  // the counter appended to every packet
	KeyLen   = 32 // both modes
	// Overhead is what sealing adds to a payload besides the header.
	Overhead = TagLen + NonceLen
)

// ErrOpen is returned when a packet fails authentication: wrong key, wrong mode, or tampering.
var ErrOpen = errors.New("rtp: packet failed authentication")

// ErrRTCP is returned by [Opener.Open] for an RTCP packet, which carries no audio.
var ErrRTCP = errors.New("rtp: RTCP packet")

// ErrMode is returned for a mode this package cannot encrypt with.
var ErrMode = errors.New("rtp: unsupported encryption mode")

func newAEAD(mode voice.Mode, key []byte) (cipher.AEAD, error) {
	if len(key) != KeyLen {
		return nil, errors.New("rtp: transport key must be 32 bytes")
	}
	switch mode {
	case voice.ModeAES256GCMRTPSize:
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(b)
	case voice.ModeXChaCha20Poly1305RTPSize:
		return chacha20poly1305.NewX(key)
	}
	return nil, ErrMode
}

// Sealer encrypts outgoing RTP packets for one session. It owns the nonce counter, which starts
// at 0 and goes up by one per packet, so it must live as long as the session key does (across
// resumes). Not safe for concurrent use.
type Sealer struct {
	aead  cipher.AEAD
	next  uint32
	nonce [chacha20poly1305.NonceSizeX]byte
}

// NewSealer returns a Sealer for mode with the 32-byte key from Session Description.
func NewSealer(mode voice.Mode, key []byte) (*Sealer, error) {
	a, err := newAEAD(mode, key)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: a}, nil
}

// Seal appends one packet to dst: h encoded, then payload sealed with h as additional data,
// then the 4-byte nonce. When h.Extension is set, payload must start with the extension body
// (4·h.ExtensionWords bytes). With enough capacity in dst (len(dst) + h.Len() + len(payload) +
// [Overhead]) Seal allocates nothing in the AES-GCM mode. dst must not overlap payload.
func (s *Sealer) Seal(dst []byte, h *Header, payload []byte) []byte {
	n := s.next
	s.next++
	start := len(dst)
	dst = h.AppendTo(dst)
	aad := dst[start:]
	binary.BigEndian.PutUint32(s.nonce[:], n)
	dst = s.aead.Seal(dst, s.nonce[:s.aead.NonceSize()], payload, aad)
	return binary.BigEndian.AppendUint32(dst, n)
}

// NextNonce is the nonce counter the next packet will carry.
func (s *Sealer) NextNonce() uint32 { return s.next }

// Packet is an opened RTP packet. Its slices alias the buffer given to [Opener.Open].
type Packet struct {
	Header    Header
	Extension []byte // the extension body, if any
	Payload   []byte // the Opus frame (DAVE-encrypted or not)
	Nonce     uint32
}

// Opener decrypts incoming RTP packets for one session. Not safe for concurrent use.
type Opener struct {
	aead  cipher.AEAD
	nonce [chacha20poly1305.NonceSizeX]byte
}

// NewOpener returns an Opener for mode with the 32-byte key from Session Description.
func NewOpener(mode voice.Mode, key []byte) (*Opener, error) {
	a, err := newAEAD(mode, key)
	if err != nil {
		return nil, err
	}
	return &Opener{aead: a}, nil
}

const decPacket = "rtp.Open"

// Open parses and decrypts one datagram, writing the plaintext to dst (dst[:0] reuses its
// memory; with cap(dst) ≥ len(packet) Open allocates nothing). dst must not overlap packet. It returns [ErrRTCP] for RTCP,
// a *voice.MalformedError for what cannot be an rtpsize packet, and [ErrOpen] for a packet that
// fails authentication.
func (o *Opener) Open(dst, packet []byte) (Packet, error) {
	if IsRTCP(packet) {
		return Packet{}, ErrRTCP
	}
	h, n, err := ParseHeader(packet)
	if err != nil {
		return Packet{}, err
	}
	if len(packet) < n+Overhead {
		return Packet{}, voice.Malformed(decPacket, len(packet), "shorter than header, tag and nonce")
	}
	tail := len(packet) - NonceLen
	nonce := binary.BigEndian.Uint32(packet[tail:])
	clear(o.nonce[:])
	copy(o.nonce[:], packet[tail:])
	pt, err := o.aead.Open(dst[:0], o.nonce[:o.aead.NonceSize()], packet[n:tail], packet[:n])
	if err != nil {
		return Packet{}, ErrOpen
	}
	p := Packet{Header: h, Nonce: nonce}
	ext := h.ExtensionBodyLen()
	if ext > len(pt) {
		return Packet{}, voice.Malformed(decPacket, n, "extension body longer than the payload")
	}
	p.Extension, p.Payload = pt[:ext:ext], pt[ext:]
	if h.Padding {
		// RFC 3550: the last byte counts the padding bytes, itself included.
		if len(p.Payload) == 0 || int(p.Payload[len(p.Payload)-1]) == 0 || int(p.Payload[len(p.Payload)-1]) > len(p.Payload) {
			return Packet{}, voice.Malformed(decPacket, n+ext, "bad padding")
		}
		p.Payload = p.Payload[:len(p.Payload)-int(p.Payload[len(p.Payload)-1])]
	}
	return p, nil
}
