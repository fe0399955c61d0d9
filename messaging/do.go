package messaging

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
	"go.uber.org/zap"
)

// RequestOption adds something to one request.
type RequestOption func(*reqOpts)

type reqOpts struct {
	reason  string
	query   url.Values
	files   []File
	headers http.Header
}

// WithReason sets X-Audit-Log-Reason (1–512 characters), which Discord shows in the guild's
// audit log.
func WithReason(reason string) RequestOption { return func(o *reqOpts) { o.reason = reason } }

// WithQuery adds query parameters.
func WithQuery(q url.Values) RequestOption {
	return func(o *reqOpts) {
		if o.query == nil {
			o.query = url.Values{}
		}
		for k, vs := range q {
			o.query[k] = append(o.query[k], vs...)
		}
	}
}

// WithFiles uploads files with the request: the body goes as the payload_json part of a
// multipart/form-data body, the files as files[0], files[1], ...
func WithFiles(files ...File) RequestOption {
	return func(o *reqOpts) { o.files = append(o.files, files...) }
}

// WithHeader adds a request header. Authorization, User-Agent and Accept-Encoding are the
// client's and cannot be set.
func WithHeader(key, value string) RequestOption {
	return func(o *reqOpts) {
		if o.headers == nil {
			o.headers = http.Header{}
		}
		o.headers.Add(key, value)
	}
}

// File is a file to upload as an attachment.
type File struct {
	// Name is the file name Discord shows, e.g. "report.png".
	Name string
	// ContentType is optional, e.g. "image/png".
	ContentType string
	// Description is the attachment's alt text.
	Description string
	// Data is the file's content. It stays in memory so that a retried request can send it
	// again.
	Data []byte
}

// Do sends a request to any route with the same rate limiting, retries and error handling as
// the typed methods. route is a template whose {placeholders} are filled from params in order
// ("/channels/{channel.id}/pins/{message.id}" with a channel and a message id); params are
// events.Snowflake (non-zero), string (path-escaped) or int. A query may follow '?'.
//
// body is JSON-encoded unless it is nil, a []byte (sent as JSON as is) or a json.RawMessage.
// The answer is decoded into out unless out is nil or the answer has no body.
func (c *Client) Do(ctx context.Context, method, route string, params []any, body, out any, opts ...RequestOption) error {
	r, err := compileRoute(method, route, params)
	if err != nil {
		return err
	}
	return c.send(ctx, r, body, out, opts...)
}

// prepared is a request ready to be sent, possibly several times.
type prepared struct {
	r           *compiled
	url         string
	body        []byte
	contentType string
	opts        reqOpts
	// parseError reads a non-2xx, non-429 answer; nil means parseAPIError. OAuth2 routes
	// answer errors in their own shape.
	parseError func(r *compiled, status int, body []byte) error
}

func (c *Client) prepare(r *compiled, body any, opts []RequestOption) (*prepared, error) {
	p := &prepared{r: r}
	for _, o := range opts {
		if o != nil {
			o(&p.opts)
		}
	}
	if n := len([]rune(p.opts.reason)); p.opts.reason != "" && n > 512 {
		return nil, invalid("reason", "%d characters, at most 512", n)
	}
	var payload []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		payload = b
	case json.RawMessage:
		payload = b
	default:
		enc, err := json.Marshal(body)
		if err != nil {
			return nil, invalid("body", "cannot encode: %v", err)
		}
		payload = enc
	}
	if len(p.opts.files) > 0 {
		mb, ct, err := multipartBody(payload, p.opts.files)
		if err != nil {
			return nil, err
		}
		p.body, p.contentType = mb, ct
	} else if payload != nil {
		p.body, p.contentType = payload, "application/json"
	}
	q := url.Values{}
	for k, v := range r.query {
		q[k] = v
	}
	for k, v := range p.opts.query {
		q[k] = append(q[k], v...)
	}
	p.url = c.base + r.path
	if len(q) > 0 {
		p.url += "?" + q.Encode()
	}
	return p, nil
}

func (c *Client) send(ctx context.Context, r *compiled, body, out any, opts ...RequestOption) error {
	p, err := c.prepare(r, body, opts)
	if err != nil {
		return err
	}
	return c.run(ctx, p, out)
}

func (c *Client) refuse(r *compiled) error {
	if !r.exempt && c.badToken.Load() {
		c.stats.refused.Add(1)
		return fmt.Errorf("messaging: %s %s: not sent, an earlier request got 401 (the token is invalid): %w", r.method, r.template, ErrUnauthorized)
	}
	threshold := c.cfg.invalidLimit - c.cfg.invalidMargin
	if n := c.inv.count(c.cfg.clk.Now()); n >= threshold {
		c.stats.refused.Add(1)
		return fmt.Errorf("messaging: %s %s: %d invalid requests in 10 minutes (refusing from %d, Discord bans at %d): %w",
			r.method, r.template, n, threshold, c.cfg.invalidLimit, ErrInvalidRequestLimit)
	}
	return nil
}

