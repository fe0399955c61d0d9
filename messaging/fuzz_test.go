package messaging

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cordage/cordage/events"
)

// FuzzAnswer feeds arbitrary answers to the decoders: no panic, no negative wait, and a 429
// always gets a scope.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte(`{"message":"You are being rate limited.","retry_after":0.25,"global":false}`), "user", "1", "5", "0", "0.250", "br")
	f.Add([]byte(`{"code":50035,"message":"Invalid Form Body","errors":{"a":{"0":{"_errors":[{"code":"X","message":"y"}]}}}}`), "", "", "", "", "", "")
	f.Add([]byte(`error code: 1015`), "", "3600", "", "", "", "gzip")
	f.Add([]byte(`{"retry_after":-5,"global":true}`), "global", "-1", "x", "-3", "NaN", "")
	f.Add([]byte(`{"errors":{"_errors":[1,2,{"code":5}]}}`), "shared", "1e309", "2", "1", "1e400", "identity")
	f.Fuzz(func(t *testing.T, body []byte, scope, retryAfter, limit, remaining, resetAfter, enc string) {
		h := http.Header{}
		h.Set("X-RateLimit-Scope", scope)
		h.Set("Retry-After", retryAfter)
		h.Set("X-RateLimit-Limit", limit)
		h.Set("X-RateLimit-Remaining", remaining)
		h.Set("X-RateLimit-Reset-After", resetAfter)
		h.Set("X-RateLimit-Bucket", scope)
		li := parseLimitHeaders(h)
		if li.resetAfter < 0 || li.remaining < 0 || li.limit < 0 {
			t.Fatalf("negative limits %+v", li)
		}
		r := &compiled{method: "GET", template: "/x"}
		rle := parseRateLimited(r, h, body, li)
		if rle.RetryAfter < 0 || rle.Scope == "" {
			t.Fatalf("rate-limit error %+v", rle)
		}
		if err := parseAPIError(r, 400, body); err == nil || strings.Contains(err.Error(), "%!") {
			t.Fatalf("api error %v", err)
		}
		resp := &http.Response{Header: http.Header{"Content-Encoding": {enc}}, Body: io.NopCloser(bytes.NewReader(body))}
		decodeBody(resp, 1<<20)
	})
}

// FuzzRoute compiles arbitrary templates and parameters: no panic, and a compiled path has no
// placeholder left and every value escaped.
func FuzzRoute(f *testing.F) {
	f.Add("/channels/{channel.id}/messages/{message.id}", "123", "abc/../x")
	f.Add("/webhooks/{a}/{b}?wait=true", "1", "tok en")
	f.Add("/{", "", "")
	f.Add("nothing", "1", "2")
	f.Fuzz(func(t *testing.T, tmpl, p1, p2 string) {
		c, err := compileRoute("GET", tmpl, []any{p1, events.Snowflake(len(p2) + 1)})
		if err != nil {
			return
		}
		if strings.ContainsAny(c.path, "{}") || strings.Contains(c.path, "?") {
			t.Fatalf("path %q from %q", c.path, tmpl)
		}
		if strings.Contains(p1, "/") && strings.Contains(c.path, p1) && strings.Count(tmpl, "{") > 0 {
			t.Fatalf("unescaped %q in %q", p1, c.path)
		}
	})
}
