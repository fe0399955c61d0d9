package fakediscord

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cordage/cordage/events"
)

// TestTokenNeverLogged runs identify, a bad identify, a resume and REST calls with debug logging
// and checks that the token appears in no log line.
func TestTokenNeverLogged(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	s := newServer(t, WithLogger(zap.New(core)), WithToken("secret-token-value"))
	_, r := connect(t, s, 0, 1, dialOpts{})
	if err := s.Drop(0); err != nil {
		t.Fatal(err)
	}
	resumeOn(t, s, r.SessionID, 1, true).until(events.OpDispatch, "RESUMED")
	bad := dial(t, s, dialOpts{})
	bad.hello()
	id := identifyPayload(s, 0, 1, events.IntentGuilds)
	id.Token = "secret-token-value-wrong"
	bad.send(events.OpIdentify, id)
	bad.closeCode()
	restGet(t, s, "/gateway/bot", "Bot secret-token-value")
	restGet(t, s, "/gateway/bot", "Bot secret-token-value-wrong")
	if logs.Len() == 0 {
		t.Fatal("nothing logged")
	}
	for _, e := range logs.All() {
		line := fmt.Sprint(e.Message, e.ContextMap())
		if strings.Contains(line, "secret-token") {
			t.Fatalf("token in log line %q", line)
		}
	}
}

func TestUpgradeRefusals(t *testing.T) {
	s := newServer(t)
	for _, q := range []string{"v=10&encoding=etf", "v=10&encoding=json&compress=gzip"} {
		ws, resp, err := websocket.DefaultDialer.Dial(s.GatewayURL()+"?"+q, nil)
		if err == nil {
			ws.Close()
			t.Fatalf("%s: connected", q)
		}
		if resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s: %v", q, err)
		}
		resp.Body.Close()
	}
	// A connection without v is served (as the default version).
	c := dial(t, s, dialOpts{query: "encoding=json"})
	c.hello()
}
