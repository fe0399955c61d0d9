package fakediscord

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cordage/cordage/events"
)

func TestRESTBasics(t *testing.T) {
	mounted := 0
	s := newServer(t, WithREST(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mounted++
		if r.URL.Path != "/api/v10/channels/1/messages" {
			t.Errorf("mounted handler got %s", r.URL.Path)
		}
		w.WriteHeader(http.StatusTeapot)
	})))
	code, body := restGet(t, s, "/gateway", "")
	var gw events.Gateway
	if code != 200 || json.Unmarshal(body, &gw) != nil || gw.URL != s.GatewayURL() {
		t.Fatalf("GET /gateway: %d %s", code, body)
	}
	for _, path := range []string{"/gateway/bot", "/users/@me", "/applications/@me"} {
		for _, auth := range []string{"", s.Token(), "Bot wrong", "Bearer " + s.Token()} {
			code, body := restGet(t, s, path, auth)
			var e struct {
				Message string `json:"message"`
				Code    *int   `json:"code"`
			}
			if code != http.StatusUnauthorized || json.Unmarshal(body, &e) != nil || e.Message != "401: Unauthorized" || e.Code == nil {
				t.Fatalf("GET %s with %q: %d %s, want a 401 JSON error", path, auth, code, body)
			}
			if contains(string(body), s.Token()) {
				t.Fatal("token in error body")
			}
		}
	}
	code, body = restGet(t, s, "/users/@me", "Bot "+s.Token())
	var u events.User
	if code != 200 || json.Unmarshal(body, &u) != nil || u != s.BotUser() || !u.Bot {
		t.Fatalf("GET /users/@me: %d %s", code, body)
	}
	code, body = restGet(t, s, "/applications/@me", "Bot "+s.Token())
	var app struct {
		ID  events.Snowflake `json:"id"`
		Bot events.User      `json:"bot"`
	}
	if code != 200 || json.Unmarshal(body, &app) != nil || app.ID != s.ApplicationID() || app.Bot.ID != s.BotUser().ID {
		t.Fatalf("GET /applications/@me: %d %s", code, body)
	}
	if code, _ := restGet(t, s, "/channels/1/messages", "Bot "+s.Token()); code != http.StatusTeapot || mounted != 1 {
		t.Fatalf("mounted REST handler: %d, %d calls", code, mounted)
	}
	s.SetREST(nil)
	if code, body := restGet(t, s, "/channels/1/messages", "Bot "+s.Token()); code != http.StatusNotFound {
		t.Fatalf("unmounted route: %d %s", code, body)
	}
	uas := s.UserAgents()
	if len(uas) != 17 {
		t.Fatalf("%d user agents recorded, want 17", len(uas))
	}
	for _, ua := range uas {
		if ua != "DiscordBot (https://example.test, 1.0) test" {
			t.Fatalf("user agent %q", ua)
		}
	}
}

func TestMount(t *testing.T) {
	s := newServer(t)
	if err := s.Mount("/control/", http.NotFoundHandler()); err != nil {
		t.Fatal(err)
	}
	if err := s.Mount("/control/", http.NotFoundHandler()); err == nil {
		t.Fatal("mounting a pattern twice did not fail")
	}
	if err := s.Mount("/x/", nil); err == nil {
		t.Fatal("mounting nil did not fail")
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for i, opts := range [][]Option{
		{WithShardCount(0)},
		{WithMaxConcurrency(0)},
		{WithSessionStartLimit(5, 6)},
		{WithSessionStartLimit(-1, 0)},
		{WithHeartbeatInterval(time.Microsecond)},
		{WithHeartbeatGrace(-time.Second)},
		{WithResumeWindow(-time.Second)},
		{WithGuilds(-1)},
		{WithMembersPerGuild(1 << 20)},
		{WithClock(nil)},
		{WithZlibSplit(-1)},
		{WithMaxGuildsPerShard(0)},
		{WithToken("")},
	} {
		if s, err := New(opts...); err == nil {
			s.Close()
			t.Errorf("options %d accepted", i)
		} else if !strings.HasPrefix(err.Error(), "fakediscord: ") {
			t.Errorf("error %q", err)
		}
	}
}
