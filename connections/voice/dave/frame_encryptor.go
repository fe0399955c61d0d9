package dave

// Encryptor encrypts this client's outgoing Opus frames for one epoch. Each frame gets the next
// 32-bit nonce; its top byte is the key generation, so the key changes every 2^24 frames (about
// 93 hours at 50 frames per second) and the generation keeps counting when the nonce wraps.
//
// Not safe for concurrent use: it belongs to the goroutine that sends.
type Encryptor struct {
	ratchet *KeyRatchet
	counter uint64 // the next frame's nonce is its low 32 bits, its generation counter >> 24
	gen     uint32
	cipher  *frameCipher
}

// NewEncryptor returns an Encryptor on the sender's own ratchet for the epoch. The first frame
// carries nonce 1, as libdave's does (it pre-increments); receivers accept any start.
func NewEncryptor(r *KeyRatchet) *Encryptor { return &Encryptor{ratchet: r, counter: 1} }

// Encrypt appends the protocol frame for the Opus frame to dst. The silence frame F8 FF FE is
// appended as it is (it is never encrypted, and uses no nonce). With cap(dst) - len(dst) ≥
// len(frame) + 32 Encrypt allocates nothing, except once per key generation. dst must not
// overlap frame.
func (e *Encryptor) Encrypt(dst, frame []byte) ([]byte, error) {
	if IsSilence(frame) {
		return append(dst, frame...), nil
	}
	gen := uint32(e.counter >> 24)
	if e.cipher == nil || gen != e.gen {
		k, err := e.ratchet.Key(gen)
		if err != nil {
			return dst, &FrameError{Kind: ErrMissingGeneration, Generation: gen, Nonce: uint32(e.counter)}
		}
		if e.cipher != nil {
			e.ratchet.Erase(e.gen)
		}
		e.cipher, e.gen = newFrameCipher(k), gen
	}
	n := uint32(e.counter)
	e.counter++
	dst = e.cipher.seal(dst, frame, n)
	dst = AppendULEB128(dst, uint64(n))
	dst = append(dst, byte(TagLen+ULEB128Len(uint64(n))+1+2), Marker, Marker)
	return dst, nil
}

// NextNonce is the 32-bit nonce the next encrypted frame will carry.
func (e *Encryptor) NextNonce() uint32 { return uint32(e.counter) }
