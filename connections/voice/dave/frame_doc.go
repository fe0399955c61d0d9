// Package dave is Discord's Audio and Video End-to-End Encryption (DAVE, protocol v1) for voice:
// the frame format, and the sender-key ratchets that feed it.
//
// What is here so far is the frame level, below the DAVE session: [Encryptor] seals this
// client's Opus frames, [Decryptor] opens one sender's frames (generation wrap, replay rejection,
// generation gap and ratchet-age limits, and previous-epoch keys kept for [KeyExpiry]), and
// [KeyRatchet] with [SenderBaseSecret] derives the keys from an MLS epoch's exporter.
//
// # Frame format
//
//	ciphertext | tag (8) | ULEB128 nonce | ULEB128 unencrypted ranges | size (1) | 0xFA 0xFA
//
// AES-128-GCM with the tag cut to 8 bytes. The standard library refuses tags under 12 bytes, so
// frames are opened with two GCM seals under the same key and nonce (see frame_cipher.go).
//
// # Concurrency
//
// An Encryptor belongs to the sending goroutine, a Decryptor to the receiving one; neither is
// safe for concurrent use. Time enters as an argument (now), so every rule is testable without
// a clock.
//
// # Errors
//
// Input that is not a protocol frame gives a *voice.MalformedError (decoder and offset). A
// well-formed frame that cannot be opened gives a [*FrameError] whose Kind is one of
// [ErrDecrypt], [ErrReplay], [ErrMissingGeneration], [ErrNoKey]. No error carries key material.
package dave
