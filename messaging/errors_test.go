package messaging_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/messaging"
	"github.com/cordage/cordage/test/fakediscord/restsim"
)

func TestErrorShapes(t *testing.T) {
	e := newEnv(t, 100, restsim.Config{})
	ctx := testCtx(t)
	ch := e.seed.ChannelIDs[0]

	_, err := e.client.GetChannel(ctx, 42)
	var ae *messaging.APIError
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Code != 10003 || ae.Message != "Unknown Channel" || !errors.Is(err, messaging.ErrNotFound) {
		t.Fatalf("unknown channel: %v", err)
	}
	if ae.Route != "/channels/{channel.id}" || ae.Method != "GET" {
		t.Fatalf("route in error = %s %s", ae.Method, ae.Route)
	}

	e.sim.Forbid(e.seed.ChannelIDs[2])
	_, err = e.client.CreateMessage(ctx, e.seed.ChannelIDs[2], messaging.MessageCreate{Content: "x"})
	if !errors.As(err, &ae) || ae.Code != 50001 || !errors.Is(err, messaging.ErrForbidden) {
		t.Fatalf("forbidden: %v", err)
	}

	// Form errors, reached through Do so that client-side validation does not stop them.
	long := strings.Repeat("x", 2001)
	err = e.client.Do(ctx, "POST", "/channels/{channel.id}/messages", []any{ch}, map[string]any{"content": long}, nil)
	if !errors.As(err, &ae) || ae.Code != 50035 || !errors.Is(err, messaging.ErrBadRequest) ||
		len(ae.Errors) != 1 || ae.Errors[0].Path != "content" || ae.Errors[0].Code != "BASE_TYPE_MAX_LENGTH" {
		t.Fatalf("form error: %v", err)
	}
	if !strings.Contains(err.Error(), "content: Must be 2000 or fewer in length.") {
		t.Fatalf("error text = %q", err)
	}
	err = e.client.Do(ctx, "POST", "/channels/{channel.id}/messages", []any{ch}, map[string]any{}, nil)
	if !errors.As(err, &ae) || ae.Code != 50006 {
		t.Fatalf("empty message: %v", err)
	}
	err = e.client.Do(ctx, "GET", "/no/such/route", nil, nil, nil)
	if !errors.Is(err, messaging.ErrNotFound) {
		t.Fatalf("unknown route: %v", err)
	}

	// 502 on an idempotent request is retried; 500 on a POST is not.
	e.sim.InjectError(restsim.Match{Method: "GET", Route: "/channels/{channel.id}"}, 502, 0, "Bad Gateway", 1)
	if _, err := e.client.GetChannel(ctx, ch); err != nil {
		t.Fatalf("GET after one 502: %v", err)
	}
	e.sim.InjectError(restsim.Match{Method: "POST", Route: "/channels/{channel.id}/messages"}, 500, 0, "Internal Server Error", 1)
	_, err = e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Content: "x"})
	if !errors.As(err, &ae) || ae.Status != 500 || !errors.Is(err, messaging.ErrServer) {
		t.Fatalf("500: %v", err)
	}
	if n := len(e.ledgerFor("GET", "/channels/{channel.id}")); n != 3 {
		t.Fatalf("GET sent %d times, want 3 (unknown channel, 502, retry)", n)
	}
}

func TestFlattenNestedErrors(t *testing.T) {
	body := `{"code":50035,"message":"Invalid Form Body","errors":{"embeds":{"0":{"fields":{"1":{"value":{"_errors":[{"code":"BASE_TYPE_REQUIRED","message":"This field is required"}]}}}}},"content":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"too long"}]}}}`
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprint(w, body)
	}))
	defer ts.Close()
	c, err := messaging.New("tok", messaging.WithBaseURL(ts.URL), messaging.WithHTTPClient(ts.Client()))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Do(testCtx(t), "POST", "/x", nil, map[string]any{}, nil)
	var ae *messaging.APIError
	if !errors.As(err, &ae) {
		t.Fatal(err)
	}
	want := []messaging.FieldError{
		{Path: "content", Code: "BASE_TYPE_MAX_LENGTH", Message: "too long"},
		{Path: "embeds.0.fields.1.value", Code: "BASE_TYPE_REQUIRED", Message: "This field is required"},
	}
	if fmt.Sprint(ae.Errors) != fmt.Sprint(want) {
		t.Fatalf("errors = %+v", ae.Errors)
	}
}

