package rpcsim

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/cordage/cordage/clock"
)

// Every accept loop, connection goroutine and restart timer ends with Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const timeout = 10 * time.Second

func newIPCServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	return NewServer(t, append([]Option{WithIPCDir(t.TempDir()), WithClock(clock.Scaled(1000))}, opts...)...)
}

type ipcClient struct {
	t  *testing.T
	nc net.Conn
}

func dialIPC(t *testing.T, s *Server) *ipcClient {
	t.Helper()
	nc, err := net.Dial("unix", s.IPCPath())
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(timeout))
	t.Cleanup(func() { nc.Close() })
	return &ipcClient{t, nc}
}

func (c *ipcClient) write(op uint32, v any) {
	c.t.Helper()
	b, ok := v.([]byte)
	if !ok {
		b, _ = json.Marshal(v)
	}
	if _, err := c.nc.Write(frame(op, b)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *ipcClient) read() (uint32, map[string]any) {
	c.t.Helper()
	op, b, err := readFrame(c.nc)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if op != opPing && op != opPong {
		if err := json.Unmarshal(b, &m); err != nil {
			c.t.Fatalf("frame %q: %v", b, err)
		}
	}
	return op, m
}

func (c *ipcClient) expectClose(code float64) {
	c.t.Helper()
	op, m := c.read()
	if op != opClose || m["code"] != code {
		c.t.Fatalf("got op %d %v, want close %v", op, m, code)
	}
}

func TestIPCHandshakeChecks(t *testing.T) {
	s := newIPCServer(t)
	c := dialIPC(t, s)
	c.write(opHandshake, map[string]any{"v": 2, "client_id": DefaultClientID})
	c.expectClose(4004)

	c = dialIPC(t, s)
	c.write(opHandshake, map[string]any{"v": 1, "client_id": "999"})
	c.expectClose(4000)

	c = dialIPC(t, s)
	c.write(opFrame, map[string]any{"cmd": "GET_GUILDS"})
	c.expectClose(1003)

	c = dialIPC(t, s)
	c.write(opHandshake, map[string]any{"v": 1, "client_id": DefaultClientID})
	op, ready := c.read()
	if op != opFrame || ready["evt"] != "READY" || ready["cmd"] != "DISPATCH" {
		t.Fatalf("READY = %d %v", op, ready)
	}
	if u := ready["data"].(map[string]any)["user"].(map[string]any); u["id"] != UserID.String() {
		t.Fatalf("READY user = %v", u)
	}
	c.write(opPing, []byte("abc"))
	if op, _ := c.read(); op != opPong {
		t.Fatalf("ping answered with op %d", op)
	}
	c.write(opFrame, map[string]any{"cmd": "GET_GUILDS", "nonce": "n1", "args": map[string]any{}})
	_, m := c.read()
	if m["nonce"] != "n1" || m["evt"] != "ERROR" || m["data"].(map[string]any)["code"] != 4006.0 {
		t.Fatalf("unauthenticated GET_GUILDS = %v", m)
	}
	c.write(opFrame, []byte("{not json"))
	if _, m := c.read(); m["evt"] != "ERROR" || m["data"].(map[string]any)["code"] != 4000.0 {
		t.Fatalf("bad JSON = %v", m)
	}
	c.write(opFrame, map[string]any{"cmd": "NOPE", "nonce": "n2"})
	if _, m := c.read(); m["data"].(map[string]any)["code"] != 4002.0 {
		t.Fatalf("unknown command = %v", m)
	}
	tok := s.IssueToken("rpc")
	c.write(opFrame, map[string]any{"cmd": "AUTHENTICATE", "nonce": "n3", "args": map[string]any{"access_token": tok}})
	if _, m := c.read(); m["nonce"] != "n3" || m["evt"] != nil {
		t.Fatalf("AUTHENTICATE = %v", m)
	}
	c.write(opFrame, map[string]any{"cmd": "NOPE", "nonce": "n4"})
	if _, m := c.read(); m["data"].(map[string]any)["code"] != 4002.0 {
		t.Fatalf("unknown command after auth = %v", m)
	}
	if s.Connections() != 1 {
		t.Fatalf("Connections = %d", s.Connections())
	}
}

func dialWS(t *testing.T, s *Server, query, origin string) *websocket.Conn {
	t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	d := websocket.Dialer{HandshakeTimeout: timeout}
	ws, resp, err := d.Dial("ws://127.0.0.1:"+itoa(s.Port())+"/?"+query, h)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Cleanup(func() { ws.Close() })
	_ = ws.SetReadDeadline(time.Now().Add(timeout))
	return ws
}

func itoa(n int) string { return strconv.Itoa(n) }

func expectWSClose(t *testing.T, ws *websocket.Conn, code int) {
	t.Helper()
	_, _, err := ws.ReadMessage()
	if !websocket.IsCloseError(err, code) {
		t.Fatalf("err = %v, want close %d", err, code)
	}
}

func TestWebsocketHandshakeChecks(t *testing.T) {
	s := NewServer(t, WithClock(clock.Scaled(1000)))
	q := func(v, id, enc string) string {
		return url.Values{"v": {v}, "client_id": {id}, "encoding": {enc}}.Encode()
	}
	expectWSClose(t, dialWS(t, s, q("2", DefaultClientID, "json"), DefaultOrigin), 4004)
	expectWSClose(t, dialWS(t, s, q("1", DefaultClientID, "etf"), DefaultOrigin), 4005)
	expectWSClose(t, dialWS(t, s, q("1", "5", "json"), DefaultOrigin), 4000)
	expectWSClose(t, dialWS(t, s, q("1", DefaultClientID, "json"), "https://evil.example"), 4001)
	expectWSClose(t, dialWS(t, s, q("1", DefaultClientID, "json"), ""), 4001)
	ws := dialWS(t, s, q("1", DefaultClientID, "json"), DefaultOrigin)
	var m map[string]any
	if err := ws.ReadJSON(&m); err != nil || m["evt"] != "READY" {
		t.Fatalf("READY = %v %v", m, err)
	}
}

func TestHandshakeRateLimit(t *testing.T) {
	m := clock.NewManual(time.Unix(0, 0))
	s := NewServer(t, WithIPCDir(t.TempDir()), WithClock(m), WithHandshakeLimit(2, time.Minute))
	for i := 0; i < 2; i++ {
		c := dialIPC(t, s)
		c.write(opHandshake, map[string]any{"v": 1, "client_id": DefaultClientID})
		if _, r := c.read(); r["evt"] != "READY" {
			t.Fatalf("handshake %d: %v", i, r)
		}
	}
	c := dialIPC(t, s)
	c.write(opHandshake, map[string]any{"v": 1, "client_id": DefaultClientID})
	c.expectClose(4002)
	m.Advance(time.Minute)
	c = dialIPC(t, s)
	c.write(opHandshake, map[string]any{"v": 1, "client_id": DefaultClientID})
	if _, r := c.read(); r["evt"] != "READY" {
		t.Fatalf("after the window: %v", r)
	}
}

func TestRestartRefusesThenAccepts(t *testing.T) {
	m := clock.NewManual(time.Unix(0, 0))
	s := NewServer(t, WithIPCDir(t.TempDir()), WithClock(m), WithRestartDelay(time.Second))
	c := dialIPC(t, s)
	c.write(opHandshake, map[string]any{"v": 1, "client_id": DefaultClientID})
	c.read()
	port := s.Port()
	up := s.Restart()
	if _, _, err := readFrame(c.nc); err == nil {
		t.Fatal("connection survived the restart")
	}
	if _, err := net.Dial("unix", s.IPCPath()); err == nil {
		t.Fatal("IPC accepted while restarting")
	}
	// The freed websocket port is not probed here: while it is closed, any other process on
	// the machine (parallel test binaries) may bind the same port, so a successful dial would
	// prove nothing. The IPC socket above is ours alone.
	select {
	case <-up:
		t.Fatal("up before the delay")
	default:
	}
	actx, acancel := context.WithTimeout(context.Background(), timeout)
	defer acancel()
	if err := m.AwaitWaiters(actx, 1); err != nil {
		t.Fatal("restart timer never armed")
	}
	m.Advance(time.Second)
	<-up
	if s.Port() != port {
		t.Fatalf("port changed from %d to %d", port, s.Port())
	}
	c = dialIPC(t, s)
	c.write(opHandshake, map[string]any{"v": 1, "client_id": DefaultClientID})
	if _, r := c.read(); r["evt"] != "READY" {
		t.Fatalf("after restart: %v", r)
	}
}

func postToken(t *testing.T, s *Server, form url.Values, basic bool) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.APIBase()+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(form.Get("client_id"), form.Get("client_secret"))
		form.Del("client_secret")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestTokenEndpoint(t *testing.T) {
	s := NewServer(t, WithRedirectURIs("https://localhost/cb"))
	s.mu.Lock()
	code := s.grants.newCode(DefaultClientID, []string{"rpc", "identify"})
	code2 := s.grants.newCode(DefaultClientID, []string{"rpc"})
	s.mu.Unlock()
	form := func(code, secret, redirect string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {DefaultClientID},
			"client_secret": {secret}, "redirect_uri": {redirect}}
	}
	if st, m := postToken(t, s, form(code, "bad", "https://localhost/cb"), false); st != 401 || m["error"] != "invalid_client" {
		t.Fatalf("bad secret: %d %v", st, m)
	}
	if st, m := postToken(t, s, form(code, DefaultClientSecret, "https://other/cb"), false); st != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("bad redirect: %d %v", st, m)
	}
	st, m := postToken(t, s, form(code, DefaultClientSecret, "https://localhost/cb"), false)
	if st != 200 || m["token_type"] != "Bearer" || m["scope"] != "rpc identify" || m["access_token"] == "" {
		t.Fatalf("exchange: %d %v", st, m)
	}
	if st, m := postToken(t, s, form(code, DefaultClientSecret, "https://localhost/cb"), false); st != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("code reused: %d %v", st, m)
	}
	if st, m := postToken(t, s, form(code2, DefaultClientSecret, "https://localhost/cb"), true); st != 200 || m["scope"] != "rpc" {
		t.Fatalf("basic auth: %d %v", st, m)
	}
	req, _ := http.NewRequest(http.MethodPost, s.APIBase()+"/oauth2/token", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("JSON body: %d", resp.StatusCode)
	}
}

func TestStartNeedsATransport(t *testing.T) {
	if _, err := Start(WithWebsocket(false)); err == nil {
		t.Fatal("started with no transport")
	}
}
