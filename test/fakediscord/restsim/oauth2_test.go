package restsim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/cordage/cordage/test/fakediscord/restsim"
)

// tokenRequest posts a form to /oauth2/token with Basic credentials (id and secret non-empty)
// or none.
func tokenRequest(t *testing.T, sim *restsim.Server, id, secret string, form url.Values, hdr ...string) answer {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/v10/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	var a answer
	a.status, a.h, a.raw = rec.Code, rec.Header(), rec.Body.String()
	a.body = map[string]any{}
	if err := json.Unmarshal(rec.Body.Bytes(), &a.body); err != nil {
		t.Fatalf("answer %d %q: %v", rec.Code, a.raw, err)
	}
	return a
}

func codeForm(code, redirect string) url.Values {
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
	if redirect != "" {
		f.Set("redirect_uri", redirect)
	}
	return f
}

func TestOAuth2TokenExchange(t *testing.T) {
	h := newHarness(restsim.Config{})
	const secret, redirect = "s3cr&t:value", "https://app.example/callback"
	app := restsim.DefaultApplicationID.String()
	code := h.sim.IssueOAuth2Code(restsim.OAuth2Grant{ClientSecret: secret, RedirectURI: redirect, Scopes: []string{"rpc", "identify"}})

	a := tokenRequest(t, h.sim, app, secret, codeForm(code, redirect))
	if a.status != http.StatusOK || a.body["token_type"] != "Bearer" || a.body["scope"] != "rpc identify" || a.body["expires_in"] != float64(604800) {
		t.Fatalf("exchange: %d %s", a.status, a.raw)
	}
	access, _ := a.body["access_token"].(string)
	if refresh, _ := a.body["refresh_token"].(string); access == "" || refresh == "" || access == refresh {
		t.Fatalf("tokens %q %q", access, refresh)
	}
	if tok, ok := h.sim.IssuedOAuth2Token(access); !ok || tok.ClientID != app || len(tok.Scopes) != 2 || !tok.Expires.After(h.clk.Now()) {
		t.Fatalf("issued %+v %v", tok, ok)
	}
	if _, ok := h.sim.IssuedOAuth2Token("not-issued"); ok {
		t.Fatal("an unknown token counts as issued")
	}
	// A code works once.
	if a := tokenRequest(t, h.sim, app, secret, codeForm(code, redirect)); a.status != 400 || a.body["error"] != "invalid_grant" {
		t.Fatalf("second use: %d %s", a.status, a.raw)
	}
	if l := h.sim.Ledger(); len(l) != 2 || l[0].Route != "/oauth2/token" || l[0].Status != 200 {
		t.Fatalf("ledger %+v", l)
	}
}

func TestOAuth2TokenRefusals(t *testing.T) {
	h := newHarness(restsim.Config{})
	const secret, redirect = "app-secret", "https://app.example/cb"
	app := restsim.DefaultApplicationID.String()
	issue := func() string {
		return h.sim.IssueOAuth2Code(restsim.OAuth2Grant{ClientSecret: secret, RedirectURI: redirect, Scopes: []string{"identify"}})
	}

	code := issue()
	// Wrong credentials are refused and leave the code usable.
	if a := tokenRequest(t, h.sim, app, "wrong", codeForm(code, redirect)); a.status != 401 || a.body["error"] != "invalid_client" {
		t.Fatalf("wrong secret: %d %s", a.status, a.raw)
	}
	if a := tokenRequest(t, h.sim, "123", secret, codeForm(code, redirect)); a.status != 401 || a.body["error"] != "invalid_client" {
		t.Fatalf("wrong client id: %d %s", a.status, a.raw)
	}
	// A bot token is not client authentication.
	if a := tokenRequest(t, h.sim, "", "", codeForm(code, redirect), "Authorization", "Bot "+restsim.DefaultToken); a.status != 401 || a.body["error"] != "invalid_client" {
		t.Fatalf("bot token: %d %s", a.status, a.raw)
	}
	// Credentials in the form work as well as Basic auth.
	f := codeForm(code, redirect)
	f.Set("client_id", app)
	f.Set("client_secret", secret)
	if a := tokenRequest(t, h.sim, "", "", f); a.status != 200 {
		t.Fatalf("form credentials: %d %s", a.status, a.raw)
	}

	// A wrong redirect URI is refused and spends the code.
	code = issue()
	if a := tokenRequest(t, h.sim, app, secret, codeForm(code, "https://evil.example/cb")); a.status != 400 || !strings.Contains(a.raw, "redirect_uri") {
		t.Fatalf("wrong redirect: %d %s", a.status, a.raw)
	}
	if a := tokenRequest(t, h.sim, app, secret, codeForm(code, redirect)); a.status != 400 || a.body["error"] != "invalid_grant" {
		t.Fatalf("after a wrong redirect: %d %s", a.status, a.raw)
	}
	// So is a missing one when the code was issued for one.
	if a := tokenRequest(t, h.sim, app, secret, codeForm(issue(), "")); a.status != 400 || a.body["error"] != "invalid_grant" {
		t.Fatalf("missing redirect: %d %s", a.status, a.raw)
	}

	code = issue()
	bad := codeForm(code, redirect)
	bad.Set("grant_type", "client_credentials")
	if a := tokenRequest(t, h.sim, app, secret, bad); a.status != 400 || a.body["error"] != "unsupported_grant_type" {
		t.Fatalf("grant type: %d %s", a.status, a.raw)
	}
	if a := tokenRequest(t, h.sim, app, secret, codeForm(code, redirect), "Content-Type", "application/json"); a.status != 400 || a.body["error"] != "invalid_request" {
		t.Fatalf("JSON body: %d %s", a.status, a.raw)
	}
	if a := tokenRequest(t, h.sim, app, secret, codeForm("", redirect)); a.status != 400 || a.body["error"] != "invalid_request" {
		t.Fatalf("no code: %d %s", a.status, a.raw)
	}
	// None of that spent the code.
	if a := tokenRequest(t, h.sim, app, secret, codeForm(code, redirect)); a.status != 200 {
		t.Fatalf("code after refusals: %d %s", a.status, a.raw)
	}
	// Refused credentials count as invalid requests, as every 401 does.
	if n := h.sim.InvalidCount(); n != 3 {
		t.Fatalf("invalid count %d, want 3", n)
	}
}