func TestValidationBeforeSending(t *testing.T) {
	e := newEnv(t, 100, restsim.Config{})
	ctx := testCtx(t)
	ch := e.seed.ChannelIDs[0]
	manyEmbeds := make([]events.Embed, 11)
	for i := range manyEmbeds {
		manyEmbeds[i] = events.Embed{Title: "t"}
	}
	bigEmbeds := []events.Embed{{Description: strings.Repeat("d", 4000)}, {Description: strings.Repeat("d", 2001)}}
	cases := map[string]func() error{
		"empty": func() error { _, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{}); return err },
		"content 2001": func() error {
			_, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Content: strings.Repeat("é", 2001)})
			return err
		},
		"11 embeds": func() error {
			_, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Embeds: manyEmbeds})
			return err
		},
		"6001 embed chars": func() error {
			_, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Embeds: bigEmbeds})
			return err
		},
		"zero channel": func() error {
			_, err := e.client.CreateMessage(ctx, 0, messaging.MessageCreate{Content: "x"})
			return err
		},
		"zero message": func() error { _, err := e.client.GetMessage(ctx, ch, 0); return err },
		"zero user":    func() error { _, err := e.client.CreateDM(ctx, 0); return err },
		"nonce 26": func() error {
			_, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Content: "x", Nonce: strings.Repeat("n", 26)})
			return err
		},
		"enforce without nonce": func() error {
			_, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Content: "x", EnforceNonce: true})
			return err
		},
		"mentions parsed and listed": func() error {
			_, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Content: "x", AllowedMentions: &messaging.AllowedMentions{Parse: []string{"users"}, Users: []events.Snowflake{1}}})
			return err
		},
		"11 files": func() error {
			_, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Content: "x", Files: make([]messaging.File, 11)})
			return err
		},
		"unnamed file": func() error {
			_, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Files: []messaging.File{{Data: []byte("x")}}})
			return err
		},
		"reason 513": func() error {
			return e.client.DeleteMessage(ctx, ch, 1, messaging.WithReason(strings.Repeat("r", 513)))
		},
		"reply to zero": func() error { _, err := e.client.Reply(ctx, ch, 0, "x"); return err },
		"edit too long": func() error {
			s := strings.Repeat("x", 2001)
			_, err := e.client.EditMessage(ctx, ch, 1, messaging.MessageEdit{Content: &s})
			return err
		},
		"followup empty": func() error {
			_, err := e.client.SendFollowup(ctx, 1, "tok", messaging.WebhookMessage{})
			return err
		},
		"empty token": func() error { return e.client.DeferInteraction(ctx, 1, "", false) },
		"deferred with flags": func() error {
			return e.client.RespondInteraction(ctx, 1, "tok", messaging.InteractionResponse{Type: 5, Data: &messaging.InteractionResponseData{Flags: events.MessageFlagSuppressEmbeds}})
		},
		"unknown callback type": func() error {
			return e.client.RespondInteraction(ctx, 1, "tok", messaging.InteractionResponse{Type: 3})
		},
		"placeholder count": func() error { return e.client.Do(ctx, "GET", "/channels/{channel.id}", nil, nil, nil) },
		"bad param type":    func() error { return e.client.Do(ctx, "GET", "/channels/{channel.id}", []any{1.5}, nil, nil) },
	}
	for name, f := range cases {
		err := f()
		var ve *messaging.ValidationError
		if !errors.Is(err, messaging.ErrInvalidInput) || !errors.As(err, &ve) {
			t.Errorf("%s: err = %v, want a ValidationError", name, err)
		}
	}
	if n := len(e.sim.Ledger()); n != 0 {
		t.Fatalf("%d requests reached the server", n)
	}
	// The limits themselves are allowed: 2000 characters (not bytes), 10 embeds, 6000 chars.
	if _, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Content: strings.Repeat("é", 2000), Embeds: manyEmbeds[:10]}); err != nil {
		t.Fatal(err)
	}
}

