package events

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// OAuth2Token is Discord's answer to an OAuth2 token request (POST /oauth2/token), for
// example the authorization-code exchange a local RPC login needs. It lives here so that the
// REST client, which performs the exchange, and the RPC client, which uses the token, share
// one type without importing each other.
//
// AccessToken and RefreshToken are secrets. String and Format (every verb, %#v included)
// print neither, only the type, scope and lifetime, so a token that ends up in a log line or
// an error message leaks nothing. JSON encoding keeps them, so a token can be stored.
type OAuth2Token struct {
	AccessToken string `json:"access_token"`
	// TokenType is "Bearer" for Discord's tokens.
	TokenType string `json:"token_type"`
	// ExpiresIn is the lifetime in seconds from when the token was issued (about a week).
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	// Scope is the space-separated list of scopes granted.
	Scope string `json:"scope"`
}

// Lifetime returns ExpiresIn as a duration.
func (t OAuth2Token) Lifetime() time.Duration { return time.Duration(t.ExpiresIn) * time.Second }

// Scopes returns the granted scopes, split.
func (t OAuth2Token) Scopes() []string { return strings.Fields(t.Scope) }

// String describes the token without its secrets.
func (t OAuth2Token) String() string {
	var b strings.Builder
	b.WriteString("{TokenType:")
	b.WriteString(t.TokenType)
	b.WriteString(" Scope:")
	b.WriteString(t.Scope)
	b.WriteString(" ExpiresIn:")
	b.WriteString(strconv.Itoa(t.ExpiresIn))
	b.WriteString(" AccessToken:")
	b.WriteString(redacted(t.AccessToken))
	b.WriteString(" RefreshToken:")
	b.WriteString(redacted(t.RefreshToken))
	b.WriteString("}")
	return b.String()
}

// Format prints String for every verb, so %v, %+v, %#v, %s and %q all stay free of secrets.
func (t OAuth2Token) Format(f fmt.State, _ rune) { io.WriteString(f, t.String()) }

// redacted says whether a secret is present without showing it.
func redacted(s string) string {
	if s == "" {
		return "[none]"
	}
	return "[redacted]"
}
