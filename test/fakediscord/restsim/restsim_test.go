package restsim_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"go.uber.org/goleak"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord/restsim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const ua = "DiscordBot (https://example.test, 1.0)"

type harness struct {
	sim *restsim.Server
	clk *clock.Manual
}

func newHarness(cfg restsim.Config) *harness {
	clk := clock.NewManual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	cfg.Clock = clk
	return &harness{sim: restsim.New(cfg), clk: clk}
}

type answer struct {
	status int
	h      http.Header
	body   map[string]any
	raw    string
}

// do sends a request straight to the handler.
func (h *harness) do(t *testing.T, method, path string, body any, hdr ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bot "+restsim.DefaultToken)
	req.Header.Set("User-Agent", ua)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	rec := httptest.NewRecorder()
	h.sim.ServeHTTP(rec, req)
	res := rec.Result()
	raw, _ := io.ReadAll(res.Body)
	switch res.Header.Get("Content-Encoding") {
	case "br":
		raw, _ = io.ReadAll(brotli.NewReader(bytes.NewReader(raw)))
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ = io.ReadAll(zr)
	}
	a := answer{status: res.StatusCode, h: res.Header, raw: string(raw)}
	json.Unmarshal(raw, &a.body)
	return a
}

func msgPath(ch events.Snowflake) string { return "/api/v10/channels/" + ch.String() + "/messages" }

func TestBucketHeadersAndUserScope(t *testing.T) {
	h := newHarness(restsim.Config{})
	ch := h.sim.Seeded().ChannelIDs[0]
	var bucket string
	for i := range 5 {
		a := h.do(t, "POST", msgPath(ch), map[string]any{"content": "hi"})
		if a.status != 200 {
			t.Fatalf("create %d: %d %s", i, a.status, a.raw)
		}
		if a.h.Get("X-RateLimit-Limit") != "5" || a.h.Get("X-RateLimit-Remaining") != string(rune('4'-i)) || a.h.Get("X-RateLimit-Reset-After") != "5.000" {
			t.Fatalf("create %d headers: %v", i, a.h)
		}
		bucket = a.h.Get("X-RateLimit-Bucket")
	}
	h.clk.Advance(1500 * time.Millisecond)
	a := h.do(t, "POST", msgPath(ch), map[string]any{"content": "hi"})
	if a.status != 429 || a.h.Get("X-RateLimit-Scope") != "user" || a.h.Get("Retry-After") != "4" ||
		a.h.Get("X-RateLimit-Reset-After") != "3.500" || a.h.Get("X-RateLimit-Global") != "" || a.h.Get("X-RateLimit-Bucket") != bucket {
		t.Fatalf("429 headers: %d %v", a.status, a.h)
	}
	if a.body["retry_after"] != 3.5 || a.body["global"] != false || a.body["message"] == "" {
		t.Fatalf("429 body: %s", a.raw)
	}
	// Reset is the epoch time of the reset in seconds with milliseconds.
	if want := "1772366405.000"; a.h.Get("X-RateLimit-Reset") != want {
		t.Fatalf("X-RateLimit-Reset = %s, want %s", a.h.Get("X-RateLimit-Reset"), want)
	}
	// Another channel has its own bucket under the same hash.
	b := h.do(t, "POST", msgPath(h.sim.Seeded().ChannelIDs[1]), map[string]any{"content": "hi"})
	if b.status != 200 || b.h.Get("X-RateLimit-Bucket") != bucket || b.h.Get("X-RateLimit-Remaining") != "4" {
		t.Fatalf("other channel: %d %v", b.status, b.h)
	}
	h.clk.Advance(3500 * time.Millisecond)
	if a := h.do(t, "POST", msgPath(ch), map[string]any{"content": "hi"}); a.status != 200 || a.h.Get("X-RateLimit-Remaining") != "4" {
		t.Fatalf("after reset: %d %v", a.status, a.h)
	}
	if n := h.sim.InvalidCount(); n != 1 {
		t.Fatalf("invalid count = %d, want 1", n)
	}
}

