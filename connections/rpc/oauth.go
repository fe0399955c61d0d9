package rpc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cordage/cordage/events"
)

// Token is the answer of the OAuth2 code-for-token exchange: an alias of events.OAuth2Token,
// the type package messaging returns too. Its secrets never print: %v, %+v and %#v show the
// type, scope and lifetime only.
type Token = events.OAuth2Token

// TokenExchanger turns an authorization code from AUTHORIZE into an access token
// (POST /oauth2/token with grant_type=authorization_code). *messaging.Client satisfies it:
// pass the bot's REST client with WithTokenExchanger so the exchange shares its rate limits,
// retries and error handling. HTTPTokenExchanger is the stand-alone fallback for programs
// without a REST client.
type TokenExchanger interface {
	ExchangeCode(ctx context.Context, clientID, clientSecret, code, redirectURI string) (Token, error)
}

// HTTPTokenExchanger posts the exchange to APIBase + "/oauth2/token", form-encoded. It is
// the default when no WithTokenExchanger is given; prefer the messaging client when the
// program has one.
type HTTPTokenExchanger struct {
	APIBase string       // e.g. DefaultAPIBase
	Client  *http.Client // nil: http.DefaultClient
}

// OAuthError is a refused token exchange: the HTTP status and the OAuth2 error fields.
type OAuthError struct {
	Status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *OAuthError) Error() string {
	if e.Description != "" {
		return fmt.Sprintf("rpc: token exchange refused: %d %s: %s", e.Status, e.Code, e.Description)
	}
	return fmt.Sprintf("rpc: token exchange refused: %d %s", e.Status, e.Code)
}

// maxTokenResponse bounds the token endpoint's answer; a real one is a few hundred bytes.
const maxTokenResponse = 64 << 10

// ExchangeCode implements TokenExchanger. Neither the secret nor the code appears in its
// errors.
func (h HTTPTokenExchanger) ExchangeCode(ctx context.Context, clientID, clientSecret, code, redirectURI string) (Token, error) {
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"client_id":     {clientID},
		"client_secret": {clientSecret},
	}
	if redirectURI != "" {
		form.Set("redirect_uri", redirectURI)
	}
	base := strings.TrimRight(h.APIBase, "/")
	if base == "" {
		base = DefaultAPIBase
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, fmt.Errorf("rpc: token exchange: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	hc := h.Client
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		// *url.Error carries the URL, which holds no secret (they are in the body).
		return Token{}, fmt.Errorf("rpc: token exchange: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return Token{}, fmt.Errorf("rpc: token exchange: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		oe := &OAuthError{Status: resp.StatusCode}
		_ = json.Unmarshal(body, oe)
		return Token{}, oe
	}
	var t Token
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return Token{}, fmt.Errorf("rpc: token exchange: answer has no access token")
	}
	return t, nil
}

// secret holds the access token the client re-sends after a reconnect, behind a pointer and
// a redacting Format so no dump of the client shows it.
type secret struct{ v string }

func (*secret) Format(f fmt.State, _ rune) { io.WriteString(f, "[redacted]") }
