package dave

import (
	"slices"
	"time"
)

// Receive-side limits, as libdave applies them.
const (
	// MaxGenerationGap is how far past the newest generation seen a frame's generation may be.
	MaxGenerationGap = 250
	// MaxMissingNonces is how many skipped nonces are remembered as still acceptable; a nonce
	// older than all of them is a replay.
	MaxMissingNonces = 1000
	// KeyExpiry is how long an older generation's key, or a previous epoch's ratchet, keeps
	// decrypting after something newer succeeded or replaced it.
	KeyExpiry = 10 * time.Second
	// MaxFramesPerSecond bounds how fast a sender can honestly use up nonces: a generation
	// more than (MaxFramesPerSecond × ratchet age) >> 24 is rejected.
	MaxFramesPerSecond = 170
)

// Decryptor decrypts one sender's frames. It holds the sender's ratchet for the current epoch
// and, for [KeyExpiry] after a transition, the previous ones, so frames sent just before the
// switch still decrypt. Every nonce decrypts at most once.
//
// Time comes in as an argument so that the rules are pure and testable. Not safe for concurrent
// use: it belongs to the goroutine that receives.
type Decryptor struct {
	keys []*keyManager // oldest first; the last one is current
	// passUntil: frames that are not protocol frames pass through unchanged before this time.
	passUntil  time.Time
	passAlways bool
}

// SetPassthrough controls whether frames that are not DAVE protocol frames are returned as they
// are. Enabled (a downgrade, or before the first epoch), they pass until disabled. Disabled (an
// upgrade), they keep passing until now + grace, so that frames sent just before the upgrade
// still play; a grace of 0 stops them at once.
func (d *Decryptor) SetPassthrough(enabled bool, now time.Time, grace time.Duration) {
	if enabled {
		d.passAlways = true
		return
	}
	until := now.Add(grace)
	if d.passAlways || until.Before(d.passUntil) {
		d.passUntil = until
	}
	d.passAlways = false
}

// NewDecryptor returns a Decryptor with no ratchet; Decrypt fails with [ErrNoKey] until
// [Decryptor.AddRatchet].
func NewDecryptor() *Decryptor { return &Decryptor{} }

// AddRatchet makes r the current ratchet (a new epoch). Ratchets already held expire at
// now + [KeyExpiry].
func (d *Decryptor) AddRatchet(r *KeyRatchet, now time.Time) {
	for _, m := range d.keys {
		if m.expiry.IsZero() {
			m.expiry = now.Add(KeyExpiry)
		}
	}
	d.keys = append(d.keys, &keyManager{ratchet: r, created: now, ciphers: make(map[uint32]*genCipher)})
}

// Ratchets is how many ratchets the decryptor holds (current plus unexpired previous ones).
func (d *Decryptor) Ratchets() int { return len(d.keys) }

// Decrypt appends the Opus frame inside the protocol frame to dst. The silence frame is
// appended as it is, and so is any frame that is not a protocol frame while passthrough is
// allowed ([Decryptor.SetPassthrough]). Otherwise a frame that is not a valid protocol frame
// gives a *voice.MalformedError;
// one that is valid but cannot be decrypted gives a [*FrameError]. With cap(dst) - len(dst) ≥
// len(frame) + 16 Decrypt allocates nothing on the steady path. dst may be frame[:0]
// (decrypting in place) but must not overlap frame otherwise.
func (d *Decryptor) Decrypt(dst, frame []byte, now time.Time) ([]byte, error) {
	if IsSilence(frame) {
		return append(dst, frame...), nil
	}
	f, err := ParseFrame(frame)
	if err != nil {
		if d.passAlways || now.Before(d.passUntil) {
			return append(dst, frame...), nil
		}
		return dst, err
	}
	d.keys = slices.DeleteFunc(d.keys, func(m *keyManager) bool {
		return !m.expiry.IsZero() && now.After(m.expiry)
	})
	if len(d.keys) == 0 {
		return dst, &FrameError{Kind: ErrNoKey, Generation: uint32(f.Generation()), Nonce: f.Nonce}
	}
	var first *FrameError
	for i := len(d.keys) - 1; i >= 0; i-- {
		out, fe := d.keys[i].decrypt(dst, &f, now)
		if fe == nil {
			return out, nil
		}
		if first == nil || (fe.Kind == ErrReplay && first.Kind != ErrReplay) {
			first = fe
		}
	}
	return dst, first
}

