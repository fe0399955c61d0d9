package voicesim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events/voice"
)

// ctl is an HTTP client of one voice server's control handler.
type ctl struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newCtl(t *testing.T, srv *Server) *ctl {
	t.Helper()
	hs := httptest.NewServer(srv.ControlHandler())
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		hs.Close()
	})
	return &ctl{t: t, base: hs.URL, hc: &http.Client{Transport: tr, Timeout: waitWall}}
}

// do sends a request (a POST when body is not empty) and returns the status and the body.
func (c *ctl) do(method, path, body string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (c *ctl) post(path, body string) (int, string) {
	c.t.Helper()
	return c.do(http.MethodPost, path, body)
}

func (c *ctl) ledger() *Ledger {
	c.t.Helper()
	code, body := c.do(http.MethodGet, "/ledger", "")
	var l Ledger
	if code != 200 {
		c.t.Fatalf("GET /ledger: %d %s", code, body)
	}
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		c.t.Fatalf("GET /ledger: %v in %s", err, body)
	}
	return &l
}

func TestControlCloseAndDrop(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	api := newCtl(t, srv)
	if code, body := api.post("/faults/close", `{"user_id":"10","code":4015}`); code != 409 || !strings.Contains(body, "no live voice session") {
		t.Fatalf("close without a session: %d %s", code, body)
	}
	a := newClient(t, srv, 10)
	a.join(1, voice.ModeAES256GCMRTPSize)

	// The ledger over HTTP is the Go ledger, snowflakes as strings.
	l := api.ledger()
	r, ok := l.Session(10)
	if !ok || r.SSRC != a.ready.SSRC || r.Mode != voice.ModeAES256GCMRTPSize || len(l.Calls) != 1 || l.Calls[0].ChannelID != 2 {
		t.Fatalf("ledger over HTTP: %+v", l)
	}
	_, body := api.do(http.MethodGet, "/ledger", "")
	for _, want := range []string{`"user_id":"10"`, `"closed":null`, `"resumes":[]`, `"refused":[]`} {
		if !strings.Contains(body, want) {
			t.Errorf("ledger JSON lacks %s: %s", want, body)
		}
	}

	if code, body := api.post("/faults/close", `{"user_id":"10","code":4015}`); code != 200 || body != "{\"ok\":true}\n" {
		t.Fatalf("close: %d %s", code, body)
	}
	if code := a.expectClose(); code != 4015 {
		t.Fatalf("closed with %d, want 4015", code)
	}
	// 4015 keeps the session resumable; the ledger records the server's close.
	r, _ = api.ledger().Session(10)
	if r.Ended != "" || len(r.Connections) != 1 || r.Connections[0].End != "server-close" || r.Connections[0].Code != 4015 {
		t.Fatalf("after close 4015: %+v", r)
	}
	if code, body := api.post("/faults/drop", `{"user_id":"10"}`); code != 409 || !strings.Contains(body, "no open connection") {
		t.Fatalf("drop without a connection: %d %s", code, body)
	}

	b := newClient(t, srv, 20)
	b.join(1, voice.ModeAES256GCMRTPSize)
	if code, body := api.post("/faults/drop", `{"user_id":20}`); code != 200 {
		t.Fatalf("drop: %d %s", code, body)
	}
	if code := b.expectClose(); code != 0 && code != websocket.CloseAbnormalClosure {
		t.Fatalf("drop sent close code %d, want none", code)
	}
	code, body := api.post("/wait", `{"closes":1,"timeout":"2s"}`)
	var v waitView
	if err := json.Unmarshal([]byte(body), &v); code != 200 || err != nil || v.Closes != 1 || v.Sessions != 2 {
		t.Fatalf("wait: %d %s", code, body)
	}
}

