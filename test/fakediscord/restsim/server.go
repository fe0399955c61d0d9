package restsim

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
)

// Scope is the X-RateLimit-Scope of a 429.
type Scope string

// Rate-limit scopes.
const (
	// ScopeUser is a per-route bucket of this bot running out.
	ScopeUser Scope = "user"
	// ScopeGlobal is the bot's global limit running out.
	ScopeGlobal Scope = "global"
	// ScopeShared is a per-resource limit shared with others; it does not count as invalid.
	ScopeShared Scope = "shared"
	// scopeBan marks the bare Cloudflare answers while banned, in the ledger only.
	scopeBan Scope = "ban"
)

// maxBody bounds a request body: ten files at the default 10 MiB upload limit plus the JSON.
const maxBody = 110 << 20

// Server is the REST simulator. It is an http.Handler; every method is safe for concurrent use.
type Server struct {
	cfg   Config
	table []*route

	mu          sync.Mutex // guards the fields below
	buckets     map[string]*window
	global      window
	invalid     invalidCounter
	bannedUntil time.Time
	ledger      []Entry
	faults      []*fault
	oauth2      oauth2Grants

	world *world
}

// New returns a Server configured by cfg (zero fields take their defaults).
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:     cfg,
		table:   routeTable(),
		buckets: map[string]*window{},
		global:  window{limit: cfg.GlobalLimit, length: cfg.GlobalWindow},
		invalid: invalidCounter{window: cfg.InvalidWindow},
	}
	s.world = newWorld(cfg)
	if !cfg.NoSeed {
		s.world.seed()
	}
	return s
}

// Config returns the configuration in force, defaults filled in.
func (s *Server) Config() Config {
	c := s.cfg
	c.Routes = make(map[string]Limit, len(s.cfg.Routes))
	for k, v := range s.cfg.Routes {
		c.Routes[k] = v
	}
	return c
}

// LimitFor returns the limit that applies to a route key such as
// "POST /channels/{channel.id}/messages".
func (s *Server) LimitFor(routeKey string) Limit {
	if l, ok := s.cfg.Routes[routeKey]; ok {
		return l
	}
	l := s.cfg.DefaultLimit
	h := fnv.New64a()
	h.Write([]byte(routeKey))
	l.Bucket = strconv.FormatUint(h.Sum64(), 16)
	return l
}

// Entry is one request the server received.
type Entry struct {
	Method string
	// Path is the request path as received, without the /api/v10 prefix.
	Path string
	// Route is the matched template ("" for unknown paths); Major the top-level resource the
	// limits counted it under ("channel:123", "guild:…", "webhook:app/token", …).
	Route string
	Major string
	// Time is the server clock when the request arrived.
	Time   time.Time
	Status int
	// Scope is set on 429 answers.
	Scope Scope
	// Bucket is the X-RateLimit-Bucket the route belongs to.
	Bucket    string
	UserAgent string
	// Authorized is true when the request carried an Authorization header.
	Authorized  bool
	AuditReason string
	ContentType string
	// Encoding is the Content-Encoding of the answer ("br", "gzip" or "").
	Encoding string
	// Body is the request body.
	Body []byte
}

// Ledger returns a copy of every request received so far, in arrival order.
func (s *Server) Ledger() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Entry(nil), s.ledger...)
}

// ResetLedger forgets the requests received so far.
func (s *Server) ResetLedger() {
	s.mu.Lock()
	s.ledger = nil
	s.mu.Unlock()
}

// InvalidCount returns how many invalid requests (401, 403, non-shared 429) the sliding window
// holds now.
func (s *Server) InvalidCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.invalid.count(s.cfg.Clock.Now())
}

// Banned reports whether the invalid-request limit has banned the client.
func (s *Server) Banned() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Clock.Now().Before(s.bannedUntil)
}

// Match selects requests for injected faults: empty fields match anything. Route is a template
// such as "/channels/{channel.id}/messages".
type Match struct {
	Method string
	Route  string
}

type fault struct {
	m          Match
	n          int
	status     int
	code       int
	message    string
	scope      Scope
	retryAfter time.Duration
}

// InjectRateLimit makes the next n matching requests get a 429 with the given scope and
// retry_after, whatever their buckets say.
func (s *Server) InjectRateLimit(m Match, scope Scope, retryAfter time.Duration, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{m: m, n: n, status: http.StatusTooManyRequests, scope: scope, retryAfter: retryAfter})
}

// InjectError makes the next n matching requests fail with status and a Discord error body
// {code, message}.
func (s *Server) InjectError(m Match, status, code int, message string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{m: m, n: n, status: status, code: code, message: message})
}