// keyManager decrypts with one ratchet: per-generation ciphers, their expiry, and the replay
// window over 64-bit nonces (generation << 24 | low 24 bits of the frame nonce).
type keyManager struct {
	ratchet *KeyRatchet
	created time.Time
	expiry  time.Time // zero while current

	ciphers        map[uint32]*genCipher
	oldest, newest uint32 // generations

	haveNonce   bool
	newestNonce uint64
	missing     []uint64 // ascending, at most MaxMissingNonces
}

type genCipher struct {
	c      *frameCipher
	expiry time.Time // zero while the newest generation
}

// wrapGeneration turns the frame's 8-bit generation into a full one, the first at or after the
// oldest kept generation with those low 8 bits.
func wrapGeneration(oldest uint32, g8 uint8) uint32 {
	base := oldest &^ 0xff
	if uint32(g8) < oldest&0xff {
		base += 0x100
	}
	return base | uint32(g8)
}

func (m *keyManager) decrypt(dst []byte, f *Frame, now time.Time) ([]byte, *FrameError) {
	m.expireGenerations(now)
	gen := wrapGeneration(m.oldest, f.Generation())
	fail := func(kind error) ([]byte, *FrameError) {
		return dst, &FrameError{Kind: kind, Generation: gen, Nonce: f.Nonce}
	}
	if gen > m.newest+MaxGenerationGap {
		return fail(ErrMissingGeneration)
	}
	age := max(now.Sub(m.created), 0)
	if uint64(gen) > uint64(MaxFramesPerSecond*age.Seconds())>>24 {
		return fail(ErrMissingGeneration)
	}
	big := uint64(gen)<<24 | uint64(f.Nonce&0xffffff)
	if m.haveNonce && big <= m.newestNonce {
		if _, found := slices.BinarySearch(m.missing, big); !found {
			return fail(ErrReplay)
		}
	}
	gc, ok := m.ciphers[gen]
	if !ok {
		k, err := m.ratchet.Key(gen)
		if err != nil {
			return fail(ErrMissingGeneration)
		}
		gc = &genCipher{c: newFrameCipher(k)}
		if gen < m.newest {
			gc.expiry = now.Add(KeyExpiry)
		}
		m.ciphers[gen] = gc
	}
	out, ok := gc.c.open(dst, f)
	if !ok {
		return fail(ErrDecrypt)
	}
	m.markSeen(big)
	if gen > m.newest {
		for g, c := range m.ciphers {
			if g < gen && c.expiry.IsZero() {
				c.expiry = now.Add(KeyExpiry)
			}
		}
		m.newest = gen
	}
	return out, nil
}

// markSeen records a decrypted nonce: newer ones open a window of missing nonces behind them,
// older ones leave the window.
func (m *keyManager) markSeen(big uint64) {
	if m.haveNonce && big <= m.newestNonce {
		if i, found := slices.BinarySearch(m.missing, big); found {
			m.missing = slices.Delete(m.missing, i, i+1)
		}
		return
	}
	from := big - min(big, MaxMissingNonces) // only the newest MaxMissingNonces can matter
	if m.haveNonce {
		from = max(from, m.newestNonce+1)
	}
	for n := from; n < big; n++ {
		m.missing = append(m.missing, n)
	}
	if over := len(m.missing) - MaxMissingNonces; over > 0 {
		m.missing = slices.Delete(m.missing, 0, over)
	}
	m.newestNonce, m.haveNonce = big, true
}

// expireGenerations drops generation keys whose expiry passed, then moves oldest up past every
// generation below the newest that has no key left, erasing those keys from the ratchet.
func (m *keyManager) expireGenerations(now time.Time) {
	for g, c := range m.ciphers {
		if !c.expiry.IsZero() && now.After(c.expiry) {
			delete(m.ciphers, g)
		}
	}
	for m.oldest < m.newest {
		if _, ok := m.ciphers[m.oldest]; ok {
			break
		}
		m.ratchet.Erase(m.oldest)
		m.oldest++
	}
}