func TestSharedBucketAndSubSecondReset(t *testing.T) {
	h := newHarness(restsim.Config{})
	seed := h.sim.Seeded()
	ch := seed.ChannelIDs[0]
	m := h.do(t, "POST", msgPath(ch), map[string]any{"content": "hi"})
	id := m.body["id"].(string)
	base := msgPath(ch) + "/" + id + "/reactions/%F0%9F%91%8D"
	a := h.do(t, "PUT", base+"/@me", nil)
	if a.status != 204 || a.h.Get("X-RateLimit-Reset-After") != "0.250" {
		t.Fatalf("PUT: %d %v", a.status, a.h)
	}
	b := h.do(t, "DELETE", base+"/@me", nil)
	if b.status != 429 || b.h.Get("X-RateLimit-Bucket") != a.h.Get("X-RateLimit-Bucket") || b.body["retry_after"] != 0.25 {
		t.Fatalf("DELETE in the shared window: %d %v %s", b.status, b.h, b.raw)
	}
	h.clk.Advance(250 * time.Millisecond)
	if b := h.do(t, "DELETE", base+"/@me", nil); b.status != 204 {
		t.Fatalf("DELETE after 250 ms: %d %s", b.status, b.raw)
	}
}

func TestGlobalLimit(t *testing.T) {
	h := newHarness(restsim.Config{GlobalLimit: 3})
	seed := h.sim.Seeded()
	for i := range 3 {
		if a := h.do(t, "GET", "/api/v10/users/"+seed.UserIDs[i].String(), nil); a.status != 200 {
			t.Fatalf("GET %d: %d", i, a.status)
		}
	}
	// Interaction callbacks are exempt.
	it := h.sim.NewInteraction(seed.ChannelIDs[0])
	if a := h.do(t, "POST", "/api/v10/interactions/"+it.ID.String()+"/"+it.Token+"/callback", map[string]any{"type": 5}, "Authorization", ""); a.status != 204 {
		t.Fatalf("callback: %d %s", a.status, a.raw)
	}
	h.clk.Advance(400 * time.Millisecond)
	a := h.do(t, "GET", "/api/v10/channels/"+seed.ChannelIDs[0].String(), nil)
	if a.status != 429 || a.h.Get("X-RateLimit-Global") != "true" || a.h.Get("X-RateLimit-Scope") != "global" || a.body["global"] != true || a.body["retry_after"] != 0.6 {
		t.Fatalf("global 429: %d %v %s", a.status, a.h, a.raw)
	}
	h.clk.Advance(600 * time.Millisecond)
	if a := h.do(t, "GET", "/api/v10/channels/"+seed.ChannelIDs[0].String(), nil); a.status != 200 {
		t.Fatalf("after the global window: %d", a.status)
	}
}

func TestInvalidRequestsBan(t *testing.T) {
	h := newHarness(restsim.Config{InvalidLimit: 3})
	h.sim.InjectRateLimit(restsim.Match{}, restsim.ScopeShared, time.Second, 5)
	for range 5 {
		if a := h.do(t, "GET", "/api/v10/users/@me", nil); a.status != 429 || a.h.Get("X-RateLimit-Scope") != "shared" {
			t.Fatalf("shared: %d %v", a.status, a.h)
		}
	}
	if h.sim.InvalidCount() != 0 {
		t.Fatal("shared 429s counted as invalid")
	}
	for range 3 {
		if a := h.do(t, "GET", "/api/v10/users/@me", nil, "Authorization", "Bot nope"); a.status != 401 || a.body["code"] != 0.0 {
			t.Fatalf("bad token: %d %s", a.status, a.raw)
		}
	}
	if !h.sim.Banned() {
		t.Fatal("not banned after 3 invalid requests")
	}
	a := h.do(t, "GET", "/api/v10/users/@me", nil)
	if a.status != 429 || a.raw != "error code: 1015" || a.h.Get("X-RateLimit-Scope") != "" {
		t.Fatalf("banned answer: %d %v %q", a.status, a.h, a.raw)
	}
	h.clk.Advance(11 * time.Minute)
	if h.sim.InvalidCount() != 0 {
		t.Fatal("invalid requests outlived the 10-minute window")
	}
	h.clk.Advance(time.Hour)
	if a := h.do(t, "GET", "/api/v10/users/@me", nil); a.status != 200 {
		t.Fatalf("after the ban: %d", a.status)
	}
}

