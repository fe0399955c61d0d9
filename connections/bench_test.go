package connections_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"

	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
)

// benchMessages builds a session's frames in Discord's key order: Hello, READY, then n-2
// MESSAGE_CREATE dispatches of about 1 KB.
func benchMessages(n int) [][]byte {
	msgs := [][]byte{[]byte(`{"t":null,"s":null,"op":10,"d":{"heartbeat_interval":41250}}`)}
	msgs = append(msgs, []byte(`{"t":"READY","s":1,"op":0,"d":{"v":10,"session_id":"bench","resume_gateway_url":"ws://127.0.0.1:1/","guilds":[],"user":{"id":"1","username":"bench"}}}`))
	body := strings.Repeat("lorem ipsum dolor sit amet ", 24)
	for i := 2; i < n; i++ {
		d := fmt.Sprintf(`{"id":"%d","channel_id":"81384788765712384","guild_id":"81384788765712384","author":{"id":"80351110224678912","username":"someone","avatar":"a_1f2e3d","global_name":"Some One"},"member":{"roles":["1","2"],"joined_at":"2015-04-26T06:26:56.936000+00:00"},"content":"%s %d","timestamp":"2026-11-25T12:00:00.000000+00:00","tts":false,"mention_everyone":false,"mentions":[],"mention_roles":[],"attachments":[],"embeds":[],"pinned":false,"type":0}`, 1<<40+i, body, i)
		msgs = append(msgs, fmt.Appendf(nil, `{"t":"MESSAGE_CREATE","s":%d,"op":0,"d":%s}`, i, d))
	}
	return msgs
}

// encodeStream compresses msgs as one gateway connection would carry them.
func encodeStream(b *testing.B, comp connections.Compression, msgs [][]byte) (frames [][]byte, raw int) {
	var buf bytes.Buffer
	switch comp {
	case connections.None:
		for _, m := range msgs {
			frames = append(frames, m)
			raw += len(m)
		}
		return frames, raw
	case connections.ZlibStream:
		buf.Write([]byte{0x78, 0x9c})
		w, err := flate.NewWriter(&buf, 6)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range msgs {
			w.Write(m)
			w.Flush()
			frames = append(frames, bytes.Clone(buf.Bytes()))
			buf.Reset()
			raw += len(m)
		}
	case connections.ZstdStream:
		w, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range msgs {
			w.Write(m)
			w.Flush()
			frames = append(frames, bytes.Clone(buf.Bytes()))
			buf.Reset()
			raw += len(m)
		}
		defer w.Close()
	}
	return frames, raw
}

// BenchmarkReceivePath measures the runtime's whole receive path for one shard: websocket read,
// decompression, envelope parse, sequence check, queue and hand-off on out. Each iteration is
// one connection that delivers 20,000 messages; the server only writes pre-encoded frames.
func BenchmarkReceivePath(b *testing.B) {
	const n = 20000
	msgs := benchMessages(n)
	for _, comp := range []connections.Compression{connections.None, connections.ZlibStream, connections.ZstdStream} {
		b.Run(comp.String(), func(b *testing.B) {
			frames, raw := encodeStream(b, comp, msgs)
			mt := websocket.BinaryMessage
			if comp == connections.None {
				mt = websocket.TextMessage
			}
			up := websocket.Upgrader{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ws, err := up.Upgrade(w, r, nil)
				if err != nil {
					return
				}
				defer ws.Close()
				done := make(chan struct{})
				go func() { // drain what the client sends (identify, heartbeats) until it closes
					defer close(done)
					for {
						if _, _, err := ws.ReadMessage(); err != nil {
							return
						}
					}
				}()
				for _, f := range frames {
					if ws.WriteMessage(mt, f) != nil {
						break
					}
				}
				<-done
			}))
			defer srv.Close()
			gw := events.GatewayBot{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/", Shards: 1}
			b.SetBytes(int64(raw))
			b.ReportAllocs()
			start := time.Now()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			for b.Loop() {
				out := make(chan connections.Event, 1024)
				conn, err := connections.ConnectShards(context.Background(), "bench-token", out, gw, []int{0}, connections.WithCompression(comp))
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for got < n-1 { // every dispatch; Hello is not an event
					ev := <-out
					if ev.Kind == connections.KindDispatch {
						got++
					}
				}
				conn.Close()
			}
			runtime.ReadMemStats(&m1)
			b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "events/s")
			// Every allocation of the process (client, and the in-process server, which only
			// writes pre-encoded frames) per dispatch, connection set-up included: an upper
			// bound of the raw path's allocations per event.
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64((n-1)*b.N), "allocs/ev")
		})
	}
}
