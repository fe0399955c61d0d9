package messaging

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/cordage/cordage/events"
)

// oauth2TokenRoute is where OAuth2 tokens are issued, relative to the API base.
const oauth2TokenRoute = "/oauth2/token"

// ExchangeCode trades an OAuth2 authorization code (from the web consent screen or from the
// desktop app's RPC AUTHORIZE) for an access token: POST /oauth2/token, form-encoded, with
// grant_type=authorization_code, the code and, when not empty, the redirect URI the code was
// issued for. The application authenticates with HTTP Basic auth (client id and secret); the
// bot token is not sent, and a refusal does not mark it invalid.
//
// The request goes through the client's rate limiter (its own bucket; it does not count
// against the bot's global limit, which applies to bot-token requests) and its 429 handling.
// Like every POST it is not retried after a 5xx: a code works once, and a lost answer may have
// spent it.
//
// A refusal is an *OAuth2Error (errors.Is matches ErrBadRequest, ErrUnauthorized, … by status).
// Input that cannot be sent is a *ValidationError. Neither the secret nor the code appears in
// any error or log line.
//
// With this method *Client satisfies connections/rpc.TokenExchanger: pass the bot's REST
// client to rpc.WithTokenExchanger.
func (c *Client) ExchangeCode(ctx context.Context, clientID, clientSecret, code, redirectURI string) (events.OAuth2Token, error) {
	if err := checkOAuth2Input(clientID, clientSecret, code, redirectURI); err != nil {
		return events.OAuth2Token{}, err
	}
	r, err := compileRoute(http.MethodPost, oauth2TokenRoute, nil)
	if err != nil {
		return events.OAuth2Token{}, err
	}
	// Exempt: authorized by the application's credentials, not the bot token, so no bot
	// Authorization header, no global bot limit, and a 401 says nothing about the bot token.
	r.exempt = true
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
	if redirectURI != "" {
		form.Set("redirect_uri", redirectURI)
	}
	p := &prepared{
		r:           r,
		url:         c.base + r.path,
		body:        []byte(form.Encode()),
		contentType: "application/x-www-form-urlencoded",
		opts: reqOpts{headers: http.Header{
			"Authorization": {basicAuth(clientID, clientSecret)},
			"Accept":        {"application/json"},
		}},
		parseError: func(r *compiled, status int, body []byte) error {
			return parseOAuth2Error(r, status, body, clientSecret, code)
		},
	}
	var tok events.OAuth2Token
	if err := c.run(ctx, p, &tok); err != nil {
		return events.OAuth2Token{}, err
	}
	if tok.AccessToken == "" {
		return events.OAuth2Token{}, fmt.Errorf("messaging: %s %s: answer has no access_token", r.method, r.template)
	}
	return tok, nil
}

func checkOAuth2Input(clientID, clientSecret, code, redirectURI string) error {
	switch {
	case clientID == "":
		return invalid("client_id", "empty")
	case strings.ContainsAny(clientID, ":\r\n"):
		return invalid("client_id", "contains ':' or a line break")
	case clientSecret == "":
		return invalid("client_secret", "empty")
	case code == "":
		return invalid("code", "empty")
	}
	if redirectURI != "" {
		u, err := url.Parse(redirectURI)
		if err != nil || u.Scheme == "" {
			return invalid("redirect_uri", "not an absolute URI")
		}
	}
	return nil
}

// basicAuth encodes client credentials as RFC 6749 §2.3.1 asks: each form-encoded, then
// joined by ':' and base64-encoded. Discord's ids and secrets need no escaping, so this is
// also what a plain Basic header of the raw values would be.
func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// OAuth2Error is a refused OAuth2 token request: the HTTP status and the fields of Discord's
// OAuth2 error answer, {"error": "invalid_grant", "error_description": "..."}. errors.Is
// matches the status sentinels (ErrBadRequest, ErrUnauthorized, ErrServer, …) as for an
// *APIError.
type OAuth2Error struct {
	// Method and Route name the request ("POST", "/oauth2/token").
	Method string
	Route  string
	Status int
	// Code is the OAuth2 error code: invalid_grant (the code is wrong, expired, used or was
	// issued for another redirect URI), invalid_client (wrong client id or secret),
	// invalid_request, unsupported_grant_type, invalid_scope, ...
	Code string
	// Description is Discord's explanation, with any echo of the secret or code removed.
	Description string
}

func (e *OAuth2Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "messaging: %s %s: %d %s", e.Method, e.Route, e.Status, e.Code)
	if hint := oauth2Hints[e.Code]; hint != "" {
		b.WriteString(" (")
		b.WriteString(hint)
		b.WriteString(")")
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	return b.String()
}

// Is matches the sentinel of the status.
func (e *OAuth2Error) Is(target error) bool { return (&APIError{Status: e.Status}).Is(target) }

// oauth2Hints say what the usual causes of each error code are, since Discord's descriptions
// are terse.
var oauth2Hints = map[string]string{
	"invalid_grant":          "the code is wrong, expired, already used, or was issued for another redirect URI",
	"invalid_client":         "the client id or client secret is wrong",
	"invalid_request":        "the request is malformed",
	"unsupported_grant_type": "the grant type is not supported",
	"invalid_scope":          "a requested scope is invalid",
	"unauthorized_client":    "the application may not use this grant",
}

// maxOAuth2Description bounds what an error keeps of the server's description.
const maxOAuth2Description = 300

// parseOAuth2Error builds the error of a refused token request. An answer that is not an
// OAuth2 error (a Discord {code, message} body, an HTML page from a proxy) falls back to an
// *APIError.
func parseOAuth2Error(r *compiled, status int, body []byte, secrets ...string) error {
	var b struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &b) != nil || b.Error == "" {
		return parseAPIError(r, status, body)
	}
	desc := b.Description
	for _, s := range secrets {
		if s != "" {
			desc = strings.ReplaceAll(desc, s, "[redacted]")
		}
	}
	if len(desc) > maxOAuth2Description {
		desc = strings.ToValidUTF8(desc[:maxOAuth2Description], "") + "…"
	}
	code := b.Error
	if len(code) > 64 {
		code = code[:64]
	}
	return &OAuth2Error{Method: r.method, Route: r.template, Status: status, Code: code, Description: desc}
}
