// Package rtp is the UDP side of a Discord voice connection below the runtime: the IP discovery
// packet, the RTP header, and the two transport encryption modes Discord accepts
// (aead_aes256_gcm_rtpsize and aead_xchacha20_poly1305_rtpsize).
//
// # Packet layout (rtpsize modes)
//
//	| RTP header, CSRCs, extension preamble | ciphertext + 16-byte tag | nonce (4 bytes, BE) |
//	  ^ unencrypted, the AEAD's additional data
//
// The extension body (when the X bit is set) sits at the front of the plaintext; [Opener.Open]
// skips it and returns the Opus payload.
//
// # Concurrency and allocation
//
// A [Sealer] belongs to the goroutine that sends, an [Opener] to the goroutine that receives;
// neither is safe for concurrent use, because each keeps a nonce buffer (and the Sealer its
// counter) so that sealing and opening into caller-provided buffers allocates nothing.
//
// Every decoder returns a value or an error on any input, never a panic. Malformed input gives a
// *voice.MalformedError naming the decoder and offset.
package rtp
