package dave

import (
	"errors"
	"strconv"
)

// Kinds of frame failure. A [*FrameError] matches exactly one of them with errors.Is.
var (
	// ErrDecrypt: the frame failed authentication (wrong key, tampering, or not for us).
	ErrDecrypt = errors.New("dave: frame failed authentication")
	// ErrReplay: this nonce was already decrypted, or is older than the replay window.
	ErrReplay = errors.New("dave: replayed frame")
	// ErrMissingGeneration: no key for the frame's generation: it expired, or it is further ahead
	// than the ratchet may move (max generation gap, or more than the ratchet's age allows).
	ErrMissingGeneration = errors.New("dave: no key for the frame's generation")
	// ErrNoKey: the decryptor has no ratchet yet (no epoch for this sender).
	ErrNoKey = errors.New("dave: no key ratchet for this sender")
)

// FrameError is a failure to decrypt one well-formed frame. It carries no key material.
type FrameError struct {
	Kind       error  // ErrDecrypt, ErrReplay, ErrMissingGeneration or ErrNoKey
	Generation uint32 // the frame's generation after wrap handling
	Nonce      uint32 // the frame's 32-bit truncated nonce
}

func (e *FrameError) Error() string {
	return e.Kind.Error() + " (generation " + strconv.FormatUint(uint64(e.Generation), 10) +
		", nonce " + strconv.FormatUint(uint64(e.Nonce), 10) + ")"
}

// Unwrap returns the kind.
func (e *FrameError) Unwrap() error { return e.Kind }
