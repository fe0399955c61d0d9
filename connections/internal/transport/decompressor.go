package transport

import (
	"errors"
	"sync"
)

// Decompressor turns websocket binary frames into whole gateway messages.
type Decompressor interface {
	// Decode takes one websocket binary frame. When the frame completes a gateway message it
	// returns the message bytes and true; the slice is valid only until the next Decode/Reset
	// call. A zlib-stream message may span several frames: Decode returns (nil, false, nil)
	// until the frame ending in 00 00 ff ff arrives. An error means this connection's stream
	// is broken for good; the caller drops the connection and calls Reset before using it on
	// a new connection.
	Decode(frame []byte) (msg []byte, ok bool, err error)
	// Release says the caller is done with the last message (the slice is invalid from now
	// on): until the next Decode the decompressor lends its message buffer to other
	// connections, so an idle connection holds none. The runtime calls it before it waits for
	// the next frame.
	Release()
	// Reset gives fresh state for a new connection (resume included).
	Reset()
	// Close releases resources. Decode after Close fails; Close is idempotent.
	Close()
}

// DefaultMaxMessage is the message limit used when a constructor is given maxMessage <= 0.
// Discord's largest payloads (READY and GUILD_CREATE of very large guilds) stay well below it.
const DefaultMaxMessage = 32 << 20

var (
	// ErrMessageTooLarge is wrapped by the error returned for a message whose inflated size,
	// or whose buffered compressed size, exceeds the decompressor's limit.
	ErrMessageTooLarge = errors.New("transport: gateway message too large")
	// ErrCorruptStream wraps every decompression failure: bad headers, invalid compressed
	// data, or a stream that ends where Discord's never does.
	ErrCorruptStream = errors.New("transport: corrupt compressed stream")

	errClosed = errors.New("transport: decompressor closed")
)

func maxOrDefault(maxMessage int) int {
	if maxMessage <= 0 {
		return DefaultMaxMessage
	}
	return maxMessage
}

// growBuf returns buf with at least want bytes of spare capacity, never more than limit in
// total capacity. It doubles so that a large message costs O(size) copying overall.
func growBuf(buf []byte, want, limit int) []byte {
	if cap(buf)-len(buf) >= want {
		return buf
	}
	newCap := max(2*cap(buf), len(buf)+want, 4096)
	newCap = min(newCap, limit)
	if newCap <= cap(buf) {
		return buf
	}
	nb := make([]byte, len(buf), newCap)
	copy(nb, buf)
	return nb
}

// lentBuf carries a message buffer through a bufPool; the decoder that holds the buffer holds
// its lentBuf too, so lending and borrowing allocate nothing once warm.
type lentBuf struct{ b []byte }

// bufPool lends message buffers to decoders between messages. Buffers over max are not
// taken back.
type bufPool struct {
	p   sync.Pool
	max int
}

// take returns a buffer (empty, possibly nil) and its carrier.
func (bp *bufPool) take() ([]byte, *lentBuf) {
	h, _ := bp.p.Get().(*lentBuf)
	if h == nil {
		return nil, new(lentBuf)
	}
	b := h.b
	h.b = nil
	return b[:0], h
}

// give lends buf out again; the caller keeps neither buf nor h.
func (bp *bufPool) give(buf []byte, h *lentBuf) {
	if cap(buf) == 0 || cap(buf) > bp.max {
		return
	}
	if h == nil {
		h = new(lentBuf)
	}
	h.b = buf[:0]
	bp.p.Put(h)
}
