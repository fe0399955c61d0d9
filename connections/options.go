package connections

import (
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/shardctl"
)

// Compression is the gateway transport compression.
type Compression int

const (
	// None: plain JSON frames (about 20 KiB per idle shard, heap and goroutine stacks, as
	// measured in docs/benchmarks.md).
	None Compression = iota
	// ZlibStream: compress=zlib-stream, one shared deflate stream per connection (about 57 KiB
	// per idle shard, most of it the 32 KiB inflate window).
	ZlibStream
	// ZstdStream: compress=zstd-stream, faster to decode but about 1.4 MiB per shard: the
	// decoder holds the stream's window (the server's choice; 1 MiB from the simulator) and
	// its block buffers.
	ZstdStream
)

func (c Compression) String() string {
	switch c {
	case None:
		return "none"
	case ZlibStream:
		return "zlib-stream"
	case ZstdStream:
		return "zstd-stream"
	}
	return "invalid"
}

// Overflow is what happens when the consumer reads the out channel more slowly than events
// arrive. Events wait in a queue between the shards' readers and the out channel, so a slow
// consumer never stalls heartbeats or reads.
type Overflow struct {
	limit int // 0: never drop
}

// OverflowBuffer, the default, never drops: the queue grows until the consumer catches up, and
// Observer.OutQueue reports its depth.
var OverflowBuffer = Overflow{}

// OverflowDrop sheds load: once limit events wait, new dispatches are discarded (runtime
// events never are), counted per shard and reported by an EventsDropped event as soon as
// there is room again.
func OverflowDrop(limit int) Overflow { return Overflow{limit: max(limit, 1)} }

// Backoff is the reconnect delay schedule: the first retry after a connection that worked goes
// within Base × Jitter, the n-th consecutive one after Base × Multiplier^(n-2), at most Max,
// spread by ±Jitter (a fraction).
type Backoff struct {
	Base       time.Duration
	Multiplier float64
	Jitter     float64
	Max        time.Duration
}

// DefaultBackoff: 1 s, ×1.6, ±20 %, at most 2 min.
var DefaultBackoff = Backoff{Base: time.Second, Multiplier: 1.6, Jitter: 0.2, Max: 2 * time.Minute}

// Option configures ConnectBot, ConnectShards and GetWebsocketGateway.
type Option func(*config)

type config struct {
	intents        events.Intent
	compression    Compression
	largeThreshold int
	presence       *events.PresenceUpdate
	apiURL         string
	gatewayURL     string
	log            *zap.Logger
	clock          clock.Clock
	overflow       Overflow
	observer       Observer
	gate           shardctl.Gate
	shardCount     int
	httpClient     *http.Client
	dialer         *websocket.Dialer
	backoff        Backoff
	reshardCheck   time.Duration // WithReShardCheck (reshard.go)
	reshardRetry   ReShardRetry  // WithReShardRetry (reshard.go)
	errs           []error
}

func defaultConfig() config {
	return config{
		intents:      events.IntentsNonPrivileged,
		compression:  ZlibStream,
		apiURL:       DefaultAPIURL,
		log:          zap.NewNop(),
		clock:        clock.Real(),
		observer:     NopObserver{},
		httpClient:   http.DefaultClient,
		backoff:      DefaultBackoff,
		reshardRetry: DefaultReShardRetry,
	}
}

func (c *config) fail(err error) { c.errs = append(c.errs, err) }

// WithIntents sets the gateway intents (default events.IntentsNonPrivileged).
func WithIntents(i events.Intent) Option {
	return func(c *config) {
		if i.Unknown() != 0 {
			c.fail(optionError("WithIntents", "bits %d are not gateway intents", uint64(i.Unknown())))
		}
		c.intents = i
	}
}

// WithCompression sets the transport compression (default ZlibStream).
func WithCompression(comp Compression) Option {
	return func(c *config) {
		if comp < None || comp > ZstdStream {
			c.fail(optionError("WithCompression", "unknown compression %d", int(comp)))
		}
		c.compression = comp
	}
}

