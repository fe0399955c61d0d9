// Package rpcsim simulates the RPC side of the Discord desktop app, on both of its
// transports: the IPC socket (discord-ipc-N, framed JSON) and the local websocket
// (ws://127.0.0.1:PORT/?v=1&client_id=…&encoding=json). It checks handshakes as the app does
// (client id, version, encoding, websocket Origin), sends READY, answers commands by nonce,
// dispatches voice, speaking, guild and message events to subscribers when a test asks, sends
// the documented errors and close codes, restarts on demand, and serves a fake
// POST /oauth2/token so AUTHENTICATE can be reached the way a real application reaches it.
//
// It is written from Discord's documentation and never imports the client it tests.
package rpcsim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
)

// DefaultClientID is the application id the simulator accepts unless WithClientIDs says
// otherwise.
const DefaultClientID = "424242424242424242"

// DefaultClientSecret is the application's secret for the token endpoint.
const DefaultClientSecret = "sim-client-secret"

// DefaultOrigin is the RPC origin the simulated application allows.
const DefaultOrigin = "https://localhost"

// Ids of the world the simulator starts with: one guild with a text and a voice channel, and
// the local user.
const (
	GuildID        events.Snowflake = 81000000000000001
	TextChannelID  events.Snowflake = 81000000000000002
	VoiceChannelID events.Snowflake = 81000000000000003
	UserID         events.Snowflake = 81000000000000004
)

type config struct {
	clientIDs    []string
	secret       string
	redirects    []string
	origins      []string
	ipcDir       string
	websocket    bool
	portFrom     int
	portTo       int
	clock        clock.Clock
	restartDelay time.Duration
	user         events.User
	limitN       int
	limitPer     time.Duration
}

// Option configures a Server.
type Option func(*config)

// WithClientIDs sets the application ids the app knows (default DefaultClientID).
func WithClientIDs(ids ...string) Option { return func(c *config) { c.clientIDs = ids } }

// WithClientSecret sets the secret the token endpoint wants (default DefaultClientSecret).
func WithClientSecret(s string) Option { return func(c *config) { c.secret = s } }

// WithRedirectURIs sets the redirect URIs the token endpoint accepts; with none (the default)
// it accepts any, or none.
func WithRedirectURIs(uris ...string) Option { return func(c *config) { c.redirects = uris } }

// WithOrigins sets the websocket origins the application allows (default DefaultOrigin).
func WithOrigins(origins ...string) Option { return func(c *config) { c.origins = origins } }

// WithIPCDir turns the IPC transport on: the server listens on dir/discord-ipc-N, for the
// first N from 0 to 9 that is free, as the app does. Off by default.
func WithIPCDir(dir string) Option { return func(c *config) { c.ipcDir = dir } }

// WithWebsocket turns the websocket transport on or off (default on).
func WithWebsocket(on bool) Option { return func(c *config) { c.websocket = on } }

// WithPortRange makes the websocket take the first free port in [from, to], as the app does
// with 6463–6472. By default it takes any free port.
func WithPortRange(from, to int) Option { return func(c *config) { c.portFrom, c.portTo = from, to } }

// WithClock sets the clock for the restart pause, handshake rate limit and token expiry
// (default the wall clock).
func WithClock(k clock.Clock) Option { return func(c *config) { c.clock = k } }

// WithRestartDelay sets how long Restart refuses connections (default 2 s of clock time).
func WithRestartDelay(d time.Duration) Option { return func(c *config) { c.restartDelay = d } }

// WithUser sets the user logged in to the simulated app.
func WithUser(u events.User) Option { return func(c *config) { c.user = u } }

// WithHandshakeLimit closes handshakes beyond n per window with 4002 (rate limited). Off by
// default.
func WithHandshakeLimit(n int, per time.Duration) Option {
	return func(c *config) { c.limitN, c.limitPer = n, per }
}

// Server is a running simulated desktop app. All methods are safe for concurrent use.
type Server struct {
	cfg  config
	quit chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	down     bool
	upCh     chan struct{}
	ipcPath  string
	ipcLn    net.Listener
	wsPort   int
	wsLn     net.Listener
	wsSrv    *http.Server
	apiLn    net.Listener
	apiSrv   *http.Server
	conns    map[*conn]struct{}
	world    world
	grants   grants
	faults   faults
	ledger   []string
	shakes   []time.Time
	activity activityRecord
}

type activityRecord struct {
	set  bool
	pid  int
	data []byte // the activity JSON, nil when cleared
}

type faults struct {
	handshakes []closeSpec
	next       map[string][]errorSpec
	deny       bool
}

type closeSpec struct {
	code int
	msg  string
}

type errorSpec struct {
	code int
	msg  string
}

