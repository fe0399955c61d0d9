package transport

import (
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Websocket buffer sizes for gateway connections (perf.md §4). An idle gorilla connection with
// these settings and the shared write pool costs about 5 KiB of heap instead of about 16 KiB
// with gorilla's 4 KiB defaults; gateway frames are small (a compressed dispatch averages a
// few hundred bytes, and a client never sends more than 4096 bytes), so nothing is lost.
const (
	ReadBufferSize  = 2048
	WriteBufferSize = 1024
	// HandshakeTimeout bounds the websocket opening handshake (wall time).
	HandshakeTimeout = 30 * time.Second
)

// writeBufferPool is shared by every connection of the process: gorilla takes a write buffer
// only while a message is being written, so thousands of mostly idle shards share a handful.
// One pool per WriteBufferSize, as gorilla requires.
var writeBufferPool = &sync.Pool{}

// Dialer returns a new websocket dialer tuned for gateway connections: the buffer sizes above,
// the process-wide write buffer pool, proxies from the environment, and no permessage-deflate
// (Discord compresses in the payload stream instead). Each call returns a fresh value, so the
// caller may set NetDialContext, TLSClientConfig or Jar on it without affecting anyone else.
func Dialer() *websocket.Dialer {
	return &websocket.Dialer{
		Proxy:             http.ProxyFromEnvironment,
		HandshakeTimeout:  HandshakeTimeout,
		ReadBufferSize:    ReadBufferSize,
		WriteBufferSize:   WriteBufferSize,
		WriteBufferPool:   writeBufferPool,
		EnableCompression: false,
	}
}

// SetReadLimit makes conn reject any websocket message longer than maxMessage bytes (the
// compressed size; a decompressor enforces the inflated size), so a misbehaving server cannot
// make the reader buffer without bound. maxMessage <= 0 means DefaultMaxMessage.
func SetReadLimit(conn *websocket.Conn, maxMessage int) {
	conn.SetReadLimit(int64(maxOrDefault(maxMessage)))
}
