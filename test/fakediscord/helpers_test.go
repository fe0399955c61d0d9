package fakediscord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"go.uber.org/goleak"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout bounds every wait in these tests.
const testTimeout = 10 * time.Second

// newServer starts a server on a fast clock and closes it when the test ends.
func newServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	opts = append([]Option{WithClock(clock.Scaled(1000)), WithHeartbeatInterval(24 * time.Hour), WithResumeWindow(24 * time.Hour)}, opts...)
	return NewTest(t, opts...)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// dropAndWait drops shard 0's connection and waits until the server holds no connection.
func dropAndWait(t *testing.T, s *Server) {
	t.Helper()
	if err := s.Drop(0); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitFor(ctxT(t), func(sn *Snapshot) bool { return sn.Connections == 0 }); err != nil {
		t.Fatal(err)
	}
}

// wsClient is a raw gateway client for tests: it decodes whatever transport compression it
// asked for with klauspost's readers, independently of the server's code.
type wsClient struct {
	t    *testing.T
	ws   *websocket.Conn
	msgs chan events.Envelope
	raw  chan []byte // the decoded bytes of each message, in order
	done chan struct{}
	mu   sync.Mutex
	err  error // how the read side ended
	// frames holds every websocket message received, as sent (compressed or not).
	frames [][]byte
}

type dialOpts struct {
	query    string // e.g. "v=10&encoding=json"
	compress string
	resume   bool
}

func dial(t *testing.T, s *Server, o dialOpts) *wsClient {
	t.Helper()
	u := s.GatewayURL()
	if o.resume {
		u = s.ResumeURL()
	}
	q := o.query
	if q == "" {
		q = "v=10&encoding=json"
	}
	if o.compress != "" {
		q += "&compress=" + o.compress
	}
	ws, resp, err := websocket.DefaultDialer.Dial(u+"?"+q, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	resp.Body.Close()
	c := &wsClient{t: t, ws: ws, msgs: make(chan events.Envelope, 100000), raw: make(chan []byte, 100000), done: make(chan struct{})}
	var pw *io.PipeWriter
	var decodeDone chan struct{}
	if o.compress != "" {
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		decodeDone = make(chan struct{})
		go func() {
			defer close(decodeDone)
			c.decodeStream(o.compress, pr)
		}()
	}
	go func() {
		defer close(c.done)
		defer func() {
			if pw != nil {
				pw.Close()
				<-decodeDone
			} else {
				close(c.msgs)
			}
		}()
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				c.mu.Lock()
				c.err = err
				c.mu.Unlock()
				return
			}
			c.mu.Lock()
			c.frames = append(c.frames, append([]byte(nil), data...))
			c.mu.Unlock()
			if pw != nil {
				if _, err := pw.Write(data); err != nil {
					return
				}
				continue
			}
			c.deliver(data)
		}
	}()
	t.Cleanup(func() { c.ws.Close(); <-c.done })
	return c
}

// decodeStream reads consecutive JSON messages from one decompression stream.
func (c *wsClient) decodeStream(compress string, r *io.PipeReader) {
	defer close(c.msgs)
	var src io.Reader
	switch compress {
	case "zlib-stream":
		zr, err := zlib.NewReader(r)
		if err != nil {
			r.CloseWithError(err)
			return
		}
		src = zr
	case "zstd-stream":
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			r.CloseWithError(err)
			return
		}
		defer zr.Close()
		src = zr
	}
	dec := json.NewDecoder(src)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			r.CloseWithError(err)
			return
		}
		c.deliver(raw)
	}
}

func (c *wsClient) deliver(data []byte) {
	var env events.Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		env = events.Envelope{Op: -1, D: append([]byte(nil), data...)}
	}
	c.raw <- append([]byte(nil), data...)
	c.msgs <- env
}

func (c *wsClient) send(op events.Op, d any) {
	c.t.Helper()
	env, err := events.NewEnvelope(op, d)
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := env.MarshalJSON()
	c.sendRaw(b)
}

