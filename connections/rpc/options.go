package rpc

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
)

// Transport is one of the two ways the desktop app takes RPC connections.
type Transport int

// Transports.
const (
	// IPC is the local socket: discord-ipc-N (a Unix socket, or a named pipe on Windows).
	IPC Transport = iota + 1
	// Websocket is ws://127.0.0.1:PORT on ports 6463–6472. The app checks the Origin header
	// against the application's allowed RPC origins.
	Websocket
)

func (t Transport) String() string {
	switch t {
	case IPC:
		return "ipc"
	case Websocket:
		return "websocket"
	}
	return fmt.Sprintf("Transport(%d)", int(t))
}

// defaultPorts are the ports the app tries, in order, for its local websocket server.
var defaultPorts = []int{6463, 6464, 6465, 6466, 6467, 6468, 6469, 6470, 6471, 6472}

// DefaultPorts returns 6463 through 6472, the ports the app binds its websocket to.
func DefaultPorts() []int { return append([]int(nil), defaultPorts...) }

// DefaultAPIBase is where the default TokenExchanger posts the code-for-token exchange.
const DefaultAPIBase = "https://discord.com/api"

// DefaultOrigin is the Origin header sent on the websocket unless WithOrigin says otherwise;
// the app must list it among the application's RPC origins.
const DefaultOrigin = "https://localhost"

// Backoff is the reconnect delay: Base after the first failure, times Multiplier after each
// further one, never more than Max, then spread by ±Jitter (a fraction) so that many clients
// do not come back at once.
type Backoff struct {
	Base       time.Duration
	Max        time.Duration
	Multiplier float64
	Jitter     float64
}

// defaultBackoff is 1 s, ×1.6, at most 30 s, ±20 %.
var defaultBackoff = Backoff{Base: time.Second, Max: 30 * time.Second, Multiplier: 1.6, Jitter: 0.2}

// DefaultBackoff returns the backoff used unless WithBackoff says otherwise.
func DefaultBackoff() Backoff { return defaultBackoff }

// Delay is the wait before reconnect attempt n (0 for the first) given r, a random number in
// [0, 1): the exponential delay capped at Max, then jittered; the jitter never lifts it above
// Max.
func (b Backoff) Delay(n int, r float64) time.Duration {
	d := float64(b.Base)
	for i := 0; i < n && d < float64(b.Max); i++ {
		d *= b.Multiplier
	}
	if d > float64(b.Max) {
		d = float64(b.Max)
	}
	d *= 1 + b.Jitter*(2*r-1)
	if d > float64(b.Max) {
		d = float64(b.Max)
	}
	if d < 0 {
		d = 0
	}
	return time.Duration(d)
}

func (b Backoff) validate() error {
	if b.Base <= 0 || b.Max < b.Base || b.Multiplier < 1 || b.Jitter < 0 || b.Jitter >= 1 {
		return fmt.Errorf("%w: WithBackoff: need 0 < Base ≤ Max, Multiplier ≥ 1, 0 ≤ Jitter < 1", ErrInvalidOption)
	}
	return nil
}

type config struct {
	log           *zap.Logger
	clock         clock.Clock
	transports    []Transport
	ipcPaths      []string
	ports         []int
	origin        string
	backoff       Backoff
	maxReconnects int
	maxFrame      int
	dialTimeout   time.Duration
	eventBuffer   int
	pid           int
	exchanger     TokenExchanger
	apiBase       string
	httpClient    *http.Client
}

func defaultConfig() *config {
	return &config{
		log:         zap.NewNop(),
		clock:       clock.Real(),
		transports:  []Transport{IPC, Websocket},
		ports:       DefaultPorts(),
		origin:      DefaultOrigin,
		backoff:     defaultBackoff,
		maxFrame:    DefaultMaxFrameSize,
		dialTimeout: 3 * time.Second,
		eventBuffer: 64,
		pid:         os.Getpid(),
		apiBase:     DefaultAPIBase,
	}
}

