package transport

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

func TestDialerSettings(t *testing.T) {
	d := Dialer()
	if d.ReadBufferSize != ReadBufferSize || d.WriteBufferSize != WriteBufferSize {
		t.Fatalf("buffers %d/%d", d.ReadBufferSize, d.WriteBufferSize)
	}
	if d.WriteBufferPool == nil || d.WriteBufferPool != Dialer().WriteBufferPool {
		t.Fatal("write buffer pool not shared between dialers")
	}
	if d == Dialer() {
		t.Fatal("Dialer returned the same value twice")
	}
	if d.EnableCompression {
		t.Fatal("permessage-deflate enabled")
	}
}

// TestDialerRoundTrip dials a loopback server, sends a compressed gateway stream through
// websocket binary messages and checks the read limit.
func TestDialerRoundTrip(t *testing.T) {
	msgs := steadyMessages(60, 10)
	chunks := zlibChunks(t, msgs, 6, false)
	up := websocket.Upgrader{}
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for _, ch := range chunks {
			if err := c.WriteMessage(websocket.BinaryMessage, ch); err != nil {
				return
			}
		}
		// One message over the client's read limit.
		_ = c.WriteMessage(websocket.BinaryMessage, bytes.Repeat([]byte{'x'}, 5000))
		_, _, _ = c.ReadMessage() // until the client goes away
	}))
	defer srv.Close()

	conn, _, err := Dialer().Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	SetReadLimit(conn, 4096)
	d := NewZlibStream(4096)
	defer d.Close()
	var got [][]byte
	for range chunks {
		typ, frame, err := conn.ReadMessage()
		if err != nil || typ != websocket.BinaryMessage {
			t.Fatalf("read: %v (type %d)", err, typ)
		}
		msg, ok, err := d.Decode(frame)
		if err != nil || !ok {
			t.Fatalf("decode: ok=%v err=%v", ok, err)
		}
		got = append(got, bytes.Clone(msg))
	}
	equalMessages(t, got, msgs)
	if _, _, err := conn.ReadMessage(); err != websocket.ErrReadLimit {
		t.Fatalf("oversized message: %v, want ErrReadLimit", err)
	}
	conn.Close()
	<-done
}
