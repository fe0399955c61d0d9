package restsim

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// oauth2Lifetime is how long an issued access token lasts, as Discord's do (7 days).
const oauth2Lifetime = 7 * 24 * time.Hour

// OAuth2Grant is an authorization the simulated user gave an application, as if they had
// clicked Authorize on the consent screen: the code IssueOAuth2Code returns for it can be
// exchanged at POST /oauth2/token once, by this client, with this redirect URI.
type OAuth2Grant struct {
	// ClientID is the application's id (default Config.ApplicationID).
	ClientID string
	// ClientSecret is the secret the exchange must authenticate with. Required.
	ClientSecret string
	// RedirectURI is the redirect URI the code was issued for; the exchange must send the
	// same one ("" means it must send none).
	RedirectURI string
	// Scopes are the granted scopes, answered space-separated in "scope".
	Scopes []string
}

// OAuth2Token is an access token the simulator issued.
type OAuth2Token struct {
	ClientID string
	Scopes   []string
	Expires  time.Time
}

// oauth2Grants are the codes and tokens issued; Server.mu guards them.
type oauth2Grants struct {
	codes  map[string]OAuth2Grant
	tokens map[string]OAuth2Token
}

// IssueOAuth2Code records g and returns its authorization code, which is good for one
// exchange.
func (s *Server) IssueOAuth2Code(g OAuth2Grant) string {
	if g.ClientID == "" {
		g.ClientID = s.cfg.ApplicationID.String()
	}
	g.Scopes = append([]string(nil), g.Scopes...)
	code := randomHex()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oauth2.codes == nil {
		s.oauth2.codes = map[string]OAuth2Grant{}
		s.oauth2.tokens = map[string]OAuth2Token{}
	}
	s.oauth2.codes[code] = g
	return code
}

// IssuedOAuth2Token reports whether the simulator issued accessToken, and for what.
func (s *Server) IssuedOAuth2Token(accessToken string) (OAuth2Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.oauth2.tokens[accessToken]
	t.Scopes = append([]string(nil), t.Scopes...)
	return t, ok
}

func randomHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func oauth2Error(status int, code, desc string) response {
	return response{status: status, body: map[string]string{"error": code, "error_description": desc}}
}

// oauth2Token is POST /oauth2/token with grant_type=authorization_code. The client
// authenticates with HTTP Basic auth (credentials form-encoded, RFC 6749 §2.3.1) or with
// client_id and client_secret in the form; a bot token is refused.
func (s *Server) oauth2Token(c *call) response {
	if ct := c.r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return oauth2Error(http.StatusBadRequest, "invalid_request", "The request body must be application/x-www-form-urlencoded.")
	}
	form, err := url.ParseQuery(string(c.body))
	if err != nil {
		return oauth2Error(http.StatusBadRequest, "invalid_request", "Malformed form body.")
	}
	id, secret, basic := c.r.BasicAuth()
	switch {
	case basic:
		id, err = url.QueryUnescape(id)
		if err == nil {
			secret, err = url.QueryUnescape(secret)
		}
		if err != nil {
			return oauth2Error(http.StatusUnauthorized, "invalid_client", "Invalid client credentials encoding.")
		}
	case c.r.Header.Get("Authorization") != "":
		return oauth2Error(http.StatusUnauthorized, "invalid_client", "Unsupported client authentication.")
	default:
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if gt := form.Get("grant_type"); gt != "authorization_code" {
		return oauth2Error(http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type.")
	}
	code := form.Get("code")
	if code == "" {
		return oauth2Error(http.StatusBadRequest, "invalid_request", "Missing \"code\" in request.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, found := s.oauth2.codes[code]
	switch {
	case !found:
		return oauth2Error(http.StatusBadRequest, "invalid_grant", "Invalid \"code\" in request.")
	case id != g.ClientID || secret != g.ClientSecret:
		// Wrong credentials leave the code usable, as a stranger's guess should not burn it.
		return oauth2Error(http.StatusUnauthorized, "invalid_client", "Invalid client.")
	}
	delete(s.oauth2.codes, code) // a code works once, right or wrong from here on
	if form.Get("redirect_uri") != g.RedirectURI {
		return oauth2Error(http.StatusBadRequest, "invalid_grant", "Invalid \"redirect_uri\" in request.")
	}
	access, refresh := randomHex(), randomHex()
	s.oauth2.tokens[access] = OAuth2Token{ClientID: g.ClientID, Scopes: g.Scopes, Expires: c.now.Add(oauth2Lifetime)}
	return ok(map[string]any{
		"access_token":  access,
		"token_type":    "Bearer",
		"expires_in":    int(oauth2Lifetime / time.Second),
		"refresh_token": refresh,
		"scope":         strings.Join(g.Scopes, " "),
	})
}