// Start starts a server. Close it when done.
func Start(opts ...Option) (*Server, error) {
	cfg := config{
		clientIDs:    []string{DefaultClientID},
		secret:       DefaultClientSecret,
		origins:      []string{DefaultOrigin},
		websocket:    true,
		clock:        clock.Real(),
		restartDelay: 2 * time.Second,
		user:         events.User{ID: UserID, Username: "simuser", Discriminator: "0"},
	}
	for _, o := range opts {
		o(&cfg)
	}
	if !cfg.websocket && cfg.ipcDir == "" {
		return nil, errors.New("rpcsim: no transport: give WithIPCDir or keep the websocket")
	}
	s := &Server{
		cfg:   cfg,
		quit:  make(chan struct{}),
		conns: map[*conn]struct{}{},
		world: newWorld(cfg.user),
		upCh:  make(chan struct{}),
	}
	close(s.upCh)
	s.grants.init()
	if err := s.startAPI(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	err := s.listenLocked()
	s.mu.Unlock()
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// NewServer starts a server for a test and closes it when the test ends.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := Start(opts...)
	if err != nil {
		tb.Fatalf("rpcsim: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// listenLocked opens the app's sockets. On the first start it picks the IPC index and port;
// after a restart it takes the same ones again.
func (s *Server) listenLocked() error {
	if s.cfg.ipcDir != "" {
		if s.ipcPath == "" {
			var err error
			for i := 0; i < 10; i++ {
				p := filepath.Join(s.cfg.ipcDir, "discord-ipc-"+strconv.Itoa(i))
				if _, statErr := os.Stat(p); statErr == nil {
					continue // another app instance has it
				}
				var ln net.Listener
				ln, err = net.Listen("unix", p)
				if err == nil {
					s.ipcPath, s.ipcLn = p, ln
					break
				}
			}
			if s.ipcLn == nil {
				return fmt.Errorf("rpcsim: no free discord-ipc-N in %s: %v", s.cfg.ipcDir, err)
			}
		} else {
			_ = os.Remove(s.ipcPath)
			ln, err := net.Listen("unix", s.ipcPath)
			if err != nil {
				return fmt.Errorf("rpcsim: listen %s: %w", s.ipcPath, err)
			}
			s.ipcLn = ln
		}
		ln := s.ipcLn
		s.wg.Go(func() { s.acceptIPC(ln) })
	}
	if s.cfg.websocket {
		var ln net.Listener
		var err error
		switch {
		case s.wsPort != 0:
			ln, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(s.wsPort))
		case s.cfg.portFrom != 0:
			for p := s.cfg.portFrom; p <= s.cfg.portTo; p++ {
				if ln, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
					break
				}
			}
		default:
			ln, err = listenStablePort()
		}
		if err != nil {
			return fmt.Errorf("rpcsim: websocket listen: %w", err)
		}
		s.wsLn = ln
		s.wsPort = ln.Addr().(*net.TCPAddr).Port
		srv := &http.Server{Handler: http.HandlerFunc(s.serveWS), ReadHeaderTimeout: 5 * time.Second}
		s.wsSrv = srv
		s.wg.Go(func() { _ = srv.Serve(ln) })
	}
	return nil
}

// closeListenersLocked stops accepting; the socket file goes too, as when the app exits.
func (s *Server) closeListenersLocked() {
	if s.ipcLn != nil {
		s.ipcLn.Close()
		s.ipcLn = nil
	}
	if s.wsSrv != nil {
		s.wsSrv.Close()
		s.wsSrv, s.wsLn = nil, nil
	}
}

// IPCPath is the socket path the server listens on ("" without WithIPCDir).
func (s *Server) IPCPath() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ipcPath
}

// Port is the websocket port (0 without the websocket).
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wsPort
}

// APIBase is the base URL of the fake REST API, e.g. http://127.0.0.1:PORT/api; POST
// APIBase+"/oauth2/token" exchanges codes.
func (s *Server) APIBase() string {
	return "http://" + s.apiLn.Addr().String() + "/api"
}

// Close stops the server, drops every connection and waits for every goroutine.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return
	}
	s.closed = true
	close(s.quit)
	s.closeListenersLocked()
	if s.apiSrv != nil {
		s.apiSrv.Close()
	}
	cs := s.connsLocked()
	s.mu.Unlock()
	for _, c := range cs {
		c.drop()
	}
	s.wg.Wait()
	if s.ipcPath != "" {
		_ = os.Remove(s.ipcPath)
	}
}