// run sends p until it gets a final answer: through the limiter, with bounded retries.
func (c *Client) run(ctx context.Context, p *prepared, out any) error {
	r := p.r
	log := c.cfg.log
	for attempt := 1; ; attempt++ {
		if err := c.refuse(r); err != nil {
			return err
		}
		t, err := c.lim.acquire(ctx, r.routeKey, r.major, r.exempt, attempt > 1)
		if err != nil {
			return fmt.Errorf("messaging: %s %s: waiting for rate limit: %w", r.method, r.template, err)
		}
		start := c.cfg.clk.Now()
		status, hdr, body, err := c.roundTrip(ctx, p)
		latency := c.cfg.clk.Now().Sub(start)
		info := RequestInfo{Method: r.method, Route: r.template, Status: status, Attempt: attempt, Queued: t.waited, Latency: latency}
		if err != nil {
			c.lim.release(t, nil, 0)
			c.stats.requests.Add(1)
			c.observe(info)
			return fmt.Errorf("messaging: %s %s: %w", r.method, r.template, err)
		}
		li := parseLimitHeaders(hdr)
		info.Bucket = li.hash
		var rle *RateLimitError
		if status == http.StatusTooManyRequests {
			rle = parseRateLimited(r, hdr, body, li)
			li.limited, li.scope, li.retryAfter = true, rle.Scope, rle.RetryAfter
			info.Scope, info.RetryAfter = rle.Scope, rle.RetryAfter
		}
		c.lim.release(t, li, status)
		c.count(r, status, rle)
		c.stats.requests.Add(1) // after release, so a Stats reader sees the limiter updated

		switch {
		case status >= 200 && status < 300:
			c.observe(info)
			if log.Core().Enabled(zap.DebugLevel) {
				log.Debug("request", zap.String("method", r.method), zap.String("route", r.template), zap.Int("status", status), zap.Duration("latency", latency))
			}
			if out == nil || len(body) == 0 {
				return nil
			}
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("messaging: %s %s: decoding answer: %w", r.method, r.template, err)
			}
			return nil
		case rle != nil:
			rle.Attempts = attempt
			info.Retrying = rle.Scope != ScopeCloudflare && attempt <= c.cfg.maxRetries
			c.observe(info)
			log.Warn("rate limited", zap.String("method", r.method), zap.String("route", r.template),
				zap.String("scope", string(rle.Scope)), zap.Duration("retry_after", rle.RetryAfter),
				zap.String("bucket", li.hash), zap.Int("attempt", attempt), zap.Bool("retrying", info.Retrying))
			if !info.Retrying {
				return rle
			}
			c.stats.retries.Add(1)
		case status >= 502 && status <= 504 && idempotent(r.method) && attempt <= c.cfg.maxRetries:
			info.Retrying = true
			c.observe(info)
			c.stats.retries.Add(1)
			backoff := time.Duration(attempt) * 500 * time.Millisecond
			log.Warn("server error, retrying", zap.String("method", r.method), zap.String("route", r.template), zap.Int("status", status), zap.Duration("backoff", backoff))
			t := c.cfg.clk.NewTimer(backoff)
			select {
			case <-t.C():
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("messaging: %s %s: %w", r.method, r.template, ctx.Err())
			}
		default:
			c.observe(info)
			if p.parseError != nil {
				return p.parseError(r, status, body)
			}
			return parseAPIError(r, status, body)
		}
	}
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

func (c *Client) observe(info RequestInfo) {
	if c.cfg.observer != nil {
		c.cfg.observer.ObserveRequest(info)
	}
}

// count updates the invalid-request window and the 429 counters.
func (c *Client) count(r *compiled, status int, rle *RateLimitError) {
	if rle != nil {
		switch rle.Scope {
		case ScopeUser:
			c.stats.limitedUser.Add(1)
		case ScopeGlobal:
			c.stats.limitedGlobal.Add(1)
		case ScopeShared:
			c.stats.limShare.Add(1)
		default:
			c.stats.limitedOther.Add(1)
		}
	}
	switch {
	case status == http.StatusUnauthorized:
		if !r.exempt {
			c.badToken.Store(true)
		}
	case status == http.StatusForbidden:
	case status == http.StatusTooManyRequests && rle != nil && rle.Scope != ScopeShared:
	default:
		return
	}
	c.inv.add(c.cfg.clk.Now())
}

