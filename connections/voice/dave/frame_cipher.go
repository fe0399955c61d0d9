package dave

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
)

// frameCipher is AES-128-GCM under one generation's key, with the tag cut to 8 bytes.
//
// Go's GCM accepts tags of 12 to 16 bytes only, so opening works around it with two Seals under
// the same key and nonce: sealing the ciphertext yields the plaintext (GCM's keystream starts at
// counter 2, and XOR is its own inverse), and sealing that plaintext again yields the full
// 16-byte tag, whose first 8 bytes are compared in constant time with the frame's.
//
// Not safe for concurrent use (nonce and scratch buffers).
type frameCipher struct {
	aead    cipher.AEAD
	nonce   [12]byte
	scratch []byte
}

func newFrameCipher(key [KeyLen]byte) *frameCipher {
	b, err := aes.NewCipher(key[:])
	if err != nil {
		panic("dave: aes-128: " + err.Error()) // the key length is fixed
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		panic("dave: gcm: " + err.Error())
	}
	return &frameCipher{aead: a}
}

// setNonce expands the 32-bit frame nonce: 8 zero bytes, then the nonce in bytes 8..11.
// libdave copies the integer in host order, little-endian on every platform it ships on; the
// interop test against davey is what pins this byte order.
func (c *frameCipher) setNonce(n uint32) []byte {
	binary.LittleEndian.PutUint32(c.nonce[8:], n)
	return c.nonce[:]
}

// seal appends ciphertext and the 8-byte tag of plaintext (no additional data) to dst.
func (c *frameCipher) seal(dst, plaintext []byte, n uint32) []byte {
	out := c.aead.Seal(dst, c.setNonce(n), plaintext, nil)
	return out[:len(out)-(c.aead.Overhead()-TagLen)]
}

// open decrypts f and appends its plaintext frame (unencrypted ranges back in place) to dst.
// ok is false when the tag does not match; dst is then returned unchanged and what was
// written past its length is cleared.
func (c *frameCipher) open(dst []byte, f *Frame) (out []byte, ok bool) {
	nonce := c.setNonce(f.Nonce)
	// The tag is copied first so that opening in place (dst = frame[:0]) cannot overwrite it.
	var tag [TagLen]byte
	copy(tag[:], f.Tag)
	if !f.HasRanges() {
		start := len(dst)
		out = c.aead.Seal(dst, nonce, f.Body, nil)[:start+len(f.Body)]
		pt := out[start:]
		c.scratch = c.aead.Seal(c.scratch[:0], nonce, pt, nil)
		if subtle.ConstantTimeCompare(c.scratch[len(pt):len(pt)+TagLen], tag[:]) != 1 {
			clear(out[start:cap(out)])
			return dst, false
		}
		return out, true
	}
	// With ranges: the additional data is the unencrypted bytes in order, the ciphertext the
	// rest in order. scratch = aad | ciphertext | plaintext+tag.
	c.scratch = c.scratch[:0]
	f.EachRange(func(r Range) { c.scratch = append(c.scratch, f.Body[r.Offset:r.Offset+r.Size]...) })
	aadLen := len(c.scratch)
	pos := 0
	f.EachRange(func(r Range) {
		c.scratch = append(c.scratch, f.Body[pos:r.Offset]...)
		pos = r.Offset + r.Size
	})
	c.scratch = append(c.scratch, f.Body[pos:]...)
	ctEnd := len(c.scratch)
	ct := c.scratch[aadLen:ctEnd]
	c.scratch = c.aead.Seal(c.scratch, nonce, ct, nil)
	pt := c.scratch[ctEnd : ctEnd+len(ct)]
	tagged := c.aead.Seal(c.scratch[len(c.scratch):], nonce, pt, c.scratch[:aadLen])
	if subtle.ConstantTimeCompare(tagged[len(pt):len(pt)+TagLen], tag[:]) != 1 {
		clear(c.scratch[:cap(c.scratch)])
		return dst, false
	}
	// Rebuild the frame: unencrypted ranges from the body, the rest from the plaintext.
	start := len(dst)
	out = append(dst, f.Body...)
	frame := out[start:]
	pos, used := 0, 0
	f.EachRange(func(r Range) {
		used += copy(frame[pos:r.Offset], pt[used:])
		pos = r.Offset + r.Size
	})
	copy(frame[pos:], pt[used:])
	clear(c.scratch[:cap(c.scratch)])
	return out, true
}
