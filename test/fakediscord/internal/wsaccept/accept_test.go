package wsaccept

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A closed server answers 503 and counts nothing; a failed upgrade counts nothing; an accepted
// websocket stays counted until the handler's done, and carries the read limit.
func TestAccept(t *testing.T) {
	var (
		mu     sync.Mutex
		closed bool
		wg     sync.WaitGroup
	)
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	handlerDone := make(chan struct{}, 4)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { handlerDone <- struct{}{} }()
		ws, done := Accept(w, r, &up, Server{Mu: &mu, Closed: &closed, WG: &wg}, 16)
		if ws == nil {
			return
		}
		defer done()
		defer ws.Close()
		<-release
		if _, _, err := ws.ReadMessage(); err == nil || !strings.Contains(err.Error(), "limit") {
			t.Errorf("a 32-byte message under a 16-byte limit: %v", err)
		}
	}))
	defer srv.Close()
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http")

	// Not a websocket request: the upgrade fails and nothing stays counted.
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	<-handlerDone
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain GET: status %d", resp.StatusCode)
	}
	wg.Wait() // would hang if the failed upgrade stayed counted

	c, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
		t.Fatal("the accepted handler is not counted")
	default:
	}
	if err := c.WriteMessage(websocket.TextMessage, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	close(release)
	<-handlerDone
	<-waited
	c.Close()

	mu.Lock()
	closed = true
	mu.Unlock()
	_, resp, err = websocket.DefaultDialer.Dial(wsURL, nil)
	<-handlerDone
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("closed server: err %v, response %v", err, resp)
	}
	resp.Body.Close()
	wg.Wait()
}
