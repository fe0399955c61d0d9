package messaging_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cordage/cordage/connections/rpc"
	"github.com/cordage/cordage/messaging"
	"github.com/cordage/cordage/test/fakediscord/restsim"
)

// The REST client is what the RPC client's Login should exchange codes through.
var _ rpc.TokenExchanger = (*messaging.Client)(nil)

const (
	oauthSecret   = "app-SECRET-value"
	oauthRedirect = "https://app.example/callback"
)

var appID = restsim.DefaultApplicationID.String()

// requestLog records what the client told its Observer.
type requestLog struct {
	mu   sync.Mutex
	reqs []messaging.RequestInfo
}

func (l *requestLog) ObserveRequest(i messaging.RequestInfo) {
	l.mu.Lock()
	l.reqs = append(l.reqs, i)
	l.mu.Unlock()
}

func (l *requestLog) all() []messaging.RequestInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]messaging.RequestInfo(nil), l.reqs...)
}

func TestExchangeCode(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	var seen requestLog
	e := newEnv(t, 100, restsim.Config{}, messaging.WithLogger(zap.New(core)), messaging.WithObserver(&seen))
	code := e.sim.IssueOAuth2Code(restsim.OAuth2Grant{ClientSecret: oauthSecret, RedirectURI: oauthRedirect, Scopes: []string{"rpc", "identify"}})

	tok, err := e.client.ExchangeCode(testCtx(t), appID, oauthSecret, code, oauthRedirect)
	if err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	if tok.TokenType != "Bearer" || tok.Scope != "rpc identify" || tok.ExpiresIn != 604800 || tok.RefreshToken == "" {
		t.Fatalf("token %s", tok)
	}
	if issued, ok := e.sim.IssuedOAuth2Token(tok.AccessToken); !ok || issued.ClientID != appID {
		t.Fatalf("the simulator did not issue %s", tok)
	}

	l := e.ledgerFor("POST", "/oauth2/token")
	if len(l) != 1 {
		t.Fatalf("ledger %+v", e.sim.Ledger())
	}
	en := l[0]
	if en.ContentType != "application/x-www-form-urlencoded" || !strings.Contains(string(en.Body), "grant_type=authorization_code") ||
		strings.Contains(string(en.Body), "client_secret") || strings.Contains(string(en.Body), "client_id") {
		t.Fatalf("request: %q %q", en.ContentType, en.Body)
	}
	if en.UserAgent != e.client.UserAgent() {
		t.Fatalf("User-Agent %q", en.UserAgent)
	}
	// It went through the client's request path: observed, with the route template.
	if r := seen.all(); len(r) != 1 || r[0].Route != "/oauth2/token" || r[0].Method != "POST" || r[0].Status != 200 {
		t.Fatalf("observed %+v", r)
	}
	for _, entry := range logs.All() {
		line := fmt.Sprint(entry.Message, entry.ContextMap())
		if strings.Contains(line, oauthSecret) || strings.Contains(line, code) || strings.Contains(line, tok.AccessToken) {
			t.Fatalf("log line leaks a secret: %s", line)
		}
	}
}

