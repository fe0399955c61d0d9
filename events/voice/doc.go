// Package voice is the vocabulary of Discord's voice gateway (version 8): opcodes, close codes
// with the policy a client follows after each, the JSON payloads, speaking flags, transport
// encryption modes, and the binary framing of the DAVE (end-to-end encryption) opcodes 25–30.
//
// It holds no runtime. The voice runtime in connections/voice and the simulator in
// test/fakediscord both speak through these types.
//
// # Errors
//
// Every decoder in this package returns a value or an error; none panics on any input. A
// malformed binary message yields a [*MalformedError] naming the decoder and the byte offset
// where decoding stopped; it matches [ErrMalformed] with errors.Is.
package voice
