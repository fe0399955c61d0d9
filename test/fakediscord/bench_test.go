package fakediscord

import (
	"testing"

	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/events"
)

// BenchmarkDispatch measures one Dispatch reaching a connected client, for each transport.
func BenchmarkDispatch(b *testing.B) {
	for _, comp := range []string{"", "zlib-stream", "zstd-stream"} {
		name := comp
		if name == "" {
			name = "json"
		}
		b.Run(name, func(b *testing.B) {
			s, err := New(WithGuilds(1))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			c := benchClient(b, s, comp)
			g := s.Guilds()[0]
			msg := s.defaultMessage(1, g)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := s.Dispatch(g, "MESSAGE_CREATE", msg); err != nil {
					b.Fatal(err)
				}
				<-c
			}
		})
	}
}

// benchClient connects, identifies and returns a channel that gets one value per dispatch after
// the GUILD_CREATEs.
func benchClient(b *testing.B, s *Server, comp string) <-chan struct{} {
	b.Helper()
	url := s.GatewayURL() + "?v=10&encoding=json"
	if comp != "" {
		url += "&compress=" + comp
	}
	out := make(chan struct{}, 1024)
	ws, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	b.Cleanup(func() { ws.Close() })
	id := identifyPayload(s, 0, 1, events.IntentsAll)
	env, _ := events.NewEnvelope(events.OpIdentify, id)
	raw, _ := env.MarshalJSON()
	if err := ws.WriteMessage(websocket.TextMessage, raw); err != nil {
		b.Fatal(err)
	}
	go func() {
		// Frames after Hello, READY and one GUILD_CREATE are dispatches (one frame each: no split).
		for n := 0; ; n++ {
			if _, _, err := ws.ReadMessage(); err != nil {
				close(out)
				return
			}
			if n >= 3 {
				out <- struct{}{}
			}
		}
	}()
	return out
}
