package messaging

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
)

// Version is the library version sent in the User-Agent.
const Version = "0.1.0"

// DefaultBaseURL is Discord's REST base, with the API version.
const DefaultBaseURL = "https://discord.com/api/v10"

// Client is a Discord REST client. Make one with New and share it: it is safe for concurrent
// use by any number of goroutines, and all shards of a bot should use the same Client so that
// they share the rate limits, which Discord counts per bot.
//
// A Client starts no goroutines; requests wait for their rate limits in the caller's goroutine,
// so there is nothing to close.
type Client struct {
	token *secret // behind a pointer so that %+v prints an address, not the token
	cfg   config
	base  string
	ua    string
	lim   *limiter
	inv   *invalidWindow
	// badToken is set after a 401 on a bot route: the token is dead, every further bot request
	// would be another invalid request.
	badToken atomic.Bool
	stats    stats
}

type secret struct{ v string }

// String hides the token from fmt.
func (secret) String() string { return "[redacted]" }

// GoString hides the token from %#v.
func (secret) GoString() string { return "[redacted]" }

type config struct {
	baseURL       string
	httpClient    *http.Client
	log           *zap.Logger
	clk           clock.Clock
	observer      Observer
	uaSuffix      string
	maxRetries    int
	globalLimit   int
	globalWindow  time.Duration
	globalMargin  time.Duration
	invalidLimit  int
	invalidMargin int
	maxBody       int64
}

// Option configures a Client.
type Option func(*config)

// WithBaseURL sets the REST base including the version path (default
// https://discord.com/api/v10). Tests point it at a simulator.
func WithBaseURL(u string) Option { return func(c *config) { c.baseURL = u } }

// WithHTTPClient sets the HTTP client (default a client with a 30 s timeout). The Client sets
// Accept-Encoding itself and decodes Brotli and gzip bodies.
func WithHTTPClient(h *http.Client) Option { return func(c *config) { c.httpClient = h } }

// WithLogger sets the logger (default zap.NewNop()). 429s and retries are logged at Warn, each
// request at Debug. The token is never logged, nor are interaction tokens: routes are logged as
// templates.
func WithLogger(l *zap.Logger) Option { return func(c *config) { c.log = l } }

// WithClock sets the clock the rate limits run on (default clock.Real()). A simulator and a
// client given clocks of the same scale agree on every window.
func WithClock(clk clock.Clock) Option { return func(c *config) { c.clk = clk } }

// WithObserver sets an Observer told about every request sent (default none).
func WithObserver(o Observer) Option { return func(c *config) { c.observer = o } }

// WithUserAgent appends text to the User-Agent, which always starts with
// "DiscordBot (https://github.com/cordage/cordage, <Version>)" as Discord requires.
func WithUserAgent(suffix string) Option { return func(c *config) { c.uaSuffix = suffix } }

// WithMaxRetries sets how many times a request is re-sent after a 429 or a 502/503/504 on an
// idempotent method (default 3). 0 turns retries off.
func WithMaxRetries(n int) Option { return func(c *config) { c.maxRetries = n } }

// WithGlobalLimit sets the global limit the client keeps to: requests per window (default 50
// per second, Discord's default; large bots may have been granted more). The client keeps
// margin on top of the window (default 100 ms) so that jitter in network latency does not turn
// a burst that was legal when sent into one that is not when it arrives. requests 0 turns the
// client-side global limit off (Discord's global 429s are still honoured).
func WithGlobalLimit(requests int, window, margin time.Duration) Option {
	return func(c *config) { c.globalLimit, c.globalWindow, c.globalMargin = requests, window, margin }
}

// WithInvalidRequestLimit sets Discord's invalid-request ban threshold (default 10,000 per 10
// minutes) and the safety margin below it (default 500): once limit-margin 401, 403 and
// non-shared 429 answers were received in the last 10 minutes, the client refuses to send with
// ErrInvalidRequestLimit until the window has room again.
func WithInvalidRequestLimit(limit, margin int) Option {
	return func(c *config) { c.invalidLimit, c.invalidMargin = limit, margin }
}

func defaultConfig() config {
	return config{
		baseURL:       DefaultBaseURL,
		log:           zap.NewNop(),
		clk:           clock.Real(),
		maxRetries:    3,
		globalLimit:   50,
		globalWindow:  time.Second,
		globalMargin:  100 * time.Millisecond,
		invalidLimit:  10000,
		invalidMargin: 500,
		maxBody:       64 << 20,
	}
}

