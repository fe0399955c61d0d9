package rpc_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections/rpc"
	"github.com/cordage/cordage/messaging"
	"github.com/cordage/cordage/test/fakediscord/rpcsim"
)

// The bot's REST client is a TokenExchanger, so Login can share its rate limits and errors.
var _ rpc.TokenExchanger = (*messaging.Client)(nil)

// tokenRequests records the requests a messaging.Client reports to its Observer.
type tokenRequests struct {
	mu   sync.Mutex
	reqs []messaging.RequestInfo
}

func (r *tokenRequests) ObserveRequest(i messaging.RequestInfo) {
	r.mu.Lock()
	r.reqs = append(r.reqs, i)
	r.mu.Unlock()
}

func (r *tokenRequests) all() []messaging.RequestInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]messaging.RequestInfo(nil), r.reqs...)
}

// TestLoginThroughMessaging runs Login with the REST client as the exchanger against the
// simulated app's token endpoint. The default exchanger is pointed at an address where nothing
// listens, so the login can only succeed through messaging.
func TestLoginThroughMessaging(t *testing.T) {
	const redirect = "https://app.example/rpc-callback"
	sim := rpcsim.NewServer(t, rpcsim.WithIPCDir(t.TempDir()), rpcsim.WithClock(clock.Scaled(1000)), rpcsim.WithRedirectURIs(redirect))
	var seen tokenRequests
	rest, err := messaging.New("bot-token", messaging.WithBaseURL(sim.APIBase()), messaging.WithObserver(&seen))
	if err != nil {
		t.Fatal(err)
	}
	defer rest.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := make(chan rpc.Event, 16)
	c, err := rpc.Dial(ctx, rpcsim.DefaultClientID, out,
		rpc.WithTransports(rpc.IPC), rpc.WithIPCPaths(sim.IPCPath()), rpc.WithClock(clock.Scaled(1000)),
		rpc.WithAPIBase("http://127.0.0.1:1/api"), rpc.WithTokenExchanger(rest))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	select {
	case ev := <-out:
		if _, ok := ev.(*rpc.Ready); !ok {
			t.Fatalf("first event %T, want *rpc.Ready", ev)
		}
	case <-ctx.Done():
		t.Fatal("no Ready")
	}

	res, tok, err := c.Login(ctx, rpc.LoginParams{Scopes: []string{"rpc", "identify"}, ClientSecret: rpcsim.DefaultClientSecret, RedirectURI: redirect})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || len(res.Scopes) != 2 {
		t.Fatalf("Login = %+v, %s", res, tok)
	}
	if r := seen.all(); len(r) != 1 || r[0].Route != "/oauth2/token" || r[0].Status != 200 {
		t.Fatalf("messaging saw %+v", r)
	}
	// The token works: a command that needs the rpc scope succeeds.
	if _, err := c.Guilds(ctx); err != nil {
		t.Fatalf("Guilds after Login: %v", err)
	}

	// A refusal comes back as messaging's error, without the secret.
	_, _, err = c.Login(ctx, rpc.LoginParams{Scopes: []string{"rpc"}, ClientSecret: "wrong-SECRET-value", RedirectURI: redirect})
	var oe *messaging.OAuth2Error
	if !errors.As(err, &oe) || oe.Code != "invalid_client" || !errors.Is(err, messaging.ErrUnauthorized) || strings.Contains(err.Error(), "wrong-SECRET-value") {
		t.Fatalf("Login with a wrong secret: %v", err)
	}
	_, _, err = c.Login(ctx, rpc.LoginParams{Scopes: []string{"rpc"}, ClientSecret: rpcsim.DefaultClientSecret, RedirectURI: "https://other.example/"})
	if !errors.As(err, &oe) || oe.Code != "invalid_grant" || !errors.Is(err, messaging.ErrBadRequest) {
		t.Fatalf("Login with a wrong redirect URI: %v", err)
	}
	if n := len(seen.all()); n != 3 {
		t.Fatalf("messaging saw %d requests, want 3", n)
	}
}