func TestCompressedAnswers(t *testing.T) {
	e := newEnv(t, 100, restsim.Config{})
	ctx := testCtx(t)
	if _, err := e.client.GetChannel(ctx, e.seed.ChannelIDs[0]); err != nil {
		t.Fatal(err)
	}
	if l := e.sim.Ledger(); l[0].Encoding != "br" {
		t.Fatalf("answer encoding = %q, want br (the client asks for br, gzip)", l[0].Encoding)
	}

	// gzip and identity answers, and an encoding the client did not ask for.
	for _, enc := range []string{"gzip", "", "deflate"} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if got := r.Header.Get("Accept-Encoding"); got != "br, gzip" {
				t.Errorf("Accept-Encoding = %q", got)
			}
			body := []byte(`{"id":"5","username":"zipped"}`)
			if enc == "gzip" {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				zw.Write(body)
				zw.Close()
				body = buf.Bytes()
			}
			if enc != "" {
				w.Header().Set("Content-Encoding", enc)
			}
			w.Write(body)
		}))
		c, err := messaging.New("tok", messaging.WithBaseURL(ts.URL), messaging.WithHTTPClient(ts.Client()))
		if err != nil {
			t.Fatal(err)
		}
		u, err := c.GetUser(ctx, 5)
		switch enc {
		case "deflate":
			if err == nil || !strings.Contains(err.Error(), "Content-Encoding") {
				t.Errorf("deflate: err = %v", err)
			}
		default:
			if err != nil || u.Username != "zipped" {
				t.Errorf("%q: %+v, %v", enc, u, err)
			}
		}
		ts.Close()
	}
}

