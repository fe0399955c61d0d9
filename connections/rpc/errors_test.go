package rpc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cordage/cordage/test/fakediscord/rpcsim"
)

func TestErrorPayloads(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			sim := newSim(t)
			c, _, _ := dial(t, tr, sim)

			sim.FailNext("SET_ACTIVITY", 1000, "something broke")
			err := c.SetActivity(ctx(t), Activity{State: "x"})
			var e *Error
			if !errors.As(err, &e) || e.Cmd != "SET_ACTIVITY" || e.Code != CodeUnknownError || e.Message != "something broke" {
				t.Fatalf("err = %#v", err)
			}
			if !errors.Is(err, &Error{Code: CodeUnknownError}) || errors.Is(err, &Error{Code: CodeInvalidToken}) {
				t.Fatal("errors.Is does not compare codes")
			}
			if ErrorCodeOf(err) != CodeUnknownError || ErrorCodeOf(errors.New("x")) != 0 {
				t.Fatal("ErrorCodeOf")
			}

			_, err = c.Authenticate(ctx(t), "not-a-token")
			wantCode(t, err, CodeInvalidToken)

			sim.DenyAuthorize(true)
			_, err = c.Authorize(ctx(t), "rpc")
			wantCode(t, err, CodeOAuth2Error)
			sim.DenyAuthorize(false)

			_, err = c.Do(ctx(t), Authorize{ClientID: 7, Scopes: []string{"rpc"}})
			wantCode(t, err, CodeInvalidClientID)

			// The token endpoint refuses a wrong secret; the secret is in no error.
			_, _, err = c.Login(ctx(t), LoginParams{Scopes: []string{"rpc"}, ClientSecret: "wrong-secret-value"})
			var oe *OAuthError
			if !errors.As(err, &oe) || oe.Status != 401 || oe.Code != "invalid_client" {
				t.Fatalf("Login with a wrong secret: %v", err)
			}
			if strings.Contains(err.Error(), "wrong-secret-value") {
				t.Fatal("the client secret appears in an error")
			}

			// A command still works after all these refusals: they end nothing.
			if err := c.SetActivity(ctx(t), Activity{State: "ok"}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSecretsStayOutOfPrints(t *testing.T) {
	sim := newSim(t)
	c, _, _ := dial(t, IPC, sim)
	tok := login(t, c)
	c.Close() // so that printing every field does not race with the client's goroutines
	for _, s := range []string{
		fmt.Sprintf("%v %+v %s", tok, tok, tok),
		fmt.Sprintf("%v %+v", Authenticate{AccessToken: tok.AccessToken}, Authenticate{AccessToken: tok.AccessToken}),
		fmt.Sprintf("%+v", c),
	} {
		if strings.Contains(s, tok.AccessToken) || strings.Contains(s, tok.RefreshToken) {
			t.Fatalf("a token is printed: %s", s)
		}
	}
}

func TestCommandAfterCloseAndCtx(t *testing.T) {
	sim := newSim(t)
	c, _, _ := dial(t, Websocket, sim)
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.SetActivity(cctx, Activity{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.SetActivity(ctx(t), Activity{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestDialCtxBoundsLife(t *testing.T) {
	sim := newSim(t)
	life, cancel := context.WithCancel(context.Background())
	out := make(chan Event, 4)
	c, err := Dial(life, rpcsim.DefaultClientID, out, simOptions(IPC, sim)...)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := c.Wait(); err != nil {
		t.Fatalf("Err after ctx cancel = %v, want nil", err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after Wait")
	}
}

func TestDialOptionsValidated(t *testing.T) {
	out := make(chan Event)
	bad := [][]Option{
		{WithTransports()},
		{WithTransports(Transport(9))},
		{WithPorts(0)},
		{WithBackoff(Backoff{Base: 0, Max: 1})},
		{WithBackoff(Backoff{Base: 2, Max: 1, Multiplier: 2})},
		{WithMaxFrameSize(10)},
		{WithDialTimeout(0)},
		{WithEventBuffer(0)},
		{WithMaxReconnects(-1)},
	}
	for i, opts := range bad {
		if _, err := Dial(context.Background(), rpcsim.DefaultClientID, out, opts...); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("case %d: %v, want ErrInvalidOption", i, err)
		}
	}
	for _, id := range []string{"", "0", "abc", "-1"} {
		if _, err := Dial(context.Background(), id, out); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("client id %q: %v", id, err)
		}
	}
	if _, err := Dial(context.Background(), "1", nil); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("nil out: %v", err)
	}
}