func TestRequestChecks(t *testing.T) {
	h := newHarness(restsim.Config{})
	if a := h.do(t, "GET", "/api/v10/users/@me", nil, "User-Agent", "curl/8"); a.status != 400 {
		t.Fatalf("bad UA: %d", a.status)
	}
	if a := h.do(t, "GET", "/api/v10/users/@me", nil, "Authorization", ""); a.status != 401 {
		t.Fatalf("no auth: %d", a.status)
	}
	if a := h.do(t, "GET", "/users/@me", nil); a.status != 200 || a.body["bot"] != true {
		t.Fatalf("bare path: %d %s", a.status, a.raw)
	}
	if a := h.do(t, "GET", "/api/v6/users/@me", nil); a.status != 400 {
		t.Fatalf("v6: %d", a.status)
	}
	if a := h.do(t, "DELETE", "/api/v10/users/@me", nil); a.status != 405 {
		t.Fatalf("wrong method: %d", a.status)
	}
	if a := h.do(t, "GET", "/api/v10/nothing/here", nil); a.status != 404 || a.body["message"] != "404: Not Found" {
		t.Fatalf("unknown route: %d %s", a.status, a.raw)
	}
	ch := h.sim.Seeded().ChannelIDs[0]
	a := h.do(t, "POST", msgPath(ch), map[string]any{"content": strings.Repeat("x", 2001)})
	errs, _ := a.body["errors"].(map[string]any)
	if a.status != 400 || a.body["code"] != 50035.0 || errs["content"] == nil {
		t.Fatalf("too long: %d %s", a.status, a.raw)
	}
	if a := h.do(t, "POST", msgPath(ch), map[string]any{}); a.status != 400 || a.body["code"] != 50006.0 {
		t.Fatalf("empty: %d %s", a.status, a.raw)
	}
	if a := h.do(t, "GET", "/api/v10/channels/1", nil); a.status != 404 || a.body["code"] != 10003.0 {
		t.Fatalf("unknown channel: %d %s", a.status, a.raw)
	}
}

func TestCompression(t *testing.T) {
	h := newHarness(restsim.Config{})
	for accept, want := range map[string]string{"br, gzip": "br", "gzip": "gzip", "br;q=0, gzip": "gzip", "": "", "identity": ""} {
		a := h.do(t, "GET", "/api/v10/users/@me", nil, "Accept-Encoding", accept)
		if a.h.Get("Content-Encoding") != want || a.status != 200 || a.body["username"] == nil {
			t.Errorf("Accept-Encoding %q: got %q, body %s", accept, a.h.Get("Content-Encoding"), a.raw)
		}
	}
	off := newHarness(restsim.Config{DisableCompression: true})
	if a := off.do(t, "GET", "/api/v10/users/@me", nil, "Accept-Encoding", "br"); a.h.Get("Content-Encoding") != "" {
		t.Fatalf("compression disabled but got %q", a.h.Get("Content-Encoding"))
	}
}