func (c *wsClient) sendRaw(b []byte) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// next returns the next message, failing the test after testTimeout.
func (c *wsClient) next() events.Envelope {
	c.t.Helper()
	select {
	case env, ok := <-c.msgs:
		if !ok {
			c.t.Fatalf("connection ended: %v", c.readErr())
		}
		<-c.raw
		return env
	case <-time.After(testTimeout):
		c.t.Fatal("no message in time")
	}
	return events.Envelope{}
}

// expect returns the next message and checks its op (and name for dispatches).
func (c *wsClient) expect(op events.Op, name string) events.Envelope {
	c.t.Helper()
	env := c.next()
	if env.Op != op || (name != "" && env.T != name) {
		c.t.Fatalf("got op %v t %q (%s), want op %v t %q", env.Op, env.T, env.D, op, name)
	}
	return env
}

// until skips messages until one with op (and name) arrives.
func (c *wsClient) until(op events.Op, name string) events.Envelope {
	c.t.Helper()
	for {
		env := c.next()
		if env.Op == op && (name == "" || env.T == name) {
			return env
		}
	}
}

func (c *wsClient) readErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// closeCode waits for the connection to end and returns the close code the server sent
// (1006 for none).
func (c *wsClient) closeCode() events.CloseCode {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(testTimeout):
		c.t.Fatal("connection did not end")
	}
	var ce *websocket.CloseError
	if errors.As(c.readErr(), &ce) {
		return events.CloseCode(ce.Code)
	}
	return events.CloseAbnormal
}

func (c *wsClient) hello() events.Hello {
	c.t.Helper()
	env := c.expect(events.OpHello, "")
	var h events.Hello
	if err := env.Decode(&h); err != nil {
		c.t.Fatal(err)
	}
	return h
}

func identifyPayload(s *Server, shard, count int, intents events.Intent) events.Identify {
	return events.Identify{
		Token:      s.Token(),
		Properties: events.IdentifyProperties{OS: "linux", Browser: "test", Device: "test"},
		Shard:      &events.ShardInfo{shard, count},
		Intents:    intents,
	}
}

// identify sends Identify and reads READY and the GUILD_CREATEs.
func (c *wsClient) identify(s *Server, shard, count int) events.Ready {
	c.t.Helper()
	c.send(events.OpIdentify, identifyPayload(s, shard, count, events.IntentsAll))
	env := c.expect(events.OpDispatch, "READY")
	var r events.Ready
	if err := env.Decode(&r); err != nil {
		c.t.Fatal(err)
	}
	for range r.Guilds {
		c.expect(events.OpDispatch, "GUILD_CREATE")
	}
	return r
}

// connect dials, reads Hello and identifies.
func connect(t *testing.T, s *Server, shard, count int, o dialOpts) (*wsClient, events.Ready) {
	t.Helper()
	c := dial(t, s, o)
	c.hello()
	return c, c.identify(s, shard, count)
}

func restGet(t *testing.T, s *Server, path, auth string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.RESTURL()+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("User-Agent", "DiscordBot (https://example.test, 1.0) test")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: testTimeout}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, bytes.TrimSpace(b)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func (c *wsClient) rawFrames() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.frames...)
}

// nextRaw returns the next message and its exact decoded bytes.
func (c *wsClient) nextRaw() (events.Envelope, []byte) {
	c.t.Helper()
	select {
	case env, ok := <-c.msgs:
		if !ok {
			c.t.Fatalf("connection ended: %v", c.readErr())
		}
		return env, <-c.raw
	case <-time.After(testTimeout):
		c.t.Fatal("no message in time")
	}
	return events.Envelope{}, nil
}

// ended reports whether the message stream has ended, waiting up to testTimeout.
func (c *wsClient) waitEnd() {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(testTimeout):
		c.t.Fatal("connection did not end")
	}
}

// closeWith sends a close frame with code and waits for the connection to end.
func (c *wsClient) closeWith(code int) {
	c.t.Helper()
	msg := websocket.FormatCloseMessage(code, "")
	if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(testTimeout)); err != nil {
		c.t.Fatal(err)
	}
	c.waitEnd()
}