// WithLargeThreshold sets Identify's large_threshold, 50–250 (default: Discord's, 50).
func WithLargeThreshold(n int) Option {
	return func(c *config) {
		if n < 50 || n > 250 {
			c.fail(optionError("WithLargeThreshold", "%d is outside 50–250", n))
		}
		c.largeThreshold = n
	}
}

// WithPresence sets the presence sent in Identify.
func WithPresence(p events.PresenceUpdate) Option {
	return func(c *config) { c.presence = &p }
}

// WithAPIURL sets the REST base URL used for GET /gateway/bot (default DefaultAPIURL), for
// example a fakediscord server's RESTURL.
func WithAPIURL(u string) Option {
	return func(c *config) {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			c.fail(optionError("WithAPIURL", "%q is not an http(s) URL", u))
		}
		c.apiURL = strings.TrimRight(u, "/")
	}
}

// WithGatewayURL overrides the gateway URL that GET /gateway/bot returned.
func WithGatewayURL(u string) Option {
	return func(c *config) {
		if !strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://") {
			c.fail(optionError("WithGatewayURL", "%q is not a ws(s) URL", u))
		}
		c.gatewayURL = u
	}
}

// WithLogger sets the logger (default zap.NewNop(); nil means the default). The runtime logs
// lifecycle at Info, recoverable trouble at Warn and per-event detail at Debug.
func WithLogger(l *zap.Logger) Option {
	return func(c *config) {
		if l == nil {
			l = zap.NewNop()
		}
		c.log = l
	}
}

// WithClock sets the clock for heartbeats, backoff and send windows (default: the wall clock).
// Tests use a scaled clock.
func WithClock(clk clock.Clock) Option {
	return func(c *config) {
		if clk != nil {
			c.clock = clk
		}
	}
}

// WithOverflow sets the slow-consumer policy (default OverflowBuffer: never drop).
func WithOverflow(o Overflow) Option { return func(c *config) { c.overflow = o } }

// WithObserver sets the metrics observer (default: none; nil means none).
func WithObserver(o Observer) Option {
	return func(c *config) {
		if o == nil {
			o = NopObserver{}
		}
		c.observer = o
	}
}

// WithIdentifyGate sets the gate every identify goes through (discljord's :identify-when).
// Default: a shardctl.LocalGate for the gateway's max_concurrency, capped at the remaining
// session-start budget. Share one gate between connections of one process, or use a
// cross-process gate when several processes run shards of one bot.
func WithIdentifyGate(g shardctl.Gate) Option { return func(c *config) { c.gate = g } }

// WithShardCount sets the total shard count instead of the one GET /gateway/bot recommends.
func WithShardCount(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail(optionError("WithShardCount", "%d, want at least 1", n))
		}
		c.shardCount = n
	}
}

// WithHTTPClient sets the HTTP client for GET /gateway/bot (default http.DefaultClient).
func WithHTTPClient(h *http.Client) Option {
	return func(c *config) {
		if h != nil {
			c.httpClient = h
		}
	}
}

// WithDialer sets the websocket dialer (default: a dialer with small buffers and a shared
// write-buffer pool).
func WithDialer(d *websocket.Dialer) Option { return func(c *config) { c.dialer = d } }

// WithBackoff sets the reconnect backoff (default DefaultBackoff).
func WithBackoff(b Backoff) Option {
	return func(c *config) {
		if b.Base <= 0 || b.Max < b.Base || b.Multiplier < 1 || b.Jitter < 0 || b.Jitter > 1 {
			c.fail(optionError("WithBackoff", "want Base > 0, Max ≥ Base, Multiplier ≥ 1, Jitter in [0,1]"))
		}
		c.backoff = b
	}
}

func newConfig(opts []Option) (*config, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if len(c.errs) > 0 {
		return nil, c.errs[0]
	}
	return &c, nil
}