func (s *Server) takeFault(r *route) *fault {
	for i, f := range s.faults {
		if (f.m.Method == "" || f.m.Method == r.method) && (f.m.Route == "" || f.m.Route == r.template) {
			f.n--
			if f.n <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

// call is one request being answered.
type call struct {
	r      *http.Request
	route  *route
	params map[string]string
	body   []byte
	now    time.Time
}

// response is what a handler answers: a JSON value, or nothing for 204.
type response struct {
	status int
	body   any
}

func ok(v any) response      { return response{status: http.StatusOK, body: v} }
func noContent() response    { return response{status: http.StatusNoContent} }
func created(v any) response { return response{status: http.StatusCreated, body: v} }
func errorBody(status, code int, msg string) response {
	return response{status: status, body: map[string]any{"code": code, "message": msg}}
}

// errRef returns a pointer to r, for lookups and checks that answer (value, *response).
func errRef(r response) *response { return &r }

// formError is Discord's 50035 Invalid Form Body with one field error.
func formError(field, code, msg string) response {
	return response{status: http.StatusBadRequest, body: map[string]any{
		"code": 50035, "message": "Invalid Form Body",
		"errors": map[string]any{field: map[string]any{"_errors": []any{map[string]any{"code": code, "message": msg}}}},
	}}
}

type rlHeaders struct {
	limit      Limit
	remaining  int
	resetAfter time.Duration
	set        bool
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.cfg.Clock.Now()
	body, readErr := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	entry := Entry{
		Method: r.Method, Time: now, UserAgent: r.Header.Get("User-Agent"), Authorized: r.Header.Get("Authorization") != "",
		AuditReason: r.Header.Get("X-Audit-Log-Reason"), ContentType: r.Header.Get("Content-Type"), Body: body,
	}
	path, okPrefix := trimAPIPrefix(r.URL.EscapedPath())
	entry.Path = path

	var rt *route
	var params map[string]string
	if okPrefix {
		var known bool
		rt, params, known = match(s.table, r.Method, path)
		if rt == nil {
			if known {
				s.finish(w, r, &entry, nil, errorBody(http.StatusMethodNotAllowed, 0, "405: Method Not Allowed"), rlHeaders{})
			} else {
				s.finish(w, r, &entry, nil, errorBody(http.StatusNotFound, 0, "404: Not Found"), rlHeaders{})
			}
			return
		}
	} else {
		s.finish(w, r, &entry, nil, errorBody(http.StatusBadRequest, 0, "400: Bad Request (unsupported API version)"), rlHeaders{})
		return
	}
	entry.Route = rt.template
	entry.Major = major(rt, params)
	if readErr != nil || len(body) > maxBody {
		s.finish(w, r, &entry, rt, errorBody(http.StatusRequestEntityTooLarge, 40005, "Request entity too large"), rlHeaders{})
		return
	}

	resp, rl, handled := s.admit(r, rt, &entry, now)
	if !handled {
		c := &call{r: r, route: rt, params: params, body: body, now: now}
		resp = rt.handle(s, c)
	}
	s.finish(w, r, &entry, rt, resp, rl)
}

// admit applies the ban, the User-Agent and auth checks, injected faults, the global limit and
// the route bucket, in that order. handled is true when it produced the answer itself.
func (s *Server) admit(r *http.Request, rt *route, e *Entry, now time.Time) (resp response, rl rlHeaders, handled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Before(s.bannedUntil) {
		e.Scope = scopeBan
		return response{status: -1}, rl, true
	}
	if !validUserAgent(e.UserAgent) {
		return errorBody(http.StatusBadRequest, 0, "400: Bad Request (a User-Agent of the form DiscordBot ($url, $version) is required)"), rl, true
	}
	auth := r.Header.Get("Authorization")
	switch rt.auth {
	case "bot":
		if auth != "Bot "+s.cfg.Token {
			return errorBody(http.StatusUnauthorized, 0, "401: Unauthorized"), rl, true
		}
	case "token":
		if auth != "" && auth != "Bot "+s.cfg.Token {
			return errorBody(http.StatusUnauthorized, 0, "401: Unauthorized"), rl, true
		}
	}

	limit := s.LimitFor(rt.key())
	key := limit.Bucket + "|" + e.Major
	b := s.buckets[key]
	if b == nil {
		b = &window{limit: limit.Requests, length: limit.Window}
		s.buckets[key] = b
	}
	rl = rlHeaders{limit: limit, set: true}
	e.Bucket = limit.Bucket
	peekRemaining, peekReset := b.peek(now)
	rl.remaining, rl.resetAfter = peekRemaining, peekReset

	if f := s.takeFault(rt); f != nil {
		if f.status == http.StatusTooManyRequests {
			e.Scope = f.scope
			if f.scope != ScopeGlobal {
				rl.remaining, rl.resetAfter = 0, f.retryAfter
			}
			return rateLimited(f.scope, f.retryAfter), rl, true
		}
		return errorBody(f.status, f.code, f.message), rl, true
	}
	if peekRemaining <= 0 {
		e.Scope = ScopeUser
		if limit.Shared {
			e.Scope = ScopeShared
		}
		return rateLimited(e.Scope, peekReset), rl, true
	}
	if rt.auth == "bot" {
		if okG, _, after := s.global.take(now); !okG {
			e.Scope = ScopeGlobal
			return rateLimited(ScopeGlobal, after), rl, true
		}
	}
	_, rl.remaining, rl.resetAfter = b.take(now)
	return response{}, rl, false
}

// peek reports what take would leave without spending anything.
func (w *window) peek(now time.Time) (remaining int, resetAfter time.Duration) {
	if w.resetAt.IsZero() || !now.Before(w.resetAt) {
		return w.limit, w.length
	}
	return w.remaining, w.resetAt.Sub(now)
}

func rateLimited(scope Scope, retryAfter time.Duration) response {
	return response{status: http.StatusTooManyRequests, body: rateLimitBody{
		Message:    "You are being rate limited.",
		RetryAfter: math.Round(retryAfter.Seconds()*1000) / 1000,
		Global:     scope == ScopeGlobal,
	}}
}

type rateLimitBody struct {
	Message    string  `json:"message"`
	RetryAfter float64 `json:"retry_after"`
	Global     bool    `json:"global"`
	Code       int     `json:"code,omitempty"`
}

func validUserAgent(ua string) bool {
	rest, ok := strings.CutPrefix(ua, "DiscordBot (")
	if !ok {
		return false
	}
	i := strings.IndexByte(rest, ')')
	return i > 0 && strings.Contains(rest[:i], ",")
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

// finish writes the answer with its rate-limit headers, counts invalid answers, and records the
// ledger entry.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, e *Entry, rt *route, resp response, rl rlHeaders) {
	h := w.Header()
	now := s.cfg.Clock.Now()
	if resp.status == -1 { // banned: Cloudflare's bare answer, no Discord headers
		h.Set("Content-Type", "text/plain; charset=UTF-8")
		h.Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, "error code: 1015")
		e.Status = http.StatusTooManyRequests
		s.record(e, false)
		return
	}
	if rl.set {
		h.Set("X-RateLimit-Limit", strconv.Itoa(rl.limit.Requests))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(rl.remaining))
		reset := now.Add(rl.resetAfter)
		h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(reset.UnixMilli())/1000, 'f', 3, 64))
		h.Set("X-RateLimit-Reset-After", secs(rl.resetAfter))
		h.Set("X-RateLimit-Bucket", rl.limit.Bucket)
	}
	if resp.status == http.StatusTooManyRequests && e.Scope != "" {
		body, _ := resp.body.(rateLimitBody)
		h.Set("X-RateLimit-Scope", string(e.Scope))
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(body.RetryAfter))))
		if e.Scope == ScopeGlobal {
			h.Set("X-RateLimit-Global", "true")
		}
	}
	e.Status = resp.status
	if resp.body == nil {
		w.WriteHeader(resp.status)
		s.record(e, true)
		return
	}
	raw, err := json.Marshal(resp.body)
	if err != nil {
		raw = []byte(`{"code":0,"message":"500: Internal Server Error"}`)
		resp.status = http.StatusInternalServerError
		e.Status = resp.status
	}
	h.Set("Content-Type", "application/json")
	if enc := s.encoding(r); enc != "" {
		raw = compress(enc, raw)
		h.Set("Content-Encoding", enc)
		h.Add("Vary", "Accept-Encoding")
		e.Encoding = enc
	}
	h.Set("Content-Length", strconv.Itoa(len(raw)))
	w.WriteHeader(resp.status)
	w.Write(raw)
	s.record(e, true)
}