func (c *config) validate() error {
	if len(c.transports) == 0 {
		return fmt.Errorf("%w: WithTransports: none given", ErrInvalidOption)
	}
	for _, t := range c.transports {
		if t != IPC && t != Websocket {
			return fmt.Errorf("%w: WithTransports: unknown transport %v", ErrInvalidOption, t)
		}
	}
	for _, p := range c.ports {
		if p <= 0 || p > 65535 {
			return fmt.Errorf("%w: WithPorts: port %d", ErrInvalidOption, p)
		}
	}
	if err := c.backoff.validate(); err != nil {
		return err
	}
	if c.maxFrame < 64 {
		return fmt.Errorf("%w: WithMaxFrameSize: %d is below 64 bytes", ErrInvalidOption, c.maxFrame)
	}
	if c.dialTimeout <= 0 {
		return fmt.Errorf("%w: WithDialTimeout: %v", ErrInvalidOption, c.dialTimeout)
	}
	if c.eventBuffer < 1 {
		return fmt.Errorf("%w: WithEventBuffer: %d", ErrInvalidOption, c.eventBuffer)
	}
	if c.maxReconnects < 0 {
		return fmt.Errorf("%w: WithMaxReconnects: %d", ErrInvalidOption, c.maxReconnects)
	}
	return nil
}

// Option configures Dial.
type Option func(*config)

// WithLogger sets the logger (default zap.NewNop()). Nil means Nop.
func WithLogger(l *zap.Logger) Option {
	return func(c *config) {
		if l == nil {
			l = zap.NewNop()
		}
		c.log = l
	}
}

// WithClock sets the clock the reconnect backoff waits on (default the wall clock). Tests use
// a manual or scaled clock.
func WithClock(k clock.Clock) Option {
	return func(c *config) {
		if k != nil {
			c.clock = k
		}
	}
}

// WithTransports sets which transports to try, in order (default IPC, then Websocket).
func WithTransports(t ...Transport) Option {
	return func(c *config) { c.transports = append([]Transport(nil), t...) }
}

// WithIPCPaths sets the exact socket paths (or pipe names) to try, in order, instead of
// DefaultIPCPaths().
func WithIPCPaths(paths ...string) Option {
	return func(c *config) { c.ipcPaths = append([]string(nil), paths...) }
}

// WithPorts sets the websocket ports to try, in order (default DefaultPorts(): 6463–6472).
func WithPorts(ports ...int) Option {
	return func(c *config) { c.ports = append([]int(nil), ports...) }
}

// WithOrigin sets the websocket Origin header (default DefaultOrigin, "https://localhost").
// It must be one of the application's RPC origins in the developer portal.
func WithOrigin(origin string) Option { return func(c *config) { c.origin = origin } }

// WithBackoff sets the reconnect backoff (default DefaultBackoff()).
func WithBackoff(b Backoff) Option { return func(c *config) { c.backoff = b } }

// WithMaxReconnects makes the client give up after n failed reconnect attempts in a row
// (default 0: never give up; the app may be closed for hours and come back).
func WithMaxReconnects(n int) Option { return func(c *config) { c.maxReconnects = n } }

// WithMaxFrameSize bounds one incoming frame or websocket message (default
// DefaultMaxFrameSize). A peer that sends more is disconnected with ErrFrameTooLarge.
func WithMaxFrameSize(n int) Option { return func(c *config) { c.maxFrame = n } }

// WithDialTimeout bounds connecting to one endpoint, handshake and READY included (default
// 3 s).
func WithDialTimeout(d time.Duration) Option { return func(c *config) { c.dialTimeout = d } }

// WithEventBuffer sets how many events may wait between the connection reader and the out
// channel (default 64). When it is full the reader waits, so answers to commands wait too.
func WithEventBuffer(n int) Option { return func(c *config) { c.eventBuffer = n } }

// WithPID sets the process id SET_ACTIVITY reports (default os.Getpid()). The app clears the
// presence when that process exits.
func WithPID(pid int) Option { return func(c *config) { c.pid = pid } }

// WithTokenExchanger sets what Login uses to turn an authorization code into a token. Pass the
// bot's *messaging.Client here; without one the default is an HTTPTokenExchanger on
// WithAPIBase and WithHTTPClient.
func WithTokenExchanger(x TokenExchanger) Option { return func(c *config) { c.exchanger = x } }

// WithAPIBase sets the API base URL for the default token exchanger (default
// DefaultAPIBase). Tests point it at the simulator.
func WithAPIBase(url string) Option { return func(c *config) { c.apiBase = url } }

// WithHTTPClient sets the HTTP client for the default token exchanger (default
// http.DefaultClient with a 10 s timeout per exchange).
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }
