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
)

// Token is the answer of the OAuth2 code-for-token exchange. Its fields are secrets; %v and
// %+v print none of them.
type Token struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// Format prints the token type and scope only.
func (t Token) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "{TokenType:%s Scope:%s ExpiresIn:%d AccessToken:[redacted]}", t.TokenType, t.Scope, t.ExpiresIn)
}

// TokenExchanger turns an authorization code from AUTHORIZE into an access token
// (POST /oauth2/token with grant_type=authorization_code). The REST client in package
// messaging is meant to satisfy it; HTTPTokenExchanger is a minimal stand-alone one.
type TokenExchanger interface {
	ExchangeCode(ctx context.Context, clientID, clientSecret, code, redirectURI string) (Token, error)
}

// HTTPTokenExchanger posts the exchange to APIBase + "/oauth2/token", form-encoded.
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
