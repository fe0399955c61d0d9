// Package wsaccept is how the simulators' websocket handlers open: refuse a request once the
// server is closed, count the handler in the server's WaitGroup so that Close waits for it,
// upgrade, and cap the size of what the client may send.
package wsaccept

import (
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
)

// Server is the part of a simulator Accept works with: the lock that guards closed, closed
// itself, and the WaitGroup its Close waits on.
type Server struct {
	Mu     *sync.Mutex
	Closed *bool
	WG     *sync.WaitGroup
}

// Accept answers 503 if the server is closed; otherwise it counts the handler in s.WG and
// upgrades the request. It returns the websocket with its read limit set and the func the
// handler calls when it ends, or a nil websocket when the request has been answered already
// (closed server, failed upgrade), in which case nothing is left counted.
func Accept(w http.ResponseWriter, r *http.Request, up *websocket.Upgrader, s Server, readLimit int64) (*websocket.Conn, func()) {
	s.Mu.Lock()
	if *s.Closed {
		s.Mu.Unlock()
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return nil, nil
	}
	s.WG.Add(1)
	s.Mu.Unlock()
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		s.WG.Done()
		return nil, nil // the upgrader has answered
	}
	ws.SetReadLimit(readLimit)
	return ws, s.WG.Done
}