// roundTrip sends one attempt and reads the whole answer, decoded.
func (c *Client) roundTrip(ctx context.Context, p *prepared) (int, http.Header, []byte, error) {
	var rd io.Reader
	if p.body != nil {
		rd = bytes.NewReader(p.body)
	}
	req, err := http.NewRequestWithContext(ctx, p.r.method, p.url, rd)
	if err != nil {
		return 0, nil, nil, stripURL(err)
	}
	for k, vs := range p.opts.headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Accept-Encoding", "br, gzip")
	if !p.r.exempt {
		req.Header.Set("Authorization", "Bot "+c.token.v)
	}
	if p.contentType != "" {
		req.Header.Set("Content-Type", p.contentType)
	}
	if p.opts.reason != "" {
		req.Header.Set("X-Audit-Log-Reason", url.PathEscape(p.opts.reason))
	}
	resp, err := c.cfg.httpClient.Do(req)
	if err != nil {
		return 0, nil, nil, stripURL(err)
	}
	defer resp.Body.Close()
	body, err := decodeBody(resp, c.cfg.maxBody)
	if err != nil {
		return 0, nil, nil, stripURL(err)
	}
	return resp.StatusCode, resp.Header, body, nil
}

// stripURL drops the *url.Error wrapper, whose text holds the full URL and with it any
// interaction or webhook token in the path.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// decodeBody reads an answer body, undoing a Brotli or gzip Content-Encoding.
func decodeBody(resp *http.Response, limit int64) ([]byte, error) {
	var rd io.Reader = resp.Body
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "br":
		rd = brotli.NewReader(resp.Body)
	case "gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip answer: %w", err)
		}
		defer zr.Close()
		rd = zr
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", enc)
	}
	b, err := io.ReadAll(io.LimitReader(rd, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading answer: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("answer larger than %d bytes", limit)
	}
	return b, nil
}

// parseLimitHeaders reads X-RateLimit-*.
func parseLimitHeaders(h http.Header) *limitInfo {
	li := &limitInfo{hash: h.Get("X-RateLimit-Bucket")}
	lim, err1 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	rem, err2 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	ra, err3 := strconv.ParseFloat(h.Get("X-RateLimit-Reset-After"), 64)
	if err1 == nil && err2 == nil && err3 == nil && lim >= 0 && rem >= 0 && ra >= 0 && !math.IsInf(ra, 0) {
		li.hasLimits, li.limit, li.remaining, li.resetAfter = true, lim, rem, seconds(ra)
	}
	return li
}

func seconds(f float64) time.Duration {
	if f <= 0 || math.IsNaN(f) {
		return 0
	}
	if f > 1e6 {
		f = 1e6
	}
	return time.Duration(f * float64(time.Second))
}

// parseRateLimited reads a 429: scope from X-RateLimit-Scope (global also from
// X-RateLimit-Global or the body), retry_after from the body, else Retry-After, else the
// bucket's Reset-After.
func parseRateLimited(r *compiled, h http.Header, body []byte, li *limitInfo) *RateLimitError {
	e := &RateLimitError{Method: r.method, Route: r.template, Bucket: li.hash}
	var b struct {
		Message    string   `json:"message"`
		RetryAfter *float64 `json:"retry_after"`
		Global     bool     `json:"global"`
		Code       int      `json:"code"`
	}
	jsonErr := json.Unmarshal(body, &b)
	e.Message, e.Code = b.Message, b.Code
	e.Scope = Scope(strings.ToLower(h.Get("X-RateLimit-Scope")))
	e.Global = b.Global || strings.EqualFold(h.Get("X-RateLimit-Global"), "true") || e.Scope == ScopeGlobal
	switch {
	case e.Global:
		e.Scope = ScopeGlobal
	case e.Scope == ScopeUser || e.Scope == ScopeShared:
	case jsonErr != nil && h.Get("X-RateLimit-Scope") == "" && li.hash == "":
		e.Scope = ScopeCloudflare
	default:
		e.Scope = ScopeUser
	}
	switch {
	case b.RetryAfter != nil:
		e.RetryAfter = seconds(*b.RetryAfter)
	case h.Get("Retry-After") != "":
		if f, err := strconv.ParseFloat(h.Get("Retry-After"), 64); err == nil {
			e.RetryAfter = seconds(f)
		}
	case li.hasLimits:
		e.RetryAfter = li.resetAfter
	default:
		e.RetryAfter = time.Second
	}
	return e
}

// parseAPIError builds the error of a non-2xx, non-429 answer.
func parseAPIError(r *compiled, status int, body []byte) error {
	e := &APIError{Method: r.method, Route: r.template, Status: status}
	var b struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Errors  any    `json:"errors"`
	}
	if err := json.Unmarshal(body, &b); err == nil {
		e.Code, e.Message = b.Code, b.Message
		e.Errors = flattenErrors(b.Errors)
	} else {
		e.Message = http.StatusText(status)
	}
	return e
}