func TestControlUDPLoss(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	api := newCtl(t, srv)
	a, b := pair(t, srv, voice.ModeAES256GCMRTPSize, voice.ModeAES256GCMRTPSize, 1, 1)
	if code, body := api.post("/faults/udp-loss", `{"user_id":"20","p":1}`); code != 200 {
		t.Fatalf("udp-loss: %d %s", code, body)
	}
	a.sendRTP([]byte{1})
	a.sendRTP([]byte{2})
	waitLedger(t, srv, func(l *Ledger) bool { return l.UDP.Lost == 2 })
	if code, body := api.post("/faults/udp-loss", `{"user_id":"20","p":0}`); code != 200 {
		t.Fatalf("udp-loss off: %d %s", code, body)
	}
	a.sendRTP([]byte{3})
	if p, ok := b.recvRTP(waitWall); !ok || p.opus[0] != 3 {
		t.Fatalf("after loss off got %+v %v", p, ok)
	}
	// POST /wait sees the relayed packet.
	if code, body := api.post("/wait", `{"relayed":1,"sessions":2}`); code != 200 {
		t.Fatalf("wait relayed: %d %s", code, body)
	}
	l := api.ledger()
	if l.UDP.Lost != 2 || len(l.RelayedTo(10, 20)) != 1 {
		t.Fatalf("udp %+v relays %+v", l.UDP, l.Relays)
	}
}

func TestControlDAVEVersion(t *testing.T) {
	srv := newServer(t, WithClock(clock.Scaled(1000)), WithExecuteTimeout(2*time.Second))
	api := newCtl(t, srv)
	if code, body := api.post("/dave/version", `{"channel_id":"2","version":0}`); code != 409 || !strings.Contains(body, "no call") {
		t.Fatalf("downgrade without a call: %d %s", code, body)
	}
	a := newClient(t, srv, 10)
	a.join(1, voice.ModeAES256GCMRTPSize)
	if code, body := api.post("/dave/version", `{"channel_id":"2","version":0}`); code != 200 {
		t.Fatalf("downgrade: %d %s", code, body)
	}
	var pt voice.DAVEPrepareTransition
	if err := a.await(voice.OpDAVEPrepareTransition).Decode(&pt); err != nil || pt.ProtocolVersion != 0 {
		t.Fatalf("prepare transition %+v %v", pt, err)
	}
	a.send(voice.OpDAVEReadyForTransition, voice.DAVEReadyForTransition{TransitionID: pt.TransitionID})
	a.await(voice.OpDAVEExecuteTransition)
	if d := api.ledger().Calls[0].DAVE; d == nil || d.ProtocolVersion != 0 {
		t.Fatalf("after downgrade: %+v", d)
	}
	if code, body := api.post("/dave/version", `{"channel_id":"2","version":1}`); code != 200 {
		t.Fatalf("upgrade: %d %s", code, body)
	}
	var pe voice.DAVEPrepareEpoch
	if err := a.await(voice.OpDAVEPrepareEpoch).Decode(&pe); err != nil || pe.Epoch != 1 || pe.ProtocolVersion != 1 {
		t.Fatalf("prepare epoch %+v %v", pe, err)
	}
	if code, body := api.post("/dave/faults", `{"channel_id":"2","ignore_ready":true}`); code != 200 {
		t.Fatalf("dave faults: %d %s", code, body)
	}
}

func TestControlTokensAndChannelFaults(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	api := newCtl(t, srv)
	code, body := api.post("/tokens", `{"guild_id":"1","channel_id":"2","user_id":"30","session_id":"s30"}`)
	var tok struct{ Token, Endpoint string }
	if err := json.Unmarshal([]byte(body), &tok); code != 200 || err != nil || tok.Token == "" || tok.Endpoint != srv.Endpoint() {
		t.Fatalf("tokens: %d %s", code, body)
	}
	// The token works: a client identifying with it gets Ready.
	c := &testClient{t: t, srv: srv, guild: 1, ch: 2, user: 30, sessID: "s30", token: tok.Token, lastSeq: -1}
	c.dial()
	t.Cleanup(c.closeAll)
	c.identify(0)
	c.expect(voice.OpReady)

	if code, _ := api.post("/faults/full-channel", `{"channel_id":"5","on":true}`); code != 200 {
		t.Fatalf("full-channel: %d", code)
	}
	if code, body := api.post("/tokens", `{"guild_id":"1","channel_id":"5","user_id":"31","session_id":"s"}`); code != 409 {
		t.Fatalf("token for a full channel: %d %s", code, body)
	}
	if code, _ := api.post("/faults/null-endpoints", `{"count":1}`); code != 200 {
		t.Fatalf("null-endpoints: %d", code)
	}
	if _, body := api.post("/tokens", `{"guild_id":"1","channel_id":"2","user_id":"32","session_id":"s"}`); !strings.Contains(body, `"endpoint":""`) {
		t.Fatalf("token after null-endpoints: %s", body)
	}
	if code, body := api.post("/faults/drop-ws", `{"user_id":"30","count":2}`); code != 200 {
		t.Fatalf("drop-ws: %d %s", code, body)
	}
	if code, body := api.post("/faults/withhold-acks", `{"user_id":"30","count":1}`); code != 200 {
		t.Fatalf("withhold-acks: %d %s", code, body)
	}
	if code, body := api.post("/dave/version", `{"channel_id":"2","version":1}`); code != 400 || !strings.Contains(body, "0 (downgrade) to 0") {
		t.Fatalf("dave version above the server's: %d %s", code, body)
	}
	if code, body := api.post("/dave/version", `{"channel_id":"2","version":0}`); code != 409 || !strings.Contains(body, "without DAVE") {
		t.Fatalf("dave version on a server without DAVE: %d %s", code, body)
	}
	if code, body := api.post("/dave/faults", `{"channel_id":"2"}`); code != 409 || !strings.Contains(body, "without DAVE") {
		t.Fatalf("dave faults without DAVE: %d %s", code, body)
	}
}