// encoding picks br over gzip when the client accepts it (q=0 refuses).
func (s *Server) encoding(r *http.Request) string {
	if s.cfg.DisableCompression {
		return ""
	}
	accepted := map[string]bool{}
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.ReplaceAll(strings.TrimSpace(params), " ", "") == "q=0" {
			continue
		}
		accepted[strings.ToLower(strings.TrimSpace(name))] = true
	}
	switch {
	case accepted["br"]:
		return "br"
	case accepted["gzip"]:
		return "gzip"
	}
	return ""
}

func (s *Server) record(e *Entry, count bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Clock.Now()
	if count && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden ||
		(e.Status == http.StatusTooManyRequests && e.Scope != ScopeShared)) {
		if s.invalid.add(now) >= s.cfg.InvalidLimit {
			s.bannedUntil = now.Add(s.cfg.BanDuration)
		}
	}
	s.ledger = append(s.ledger, *e)
}

// Encoders are pooled: a fresh Brotli writer allocates its whole window, which dominates the
// cost of answering small JSON bodies. A 64 KiB window is plenty for API answers.
var (
	brPool   = sync.Pool{New: func() any { return brotli.NewWriterOptions(nil, brotli.WriterOptions{Quality: 4, LGWin: 16}) }}
	gzipPool = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
)

func compress(enc string, raw []byte) []byte {
	var buf bytes.Buffer
	if enc == "br" {
		w := brPool.Get().(*brotli.Writer)
		w.Reset(&buf)
		w.Write(raw)
		w.Close()
		brPool.Put(w)
	} else {
		w := gzipPool.Get().(*gzip.Writer)
		w.Reset(&buf)
		w.Write(raw)
		w.Close()
		gzipPool.Put(w)
	}
	return buf.Bytes()
}