func TestUnauthorizedStopsBotRequests(t *testing.T) {
	e, _ := newManualEnv(t, restsim.Config{Token: "the-real-token"})
	ctx := testCtx(t)
	bad, err := messaging.New("a-wrong-token", messaging.WithBaseURL(e.ts.URL+"/api/v10"), messaging.WithHTTPClient(e.ts.Client()), messaging.WithClock(e.clk))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.GetCurrentUser(ctx); !errors.Is(err, messaging.ErrUnauthorized) {
		t.Fatalf("first: %v", err)
	}
	if _, err := bad.GetChannel(ctx, e.seed.ChannelIDs[0]); !errors.Is(err, messaging.ErrUnauthorized) {
		t.Fatalf("second: %v", err)
	}
	if n := len(e.sim.Ledger()); n != 1 {
		t.Fatalf("%d requests sent; after a 401 the client must stop", n)
	}
	// Interaction routes do not use the bot token and still work.
	it := e.sim.NewInteraction(e.seed.ChannelIDs[0])
	if err := bad.DeferInteraction(ctx, it.ID, it.Token, false); err != nil {
		t.Fatalf("interaction after 401: %v", err)
	}
	if s := bad.Stats(); s.Refused != 1 || s.Invalid != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestInvalidRequestLimit(t *testing.T) {
	e := newEnv(t, 100, restsim.Config{}, messaging.WithInvalidRequestLimit(10, 3))
	ctx := testCtx(t)
	e.sim.Forbid(e.seed.ChannelIDs[1])
	for i := range 7 {
		if _, err := e.client.GetChannel(ctx, e.seed.ChannelIDs[1]); !errors.Is(err, messaging.ErrForbidden) {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	_, err := e.client.GetChannel(ctx, e.seed.ChannelIDs[0])
	if !errors.Is(err, messaging.ErrInvalidRequestLimit) {
		t.Fatalf("8th request: %v", err)
	}
	if n := len(e.sim.Ledger()); n != 7 {
		t.Fatalf("%d sent, want 7", n)
	}
	if e.sim.InvalidCount() != 7 {
		t.Fatalf("simulator counted %d", e.sim.InvalidCount())
	}
}

func TestCloudflareBanNotRetried(t *testing.T) {
	e := newEnv(t, 100, restsim.Config{InvalidLimit: 3})
	ctx := testCtx(t)
	e.sim.Forbid(e.seed.ChannelIDs[1])
	for range 3 {
		e.client.GetChannel(ctx, e.seed.ChannelIDs[1])
	}
	if !e.sim.Banned() {
		t.Fatal("simulator did not ban")
	}
	_, err := e.client.GetChannel(ctx, e.seed.ChannelIDs[0])
	var rle *messaging.RateLimitError
	if !errors.As(err, &rle) || rle.Scope != messaging.ScopeCloudflare || rle.Attempts != 1 {
		t.Fatalf("banned: %v", err)
	}
	if n := len(e.sim.Ledger()); n != 4 {
		t.Fatalf("%d requests, want 4 (no retry against a ban)", n)
	}
}

// TestTokenNeverLeaks drives errors, 429s and interaction routes with a debug logger and checks
// that neither the bot token nor the interaction token shows up anywhere.
func TestTokenNeverLeaks(t *testing.T) {
	const token = "SECRET-BOT-TOKEN.abc123"
	var logs bytes.Buffer
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewDevelopmentEncoderConfig()), zapcore.AddSync(&logs), zap.DebugLevel))
	e := newEnv(t, 100, restsim.Config{Token: token}, messaging.WithLogger(log))
	ctx := testCtx(t)
	var texts []string
	record := func(err error) {
		if err != nil {
			texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
		}
	}
	_, err := e.client.CreateMessage(ctx, e.seed.ChannelIDs[0], messaging.MessageCreate{Content: "x"})
	record(err)
	e.sim.InjectRateLimit(restsim.Match{}, restsim.ScopeUser, 1, 10)
	_, err = e.client.GetChannel(ctx, e.seed.ChannelIDs[0])
	record(err)
	it := e.sim.NewInteraction(e.seed.ChannelIDs[0])
	record(e.client.DeferInteraction(ctx, it.ID, it.Token, false))
	record(e.client.DeferInteraction(ctx, it.ID, it.Token, false)) // 40060
	_, err = e.client.GetFollowup(ctx, restsim.DefaultApplicationID, it.Token, 12345)
	record(err)
	// A transport error on a route with a token in its path.
	dead, _ := messaging.New(token, messaging.WithBaseURL("http://127.0.0.1:1/api/v10"), messaging.WithLogger(log))
	_, err = dead.SendFollowup(ctx, restsim.DefaultApplicationID, it.Token, messaging.WebhookMessage{Content: "x"})
	if err == nil {
		t.Fatal("expected a transport error")
	}
	record(err)
	texts = append(texts, logs.String(), fmt.Sprintf("%+v %#v", e.client, e.client))
	for _, s := range texts {
		if strings.Contains(s, token) || strings.Contains(s, it.Token) {
			t.Fatalf("token leaked: %s", s)
		}
	}
	if !strings.Contains(logs.String(), "rate limited") {
		t.Fatalf("expected 429s to be logged; logs: %s", logs.String())
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, tc := range map[string]struct {
		token string
		opt   messaging.Option
	}{
		"empty token":    {"", nil},
		"token with LF":  {"a\nb", nil},
		"relative base":  {"t", messaging.WithBaseURL("/api/v10")},
		"negative retry": {"t", messaging.WithMaxRetries(-1)},
		"margin ≥ limit": {"t", messaging.WithInvalidRequestLimit(10, 10)},
		"ua newline":     {"t", messaging.WithUserAgent("x\r\nEvil: 1")},
	} {
		if _, err := messaging.New(tc.token, tc.opt); !errors.Is(err, messaging.ErrInvalidOption) {
			t.Errorf("%s: %v", name, err)
		}
	}
	c, err := messaging.New("Bot t", messaging.WithUserAgent("mybot/1.0"), messaging.WithLogger(nil))
	if err != nil || c.UserAgent() != "DiscordBot (https://github.com/cordage/cordage, "+messaging.Version+") mybot/1.0" {
		t.Fatalf("%v %q", err, c.UserAgent())
	}
	_ = context.Background
}