func TestLedger(t *testing.T) {
	h := newHarness(restsim.Config{})
	seed := h.sim.Seeded()
	h.do(t, "PUT", "/api/v10/guilds/"+seed.GuildID.String()+"/members/"+seed.UserIDs[0].String()+"/roles/"+seed.RoleIDs[1].String(), nil, "X-Audit-Log-Reason", "because")
	h.clk.Advance(time.Second)
	h.do(t, "GET", "/api/v10/channels/"+seed.ChannelIDs[0].String(), nil)
	l := h.sim.Ledger()
	if len(l) != 2 {
		t.Fatalf("ledger = %+v", l)
	}
	e := l[0]
	if e.Method != "PUT" || e.Route != "/guilds/{guild.id}/members/{user.id}/roles/{role.id}" || e.Major != "guild:"+seed.GuildID.String() ||
		e.Status != 204 || e.AuditReason != "because" || e.UserAgent != ua || e.Bucket == "" {
		t.Fatalf("entry = %+v", e)
	}
	if l[1].Time.Sub(e.Time) != time.Second {
		t.Fatalf("times %v %v", e.Time, l[1].Time)
	}
	if got := h.sim.MemberRoles(seed.GuildID, seed.UserIDs[0]); len(got) != 1 {
		t.Fatalf("roles = %v", got)
	}
	h.sim.ResetLedger()
	if len(h.sim.Ledger()) != 0 {
		t.Fatal("ResetLedger kept entries")
	}
	if c := h.sim.Config(); c.GlobalLimit != 50 || c.Routes["POST /channels/{channel.id}/messages"].Requests != 5 {
		t.Fatalf("config = %+v", c)
	}
}

func TestInteractionDeadlines(t *testing.T) {
	h := newHarness(restsim.Config{})
	seed := h.sim.Seeded()
	it := h.sim.NewInteraction(seed.ChannelIDs[0])
	h.clk.Advance(3*time.Second + time.Millisecond)
	cb := "/api/v10/interactions/" + it.ID.String() + "/" + it.Token + "/callback"
	if a := h.do(t, "POST", cb, map[string]any{"type": 4, "data": map[string]any{"content": "late"}}); a.status != 404 || a.body["code"] != 10062.0 {
		t.Fatalf("late callback: %d %s", a.status, a.raw)
	}
	it2 := h.sim.NewInteraction(seed.ChannelIDs[0])
	cb2 := "/api/v10/interactions/" + it2.ID.String() + "/" + it2.Token + "/callback?with_response=true"
	a := h.do(t, "POST", cb2, map[string]any{"type": 4, "data": map[string]any{"content": "on time"}})
	res, _ := a.body["resource"].(map[string]any)
	if a.status != 200 || res == nil {
		t.Fatalf("with_response: %d %s", a.status, a.raw)
	}
	h.clk.Advance(16 * time.Minute)
	wh := "/api/v10/webhooks/" + it2.ApplicationID.String() + "/" + it2.Token
	if a := h.do(t, "POST", wh, map[string]any{"content": "too late"}); a.status != 401 || a.body["code"] != 50027.0 {
		t.Fatalf("followup after 15 min: %d %s", a.status, a.raw)
	}
}

func TestSharedLimitScope(t *testing.T) {
	h := newHarness(restsim.Config{Routes: map[string]restsim.Limit{
		"POST /channels/{channel.id}/typing": {Bucket: "typing-shared", Requests: 1, Window: time.Second, Shared: true},
	}})
	path := "/api/v10/channels/" + h.sim.Seeded().ChannelIDs[0].String() + "/typing"
	if a := h.do(t, "POST", path, nil); a.status != 204 {
		t.Fatalf("first: %d", a.status)
	}
	a := h.do(t, "POST", path, nil)
	if a.status != 429 || a.h.Get("X-RateLimit-Scope") != "shared" || a.h.Get("X-RateLimit-Bucket") != "typing-shared" {
		t.Fatalf("second: %d %v", a.status, a.h)
	}
	if h.sim.InvalidCount() != 0 {
		t.Fatal("a shared-scope 429 counted as invalid")
	}
	if l := h.sim.LimitFor("POST /channels/{channel.id}/typing"); !l.Shared {
		t.Fatalf("LimitFor = %+v", l)
	}
	if l := h.sim.LimitFor("GET /guilds/{guild.id}/roles"); l.Requests != 50 || l.Bucket == "" {
		t.Fatalf("default limit = %+v", l)
	}
}
