// Package transport holds the byte-level pieces of one gateway connection: the
// decompressors that turn websocket binary frames back into whole gateway messages, and the
// gorilla websocket settings the runtime dials with.
//
// # Decompressors
//
// Discord offers two transport compressions (protocol.md §9). Both keep one compression
// context for the whole life of a connection, so a Decompressor belongs to exactly one
// connection at a time: create it once per shard, call Reset before each new connection
// (resume included), and Close it when the shard stops.
//
//   - NewZlibStream decodes zlib-stream: one DEFLATE stream per connection, every message
//     ending in a Z_SYNC_FLUSH marker (00 00 ff ff), a message possibly split over several
//     websocket frames. It uses klauspost/compress/flate on raw DEFLATE and survives the
//     32 KiB window-boundary case that kills a plain Go flate reader (perf.md, "The
//     window-boundary bug").
//   - NewZstdStream decodes zstd-stream: one zstd frame per connection that never ends, one
//     gateway message per websocket message. It is the fastest option but holds a window of
//     the server's choosing (about 2 MiB) per connection.
//
// # Lifetime of a message
//
// Decode returns a slice into the decompressor's own buffer; it is valid only until the next
// Decode, Release or Reset. The caller parses it (or copies what it keeps), then calls
// Release before it waits for the next frame: between messages the buffer is lent to other
// connections through a process-wide pool, so an idle connection holds none.
//
// # Errors
//
// A Decode error is final for that connection's stream: every later Decode returns it again
// until Reset. Errors wrap ErrCorruptStream (bad bytes) or ErrMessageTooLarge (a message over
// the limit given at construction); memory stays bounded by that limit whatever the peer
// sends.
//
// # Concurrency
//
// A Decompressor is not safe for concurrent use; the connection's reader goroutine owns it.
// Dialer returns a fresh *websocket.Dialer per call; the write buffer pool behind it is shared
// by all connections and safe for concurrent use.
package transport
