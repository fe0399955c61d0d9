package rpc

import (
	"context"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cordage/cordage/test/fakediscord/rpcsim"
)

// TestRestoreWithARevokedToken: the token was revoked while the app was away, so the
// reconnect cannot log in again; the client says so in Ready and keeps the connection.
func TestRestoreWithARevokedToken(t *testing.T) {
	sim := newSim(t)
	c, out, _ := dial(t, Websocket, sim)
	tok := login(t, c)
	if err := c.SubscribeVoice(ctx(t), rpcsim.VoiceChannelID); err != nil {
		t.Fatal(err)
	}
	up := sim.Restart()
	next[*Disconnected](t, out)
	sim.RevokeToken(tok.AccessToken)
	<-up
	r := next[*Ready](t, out)
	if r.Resubscribed != 0 || ErrorCodeOf(r.RestoreErr) != CodeInvalidToken {
		t.Fatalf("Ready = %+v", r)
	}
	// Rich presence still works without a login.
	if err := c.SetActivity(ctx(t), Activity{State: "still here"}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Guilds(ctx(t))
	wantCode(t, err, CodeInvalidPermissions)
}

// recordingExchanger is a TokenExchanger the caller supplies, as the messaging client will.
type recordingExchanger struct {
	inner TokenExchanger
	codes []string
}

func (r *recordingExchanger) ExchangeCode(ctx context.Context, id, secret, code, redirect string) (Token, error) {
	r.codes = append(r.codes, code)
	return r.inner.ExchangeCode(ctx, id, secret, code, redirect)
}

// TestSecretsStayOutOfLogs logs everything at debug level through a login and a reconnect and
// looks for the token, the secret and the code in every message and field.
func TestSecretsStayOutOfLogs(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	sim := newSim(t)
	x := &recordingExchanger{inner: HTTPTokenExchanger{APIBase: sim.APIBase()}}
	c, out, _ := dial(t, IPC, sim, WithLogger(zap.New(core)), WithTokenExchanger(x))
	tok := login(t, c)
	if len(x.codes) != 1 {
		t.Fatalf("exchanger called %d times", len(x.codes))
	}
	up := sim.Restart()
	next[*Disconnected](t, out)
	<-up
	if r := next[*Ready](t, out); r.RestoreErr != nil {
		t.Fatal(r.RestoreErr)
	}
	secrets := []string{tok.AccessToken, tok.RefreshToken, rpcsim.DefaultClientSecret, x.codes[0]}
	if logs.Len() == 0 {
		t.Fatal("nothing logged")
	}
	for _, e := range logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += " " + k + "=" + strings.TrimSpace(fmtAny(v))
		}
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Fatalf("a secret is logged: %s", line)
			}
		}
	}
}

func fmtAny(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if e, ok := v.(error); ok {
		return e.Error()
	}
	return strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(sprint(v), "\n", " "), "\t", " "))
}
