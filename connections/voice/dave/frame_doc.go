// Package dave is Discord's Audio and Video End-to-End Encryption (DAVE, protocol v1) for voice:
// the session state machine, the frame format, and the sender-key ratchets that feed it.
//
// [Session] is what a voice connection uses: it takes the voice gateway's DAVE messages (ops
// 21–30, plus the protocol version of op 4 and the users of ops 11/13), returns the messages to
// send back (ops 23, 26, 28, 31), and encrypts and decrypts Opus frames with the keys of the
// current MLS epoch.
//
// Below it is the frame level: [Encryptor] seals this
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
// A Session is safe for concurrent use. An Encryptor belongs to the sending goroutine, a
// Decryptor to the receiving one; neither is safe for concurrent use. Time enters as an argument (now), so every rule is testable without
// a clock.
//
// # Errors
//
// Input that is not a protocol frame gives a *voice.MalformedError (decoder and offset). A
// well-formed frame that cannot be opened gives a [*FrameError] whose Kind is one of
// [ErrDecrypt], [ErrReplay], [ErrMissingGeneration], [ErrNoKey]. Session failures are
// [*SessionError] values whose Kind is [ErrCommit], [ErrWelcome], [ErrProposals],
// [ErrUnsupportedVersion] or [ErrNoKey]. No error carries key material.
package dave