func TestControlBadInput(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	api := newCtl(t, srv)
	for _, tc := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/faults/close", `{"user_id":"10"}`, 400, "code is required"},
		{"POST", "/faults/close", `{"user_id":"10","code":1006}`, 400, "code is required"},
		{"POST", "/faults/close", `{"code":4015}`, 400, "user_id is required"},
		{"POST", "/faults/close", `{"user":"10","code":4015}`, 400, "unknown field"},
		{"POST", "/faults/close", `{"user_id":"x","code":4015}`, 400, "invalid snowflake"},
		{"POST", "/faults/close", ``, 400, "empty body"},
		{"POST", "/faults/close", `{"user_id":"10","code":4015} {}`, 400, "trailing data"},
		{"POST", "/faults/udp-loss", `{"user_id":"10","p":1.5}`, 400, "probability"},
		{"POST", "/faults/udp-loss", `{"user_id":"10"}`, 400, "probability"},
		{"POST", "/faults/drop-ws", `{"user_id":"10","count":0}`, 400, "count"},
		{"POST", "/dave/version", `{"channel_id":"2"}`, 400, "version is required"},
		{"POST", "/dave/faults", `{"channel_id":"2","stale_epochs":-1}`, 400, "negative"},
		{"POST", "/tokens", `{"guild_id":"1","channel_id":"2","user_id":"3"}`, 400, "session_id"},
		{"POST", "/wait", `{"timeout":"10m"}`, 400, "timeout"},
		{"GET", "/faults/close", ``, 405, "method not allowed"},
		{"GET", "/nope", ``, 404, "no voice control route"},
		{"POST", "/faults/udp-loss", `{"user_id":"10","p":0.5}`, 409, "no live voice session"},
		{"POST", "/faults/close", `{"user_id":"10","code":4015,"pad":"` + strings.Repeat("x", maxControlBody) + `"}`, 413, "1 MiB"},
	} {
		code, body := api.do(tc.method, tc.path, tc.body)
		if code != tc.code || !strings.Contains(body, tc.want) || !strings.HasPrefix(body, `{"error":`) {
			t.Errorf("%s %s %.60q: %d %s, want %d with %q", tc.method, tc.path, tc.body, code, body, tc.code, tc.want)
		}
	}
	if code, body := api.do("GET", "/", ""); code != 200 || !strings.Contains(body, "POST /faults/close") {
		t.Errorf("index: %d %s", code, body)
	}
	if code, body := api.post("/wait", `{"sessions":1,"timeout":50}`); code != 408 || !strings.Contains(body, "timed out") {
		t.Errorf("wait that cannot hold: %d %s", code, body)
	}
	_ = srv.Close()
	if code, body := api.post("/faults/udp-loss", `{"user_id":"10","p":0.5}`); code != 503 {
		t.Errorf("after Close: %d %s", code, body)
	}
	if code, body := api.post("/wait", `{"sessions":1}`); code != 503 {
		t.Errorf("wait after Close: %d %s", code, body)
	}
}