// Restart behaves like the app quitting and starting again: every connection drops without a
// close frame, nothing is accepted for the restart delay (clock time), then the same socket
// path and port accept again. Subscriptions and authentication are per connection, so they
// are gone; the world (guilds, voice states, tokens) stays. The channel closes once the
// server accepts again.
func (s *Server) Restart() <-chan struct{} {
	s.mu.Lock()
	if s.closed || s.down {
		ch := s.upCh
		s.mu.Unlock()
		return ch
	}
	s.down = true
	up := make(chan struct{})
	s.upCh = up
	s.closeListenersLocked()
	cs := s.connsLocked()
	s.activity = activityRecord{}
	if s.world.selected != 0 { // quitting the app leaves voice
		s.world.leave(s.world.selected, s.world.user.ID)
		s.world.selected = 0
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.drop()
	}
	s.wg.Go(func() {
		defer close(up)
		if !clock.Sleep(s.cfg.clock, s.cfg.restartDelay, s.quit) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		if err := s.listenLocked(); err != nil {
			// The port was taken meanwhile; stay down, as an app that failed to start.
			return
		}
		s.down = false
	})
	return up
}

// Up returns a channel closed while the server accepts connections (after Start, and after
// a Restart completes).
func (s *Server) Up() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upCh
}

func (s *Server) connsLocked() []*conn {
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	return cs
}

// Connections is how many clients are connected and past the handshake.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		if c.ready {
			n++
		}
	}
	return n
}

// Commands returns the command names received so far, in order, across connections.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ledger...)
}

// Subscriptions lists the live subscriptions across connections as "EVENT" or
// "EVENT channel_id" or "EVENT guild_id", sorted.
func (s *Server) Subscriptions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for c := range s.conns {
		for k := range c.subs {
			out = append(out, k.String())
		}
	}
	sortStrings(out)
	return out
}

// Activity returns the rich presence last set (its JSON) and the pid it was set for; ok is
// false if none is set.
func (s *Server) Activity() (activity []byte, pid int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.activity.data...), s.activity.pid, s.activity.set
}

// FailNextHandshakes makes the next n connections close with code and message right after
// the handshake, e.g. 4002 to simulate rate limiting.
func (s *Server) FailNextHandshakes(n, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.faults.handshakes = append(s.faults.handshakes, closeSpec{code, message})
	}
}

// FailNext makes the next command named cmd answer an ERROR with code and message.
func (s *Server) FailNext(cmd string, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.next == nil {
		s.faults.next = map[string][]errorSpec{}
	}
	s.faults.next[cmd] = append(s.faults.next[cmd], errorSpec{code, message})
}

// DenyAuthorize makes AUTHORIZE answer as if the user clicked Cancel (5000).
func (s *Server) DenyAuthorize(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.deny = deny
}

// CloseAll closes every connection with a close code, as the app does on its own errors.
func (s *Server) CloseAll(code int, message string) {
	s.mu.Lock()
	cs := s.connsLocked()
	s.mu.Unlock()
	for _, c := range cs {
		c.closeWith(code, message)
	}
}

// RevokeToken revokes an access token: AUTHENTICATE refuses it from now on, and connections
// authenticated with it close with 4003.
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	delete(s.grants.tokens, token)
	var hit []*conn
	for c := range s.conns {
		if c.token == token {
			hit = append(hit, c)
		}
	}
	s.mu.Unlock()
	for _, c := range hit {
		c.closeWith(4003, "Token revoked")
	}
}

// checkHandshakeLocked says how to close a new connection, if at all.
func (s *Server) checkHandshakeLocked() (closeSpec, bool) {
	if len(s.faults.handshakes) > 0 {
		f := s.faults.handshakes[0]
		s.faults.handshakes = s.faults.handshakes[1:]
		return f, true
	}
	if s.cfg.limitN > 0 {
		now := s.cfg.clock.Now()
		keep := s.shakes[:0]
		for _, t := range s.shakes {
			if now.Sub(t) < s.cfg.limitPer {
				keep = append(keep, t)
			}
		}
		s.shakes = keep
		if len(s.shakes) >= s.cfg.limitN {
			return closeSpec{4002, "Rate limited"}, true
		}
		s.shakes = append(s.shakes, now)
	}
	return closeSpec{}, false
}

func (s *Server) knownClient(id string) bool {
	for _, k := range s.cfg.clientIDs {
		if k == id {
			return true
		}
	}
	return false
}

// upgrader accepts every origin at the HTTP level: the app checks Origin after the upgrade and
// answers a bad one with close code 4001, so the client learns why.
var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// listenStablePort listens on a random loopback port below the ephemeral ranges operating
// systems give outgoing connections (32768–60999 on Linux, 49152–65535 elsewhere): Restart
// closes the port and binds it again, and a port from those ranges could meanwhile become the
// local end of some other process's connection. When no port there is free, any free port.
func listenStablePort() (net.Listener, error) {
	for range 32 {
		port := 20000 + rand.IntN(12000)
		if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			return ln, nil
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}
