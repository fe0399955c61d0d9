package rpcsim

import (
	"encoding/json"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/events"
)

// conn is one client connection, on either transport.
type conn struct {
	s        *Server
	ipc      net.Conn        // IPC transport
	ws       *websocket.Conn // websocket transport
	clientID string
	wmu      sync.Mutex

	// Guarded by s.mu.
	ready  bool
	token  string
	scopes []string
	subs   map[subKey]bool
}

type subKey struct {
	evt string
	id  events.Snowflake // channel or guild id; 0 for none
}

func (k subKey) String() string {
	if k.id == 0 {
		return k.evt
	}
	return k.evt + " " + k.id.String()
}

func sortStrings(s []string) { sort.Strings(s) }

const writeTimeout = 5 * time.Second

// send writes one payload.
func (c *conn) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.ipc != nil {
		_ = c.ipc.SetWriteDeadline(time.Now().Add(writeTimeout))
		_, err = c.ipc.Write(frame(opFrame, b))
		return err
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// closeWith sends the close code (an IPC close frame or a websocket close) and closes.
func (c *conn) closeWith(code int, msg string) {
	c.wmu.Lock()
	if c.ipc != nil {
		b, _ := json.Marshal(map[string]any{"code": code, "message": msg})
		_ = c.ipc.SetWriteDeadline(time.Now().Add(writeTimeout))
		_, _ = c.ipc.Write(frame(opClose, b))
	} else {
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, msg), time.Now().Add(writeTimeout))
	}
	c.wmu.Unlock()
	c.drop()
}

// drop closes the socket with no goodbye, like a crashed app.
func (c *conn) drop() {
	if c.ipc != nil {
		c.ipc.Close()
	} else {
		c.ws.Close()
	}
}

// track registers c, or reports false if the server is closed or restarting.
func (s *Server) track(c *conn, serve func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.down {
		return false
	}
	c.subs = map[subKey]bool{}
	s.conns[c] = struct{}{}
	s.wg.Go(func() {
		defer func() {
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.drop()
		}()
		serve()
	})
	return true
}

func (s *Server) acceptIPC(ln net.Listener) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		c := &conn{s: s, ipc: nc}
		if !s.track(c, c.serveIPC) {
			nc.Close()
		}
	}
}

// serveIPC runs the handshake, then answers frames until the client leaves.
func (c *conn) serveIPC() {
	_ = c.ipc.SetReadDeadline(time.Now().Add(10 * time.Second))
	op, b, err := readFrame(c.ipc)
	if err != nil {
		return
	}
	_ = c.ipc.SetReadDeadline(time.Time{})
	if op != opHandshake {
		c.closeWith(1003, "Expected a handshake")
		return
	}
	var hs struct {
		V        json.RawMessage `json:"v"`
		ClientID string          `json:"client_id"`
	}
	if err := json.Unmarshal(b, &hs); err != nil {
		c.closeWith(4000, "Invalid handshake")
		return
	}
	// discord-rpc libraries send v as the number 1; accept the string too.
	if v := string(hs.V); v != "1" && v != `"1"` {
		c.closeWith(4004, "Invalid version: "+v)
		return
	}
	if !c.handshake(hs.ClientID, "") {
		return
	}
	for {
		op, b, err := readFrame(c.ipc)
		if err != nil {
			return
		}
		switch op {
		case opFrame:
			c.s.handle(c, b)
		case opPing:
			c.wmu.Lock()
			_, err = c.ipc.Write(frame(opPong, b))
			c.wmu.Unlock()
			if err != nil {
				return
			}
		case opPong:
		case opClose:
			return
		default:
			c.closeWith(1003, "Unexpected opcode")
			return
		}
	}
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(maxFrame)
	c := &conn{s: s, ws: ws}
	run := func() {
		// The app checks the query and origin after the upgrade, so the client gets a code.
		if v := q.Get("v"); v != "1" {
			c.closeWith(4004, "Invalid version: "+v)
			return
		}
		if e := q.Get("encoding"); e != "json" && e != "" {
			c.closeWith(4005, "Invalid encoding: "+e)
			return
		}
		if !c.handshake(q.Get("client_id"), r.Header.Get("Origin")) {
			return
		}
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			s.handle(c, b)
		}
	}
	if !s.track(c, run) {
		ws.Close()
	}
}

// handshake checks the client id (and, on the websocket, the origin), applies faults and the
// rate limit, then sends READY. It reports whether the connection may go on.
func (c *conn) handshake(clientID, origin string) bool {
	s := c.s
	if !s.knownClient(clientID) {
		c.closeWith(4000, "Invalid Client ID")
		return false
	}
	if c.ws != nil && !s.allowedOrigin(origin) {
		c.closeWith(4001, "Invalid Origin")
		return false
	}
	s.mu.Lock()
	spec, fail := s.checkHandshakeLocked()
	s.mu.Unlock()
	if fail {
		c.closeWith(spec.code, spec.msg)
		return false
	}
	c.clientID = clientID
	s.mu.Lock()
	user := s.world.user
	s.mu.Unlock()
	err := c.send(map[string]any{
		"cmd": "DISPATCH",
		"evt": "READY",
		"data": map[string]any{
			"v": 1,
			"config": map[string]string{
				"cdn_host":     "cdn.discordapp.com",
				"api_endpoint": "//discord.com/api",
				"environment":  "production",
			},
			"user": user,
		},
	})
	if err != nil {
		return false
	}
	s.mu.Lock()
	c.ready = true
	s.mu.Unlock()
	return true
}

func (s *Server) allowedOrigin(o string) bool {
	for _, a := range s.cfg.origins {
		if a == o {
			return true
		}
	}
	return false
}