// The exchange must carry the application's credentials, not the bot token: a simulator that
// sees both cannot tell which one to check, and Discord would refuse the bot token.
func TestExchangeCodeSendsNoBotToken(t *testing.T) {
	var auth []string
	var mu sync.Mutex
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		id, secret, ok := r.BasicAuth()
		if r.URL.Path != "/api/oauth2/token" || !ok || id != "42" || secret != oauthSecret || r.FormValue("redirect_uri") != "" {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		fmt.Fprint(w, `{"access_token":"a","token_type":"Bearer","expires_in":10,"refresh_token":"r","scope":"identify"}`)
	}))
	defer ts.Close()
	c, err := messaging.New("bot-TOKEN", messaging.WithBaseURL(ts.URL+"/api"), messaging.WithHTTPClient(ts.Client()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	tok, err := c.ExchangeCode(testCtx(t), "42", oauthSecret, "the-code", "")
	if err != nil || tok.AccessToken != "a" || tok.Lifetime() != 10*time.Second {
		t.Fatalf("ExchangeCode = %s, %v", tok, err)
	}
	if len(auth) != 1 || !strings.HasPrefix(auth[0], "Basic ") || strings.Contains(auth[0], "bot-TOKEN") {
		t.Fatalf("Authorization %q", auth)
	}
}

func TestExchangeCodeRefused(t *testing.T) {
	e := newEnv(t, 100, restsim.Config{})
	grant := restsim.OAuth2Grant{ClientSecret: oauthSecret, RedirectURI: oauthRedirect}
	code := e.sim.IssueOAuth2Code(grant)
	if _, err := e.client.ExchangeCode(testCtx(t), appID, oauthSecret, code, oauthRedirect); err != nil {
		t.Fatal(err)
	}

	check := func(name string, err error, status int, oauthCode string, sentinel error) {
		t.Helper()
		var oe *messaging.OAuth2Error
		if !errors.As(err, &oe) || oe.Status != status || oe.Code != oauthCode || oe.Route != "/oauth2/token" || !errors.Is(err, sentinel) {
			t.Fatalf("%s: %#v (%v)", name, oe, err)
		}
		if msg := err.Error(); strings.Contains(msg, oauthSecret) || strings.Contains(msg, code) ||
			!strings.Contains(msg, oauthCode) || !strings.Contains(msg, "(") {
			t.Fatalf("%s: message %q", name, msg)
		}
	}
	_, err := e.client.ExchangeCode(testCtx(t), appID, oauthSecret, code, oauthRedirect)
	check("used code", err, 400, "invalid_grant", messaging.ErrBadRequest)

	code = e.sim.IssueOAuth2Code(grant)
	_, err = e.client.ExchangeCode(testCtx(t), appID, "wrong-secret", code, oauthRedirect)
	check("wrong secret", err, 401, "invalid_client", messaging.ErrUnauthorized)
	// A refused application secret says nothing about the bot token: bot requests still go.
	if _, err := e.client.GetCurrentUser(testCtx(t)); err != nil {
		t.Fatalf("bot request after an OAuth2 401: %v", err)
	}
	_, err = e.client.ExchangeCode(testCtx(t), appID, oauthSecret, code, "https://other.example/cb")
	check("wrong redirect", err, 400, "invalid_grant", messaging.ErrBadRequest)
	if st := e.client.Stats(); st.Refused != 0 || st.Invalid != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A 429 on the token route is waited out and retried like any other.
func TestExchangeCodeRateLimited(t *testing.T) {
	e := newEnv(t, 1000, restsim.Config{})
	code := e.sim.IssueOAuth2Code(restsim.OAuth2Grant{ClientSecret: oauthSecret})
	e.sim.InjectRateLimit(restsim.Match{Method: "POST", Route: "/oauth2/token"}, restsim.ScopeUser, 2*time.Second, 1)
	if _, err := e.client.ExchangeCode(testCtx(t), appID, oauthSecret, code, ""); err != nil {
		t.Fatalf("ExchangeCode after a 429: %v", err)
	}
	l := e.ledgerFor("POST", "/oauth2/token")
	if len(l) != 2 || l[0].Status != 429 || l[1].Status != 200 {
		t.Fatalf("ledger %+v", l)
	}
	if gap := l[1].Time.Sub(l[0].Time); gap < 2*time.Second {
		t.Fatalf("retried after %v, want at least the 2 s retry_after", gap)
	}
	if st := e.client.Stats(); st.Retries != 1 || st.RateLimited[messaging.ScopeUser] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// Error answers that are not in the OAuth2 shape, and descriptions that echo what they were
// sent, still make clear errors without secrets.
func TestExchangeCodeErrorShapes(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.FormValue("code") {
		case "echo-CODE-1":
			_, secret, _ := r.BasicAuth()
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"invalid_grant","error_description":"code %s with secret %s is bad"}`, r.FormValue("code"), secret)
		case "discord-shape":
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"code":0,"message":"404: Not Found"}`)
		case "no-token":
			fmt.Fprint(w, `{"token_type":"Bearer"}`)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `<html>down</html>`)
		}
	}))
	defer ts.Close()
	c, err := messaging.New("bot-token", messaging.WithBaseURL(ts.URL), messaging.WithHTTPClient(ts.Client()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	ctx := testCtx(t)

	_, err = c.ExchangeCode(ctx, "42", oauthSecret, "echo-CODE-1", "")
	var oe *messaging.OAuth2Error
	if !errors.As(err, &oe) || strings.Contains(err.Error(), oauthSecret) || strings.Contains(err.Error(), "echo-CODE-1") ||
		!strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("echoing server: %v", err)
	}
	_, err = c.ExchangeCode(ctx, "42", oauthSecret, "discord-shape", "")
	var ae *messaging.APIError
	if !errors.As(err, &ae) || !errors.Is(err, messaging.ErrNotFound) || ae.Route != "/oauth2/token" {
		t.Fatalf("Discord-shaped error: %v", err)
	}
	// A POST is not retried after a 5xx: the code may have been spent.
	_, err = c.ExchangeCode(ctx, "42", oauthSecret, "down", "")
	if !errors.Is(err, messaging.ErrServer) || c.Stats().Retries != 0 {
		t.Fatalf("5xx: %v, stats %+v", err, c.Stats())
	}
	if _, err = c.ExchangeCode(ctx, "42", oauthSecret, "no-token", ""); err == nil || !strings.Contains(err.Error(), "no access_token") {
		t.Fatalf("answer without a token: %v", err)
	}
}

func TestExchangeCodeValidates(t *testing.T) {
	e := newEnv(t, 100, restsim.Config{})
	cases := []struct{ id, secret, code, redirect, field string }{
		{"", oauthSecret, "c", "", "client_id"},
		{"4:2", oauthSecret, "c", "", "client_id"},
		{"42", "", "c", "", "client_secret"},
		{"42", oauthSecret, "", "", "code"},
		{"42", oauthSecret, "c", "not a uri", "redirect_uri"},
	}
	for _, tc := range cases {
		_, err := e.client.ExchangeCode(testCtx(t), tc.id, tc.secret, tc.code, tc.redirect)
		var ve *messaging.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field || !errors.Is(err, messaging.ErrInvalidInput) || strings.Contains(err.Error(), oauthSecret) {
			t.Fatalf("%+v: %v", tc, err)
		}
	}
	if n := len(e.sim.Ledger()); n != 0 {
		t.Fatalf("%d requests sent for invalid input", n)
	}
}
