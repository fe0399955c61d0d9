package events_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cordage/cordage/events"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestOAuth2TokenPrintsNoSecret(t *testing.T) {
	tok := events.OAuth2Token{AccessToken: "acc-SECRET-1", TokenType: "Bearer", ExpiresIn: 604800, RefreshToken: "ref-SECRET-2", Scope: "rpc identify"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		for _, arg := range []any{tok, &tok, []events.OAuth2Token{tok}, struct{ T events.OAuth2Token }{tok}} {
			out := fmt.Sprintf(verb, arg)
			if strings.Contains(out, "SECRET") {
				t.Fatalf("%s of %T printed a secret: %s", verb, arg, out)
			}
		}
	}
	if s := tok.String(); !strings.Contains(s, "Bearer") || !strings.Contains(s, "rpc identify") || !strings.Contains(s, "[redacted]") {
		t.Fatalf("String = %q", s)
	}
	if s := (events.OAuth2Token{TokenType: "Bearer"}).String(); !strings.Contains(s, "AccessToken:[none]") {
		t.Fatalf("empty token String = %q", s)
	}
	if tok.Lifetime() != 7*24*time.Hour || len(tok.Scopes()) != 2 || tok.Scopes()[1] != "identify" {
		t.Fatalf("Lifetime %v Scopes %q", tok.Lifetime(), tok.Scopes())
	}
}

func TestOAuth2TokenJSON(t *testing.T) {
	in := `{"access_token":"a","token_type":"Bearer","expires_in":604800,"refresh_token":"r","scope":"rpc identify"}`
	var tok events.OAuth2Token
	if err := json.Unmarshal([]byte(in), &tok); err != nil {
		t.Fatal(err)
	}
	want := events.OAuth2Token{AccessToken: "a", TokenType: "Bearer", ExpiresIn: 604800, RefreshToken: "r", Scope: "rpc identify"}
	if tok != want {
		t.Fatalf("decoded %#v", tok)
	}
	out, err := json.Marshal(tok)
	if err != nil || string(out) != in {
		t.Fatalf("encoded %s, %v", out, err)
	}
}

// A token handed to zap as a field must not leak either: zap.Any picks the Stringer.
func TestOAuth2TokenZapFieldPrintsNoSecret(t *testing.T) {
	tok := events.OAuth2Token{AccessToken: "acc-SECRET-1", TokenType: "Bearer", RefreshToken: "ref-SECRET-2"}
	var buf strings.Builder
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	core := zapcore.NewCore(enc, zapcore.AddSync(&buf), zap.DebugLevel)
	log := zap.New(core)
	log.Info("token", zap.Any("tok", tok), zap.Any("ptr", &tok), zap.Stringer("s", tok))
	_ = log.Sync()
	if strings.Contains(buf.String(), "SECRET") || !strings.Contains(buf.String(), "Bearer") {
		t.Fatalf("log line: %s", buf.String())
	}
}