// New returns a Client for a bot token; a leading "Bot " is dropped, the client adds it. It
// fails with an error wrapping ErrInvalidOption for an empty or malformed token or a bad
// option.
func New(token string, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	token = strings.TrimPrefix(token, "Bot ")
	if token == "" {
		return nil, fmt.Errorf("%w: empty token", ErrInvalidOption)
	}
	if strings.ContainsAny(token, " \t\r\n") {
		return nil, fmt.Errorf("%w: token contains whitespace", ErrInvalidOption)
	}
	u, err := url.Parse(cfg.baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: WithBaseURL: need an absolute http(s) URL", ErrInvalidOption)
	}
	if cfg.log == nil {
		cfg.log = zap.NewNop()
	}
	if cfg.clk == nil {
		cfg.clk = clock.Real()
	}
	if cfg.httpClient == nil {
		cfg.httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.maxRetries < 0 {
		return nil, fmt.Errorf("%w: WithMaxRetries: negative", ErrInvalidOption)
	}
	if cfg.globalLimit < 0 || cfg.globalWindow <= 0 || cfg.globalMargin < 0 {
		return nil, fmt.Errorf("%w: WithGlobalLimit: need requests ≥ 0, window > 0, margin ≥ 0", ErrInvalidOption)
	}
	if cfg.invalidLimit <= 0 || cfg.invalidMargin < 0 || cfg.invalidMargin >= cfg.invalidLimit {
		return nil, fmt.Errorf("%w: WithInvalidRequestLimit: need 0 ≤ margin < limit", ErrInvalidOption)
	}
	if strings.ContainsAny(cfg.uaSuffix, "\r\n") {
		return nil, fmt.Errorf("%w: WithUserAgent: control characters", ErrInvalidOption)
	}
	ua := "DiscordBot (https://github.com/cordage/cordage, " + Version + ")"
	if cfg.uaSuffix != "" {
		ua += " " + cfg.uaSuffix
	}
	return &Client{
		token: &secret{v: token},
		cfg:   cfg,
		base:  strings.TrimRight(cfg.baseURL, "/"),
		ua:    ua,
		lim:   newLimiter(cfg.clk, cfg.globalLimit, cfg.globalWindow+cfg.globalMargin),
		inv:   &invalidWindow{window: 10 * time.Minute},
	}, nil
}

// UserAgent returns the User-Agent the client sends.
func (c *Client) UserAgent() string { return c.ua }

// Observer is told about every request the client sends, retries included. It is called from
// the requesting goroutine and must be fast and safe for concurrent use.
type Observer interface {
	ObserveRequest(RequestInfo)
}

// RequestInfo describes one sent request and its outcome.
type RequestInfo struct {
	Method string
	// Route is the template, e.g. "/channels/{channel.id}/messages".
	Route string
	// Bucket is the X-RateLimit-Bucket of the answer, when it had one.
	Bucket string
	// Status is the HTTP status, 0 when no answer came.
	Status int
	// Attempt counts from 1; more than 1 is a retry.
	Attempt int
	// Queued is the clock time spent waiting for the rate limits; Latency the time from
	// sending to the end of the answer.
	Queued  time.Duration
	Latency time.Duration
	// Scope and RetryAfter are set for 429 answers.
	Scope      Scope
	RetryAfter time.Duration
	// Retrying is true when the client will send the request again.
	Retrying bool
}

// Stats is a snapshot of a Client's counters.
type Stats struct {
	// Requests counts requests sent (each retry counts).
	Requests int64
	// Retries counts re-sends after a 429 or a 5xx.
	Retries int64
	// RateLimited counts 429 answers by scope.
	RateLimited map[Scope]int64
	// Invalid is the number of 401, 403 and non-shared 429 answers in the last 10 minutes.
	Invalid int
	// Refused counts requests refused because of the invalid-request limit or a dead token.
	Refused int64
	// Buckets is how many rate-limit buckets the client tracks.
	Buckets int
}

type stats struct {
	requests, retries, refused           atomic.Int64
	limitedUser, limitedGlobal, limShare atomic.Int64
	limitedOther                         atomic.Int64
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	c.lim.mu.Lock()
	n := len(c.lim.buckets)
	c.lim.mu.Unlock()
	return Stats{
		Requests: c.stats.requests.Load(),
		Retries:  c.stats.retries.Load(),
		RateLimited: map[Scope]int64{
			ScopeUser: c.stats.limitedUser.Load(), ScopeGlobal: c.stats.limitedGlobal.Load(),
			ScopeShared: c.stats.limShare.Load(), ScopeCloudflare: c.stats.limitedOther.Load(),
		},
		Invalid: c.inv.count(c.cfg.clk.Now()),
		Refused: c.stats.refused.Load(),
		Buckets: n,
	}
}

// CloseIdleConnections closes the HTTP client's idle keep-alive connections, as
// http.Client.CloseIdleConnections does. The Client stays usable.
func (c *Client) CloseIdleConnections() { c.cfg.httpClient.CloseIdleConnections() }
