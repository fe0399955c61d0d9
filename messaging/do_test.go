package messaging_test

import (
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/messaging"
	"github.com/cordage/cordage/test/fakediscord/restsim"
)

func TestDoGenericRoute(t *testing.T) {
	e := newEnv(t, 100, restsim.Config{})
	ctx := testCtx(t)
	var roles []events.Role
	if err := e.client.Do(ctx, "GET", "/guilds/{guild.id}/roles", []any{e.seed.GuildID}, nil, &roles,
		messaging.WithQuery(url.Values{"x": {"1"}}), messaging.WithHeader("X-Test", "yes")); err != nil {
		t.Fatal(err)
	}
	if len(roles) != 3 || roles[0].Name != "@everyone" {
		t.Fatalf("roles = %+v", roles)
	}
	// A raw JSON body and a template with a query.
	var m events.Message
	if err := e.client.Do(ctx, "POST", "/channels/{channel.id}/messages?x=1", []any{e.seed.ChannelIDs[0]}, []byte(`{"content":"raw"}`), &m); err != nil || m.Content != "raw" {
		t.Fatalf("raw body: %+v, %v", m, err)
	}
	if err := e.client.Do(ctx, "GET", "/channels/{channel.id", []any{e.seed.ChannelIDs[0]}, nil, nil); !errors.Is(err, messaging.ErrInvalidInput) {
		t.Fatalf("malformed template: %v", err)
	}
}

func TestObserverSeesRetries(t *testing.T) {
	var mu sync.Mutex
	var seen []messaging.RequestInfo
	obs := observerFunc(func(ri messaging.RequestInfo) {
		mu.Lock()
		seen = append(seen, ri)
		mu.Unlock()
	})
	e := newEnv(t, 50, restsim.Config{}, messaging.WithObserver(obs))
	ctx := testCtx(t)
	e.sim.InjectRateLimit(restsim.Match{Route: "/users/{user.id}"}, restsim.ScopeShared, 100*time.Millisecond, 1)
	if _, err := e.client.GetUser(ctx, e.seed.UserIDs[0]); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("observed %+v", seen)
	}
	first, second := seen[0], seen[1]
	if first.Status != 429 || first.Scope != messaging.ScopeShared || !first.Retrying || first.Attempt != 1 || first.RetryAfter != 100*time.Millisecond || first.Bucket == "" {
		t.Fatalf("first = %+v", first)
	}
	if second.Status != 200 || second.Retrying || second.Attempt != 2 || second.Route != "/users/{user.id}" || second.Queued < 100*time.Millisecond {
		t.Fatalf("second = %+v", second)
	}
}
