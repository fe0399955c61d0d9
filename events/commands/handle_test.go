package commands_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events/commands"
)

// armed checks that the handler's defer timer is armed; Handle arms it before calling the
// handler, so once the handler has signalled that it started no waiting is needed.
func armed(t *testing.T, clk *clock.Manual) {
	t.Helper()
	if n := clk.Waiters(); n != 1 {
		t.Fatalf("clock has %d armed timers, want 1", n)
	}
}

func TestAutoDeferSlowHandler(t *testing.T) {
	clk := clock.NewManual(time.Unix(0, 0))
	r := commands.New(commands.WithClock(clk))
	started, release := make(chan struct{}), make(chan struct{})
	err := commands.Register(r, func(ctx context.Context, c *commands.Context, _ Ping) error {
		close(started)
		<-release
		if err := c.Reply(ctx, "pong, slowly"); err != nil {
			return err
		}
		return c.Reply(ctx, "and a second message")
	})
	if err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI()
	done := make(chan error, 1)
	go func() { done <- r.Handle(context.Background(), api, interactionJSON(2, `{"name":"ping","type":1}`)) }()
	<-started
	armed(t, clk)

	clk.Advance(1999 * time.Millisecond)
	select {
	case c := <-api.calls:
		t.Fatalf("responded before 2 s: %+v", c)
	default:
	}
	clk.Advance(time.Millisecond)
	if c := api.wait(t); c.Method != "respond" || c.Resp.Type != commands.ResponseDeferredChannelMessage || c.Resp.Data != nil {
		t.Fatalf("want a deferred response at 2 s, got %+v", c)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	calls := api.Calls()
	if len(calls) != 3 || calls[1].Method != "edit" || calls[1].Msg.Content != "pong, slowly" ||
		calls[2].Method != "followup" || calls[2].Msg.Content != "and a second message" {
		t.Errorf("after the defer, Reply must edit the original, then follow up: %+v", calls)
	}
	if clk.Waiters() != 0 {
		t.Errorf("timer left armed")
	}
}

func TestFastHandlerIsNotDeferred(t *testing.T) {
	clk := clock.NewManual(time.Unix(0, 0))
	r := commands.New(commands.WithClock(clk))
	if err := commands.Register(r, func(ctx context.Context, c *commands.Context, _ Ping) error { return c.Ephemeral(ctx, "pong") }); err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI()
	if err := r.Handle(t.Context(), api, interactionJSON(2, `{"name":"ping","type":1}`)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	calls := api.Calls()
	if len(calls) != 1 || calls[0].Resp.Type != commands.ResponseChannelMessage || calls[0].Resp.Data.Flags != commands.FlagEphemeral {
		t.Errorf("calls: %+v", calls)
	}
}

type Secret struct {
	_ struct{} `desc:"Slow and private"`
}

func (Secret) Command() commands.Meta {
	return commands.Meta{Description: "Slow and private", DeferEphemeral: true}
}

func TestAutoDeferEphemeralAndSilentHandler(t *testing.T) {
	clk := clock.NewManual(time.Unix(0, 0))
	r := commands.New(commands.WithClock(clk), commands.WithDeferAfter(500*time.Millisecond))
	started, release := make(chan struct{}), make(chan struct{})
	err := commands.Register(r, func(ctx context.Context, c *commands.Context, _ Secret) error {
		close(started)
		<-release
		return nil // answers nothing itself
	})
	if err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI()
	done := make(chan error, 1)
	go func() { done <- r.Handle(context.Background(), api, interactionJSON(2, `{"name":"secret","type":1}`)) }()
	<-started
	armed(t, clk)
	clk.Advance(500 * time.Millisecond)
	if c := api.wait(t); c.Resp.Type != commands.ResponseDeferredChannelMessage || c.Resp.Data == nil || c.Resp.Data.Flags != commands.FlagEphemeral {
		t.Fatalf("want an ephemeral defer, got %+v", c)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c := api.Calls(); len(c) != 2 || c[1].Method != "edit" || c[1].Msg.Content != "Done." {
		t.Errorf("a silent handler's defer must be resolved: %+v", c)
	}
}

func TestHandlerErrors(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	r := commands.New(commands.WithLogger(zap.New(core)))
	type Fail struct {
		_    struct{} `desc:"Fails"`
		Kind string   `desc:"how"`
	}
	err := commands.Register(r, func(ctx context.Context, c *commands.Context, o Fail) error {
		switch o.Kind {
		case "user":
			return fmt.Errorf("wrapped: %w", commands.Errorf("You need %d coins.", 5))
		case "internal":
			return errors.New("db at 10.0.0.1 refused")
		case "panic":
			var m map[string]int
			m["x"] = 1
		case "panic-after-reply":
			_ = c.Reply(ctx, "partial")
			panic("boom")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	run := func(kind string) (error, []call) {
		api := newFakeAPI()
		err := r.Handle(t.Context(), api, interactionJSON(2, `{"name":"fail","type":1,"options":[{"name":"kind","type":3,"value":"`+kind+`"}]}`))
		return err, api.Calls()
	}

	err, calls := run("user")
	var ue *commands.UserError
	if !errors.As(err, &ue) || len(calls) != 1 || calls[0].Resp.Data.Content != "You need 5 coins." || calls[0].Resp.Data.Flags != commands.FlagEphemeral {
		t.Errorf("user error: %v %+v", err, calls)
	}
	err, calls = run("internal")
	if err == nil || len(calls) != 1 || strings.Contains(calls[0].Resp.Data.Content, "10.0.0.1") || !strings.Contains(calls[0].Resp.Data.Content, "Sorry") {
		t.Errorf("internal error must not leak to the user: %v %+v", err, calls)
	}
	err, calls = run("panic")
	var pe *commands.PanicError
	if !errors.As(err, &pe) || len(calls) != 1 || !strings.Contains(calls[0].Resp.Data.Content, "Sorry") {
		t.Errorf("panic: %v %+v", err, calls)
	}
	if logs.FilterMessage("commands: handler panicked").Len() != 1 {
		t.Errorf("panic not logged once: %v", logs.All())
	}
	err, calls = run("panic-after-reply")
	if !errors.As(err, &pe) || len(calls) != 2 || calls[0].Resp.Data.Content != "partial" || calls[1].Method != "followup" {
		t.Errorf("panic after reply must follow up: %v %+v", err, calls)
	}
	for _, e := range logs.All() {
		for _, f := range e.Context {
			if strings.Contains(fmt.Sprint(f.Interface, f.String), "tok-secret") {
				t.Errorf("log line carries the interaction token: %v", e)
			}
		}
	}
}

func TestContextResponseRules(t *testing.T) {
	r := commands.New()
	var wg sync.WaitGroup
	err := commands.Register(r, func(ctx context.Context, c *commands.Context, _ Ping) error {
		if _, err := c.Followup(ctx, commands.Message{Content: "x"}); !errors.Is(err, commands.ErrNoResponse) {
			t.Errorf("followup before a response: %v", err)
		}
		if err := c.EditOriginal(ctx, commands.Message{Content: "x"}); !errors.Is(err, commands.ErrNoResponse) {
			t.Errorf("edit before a response: %v", err)
		}
		if err := c.Defer(ctx, false); err != nil {
			return err
		}
		if err := c.Defer(ctx, true); err != nil { // no-op
			return err
		}
		if !c.Responded() {
			t.Error("Responded false after Defer")
		}
		// Concurrent replies from the handler's own goroutines: one edit, then followups.
		for i := range 3 {
			wg.Go(func() { _ = c.Reply(ctx, fmt.Sprint("part ", i)) })
		}
		wg.Wait()
		if err := c.EditOriginal(ctx, commands.Message{Content: "final"}); err != nil {
			return err
		}
		id, err := c.Followup(ctx, commands.Message{Content: "more"})
		if err != nil || id != 77 {
			t.Errorf("followup: %v %v", id, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI()
	if err := r.Handle(t.Context(), api, interactionJSON(2, `{"name":"ping","type":1}`)); err != nil {
		t.Fatal(err)
	}
	var methods []string
	for _, c := range api.Calls() {
		methods = append(methods, c.Method)
	}
	if got := strings.Join(methods, ","); got != "respond,edit,followup,followup,edit,followup" {
		t.Errorf("calls: %s", got)
	}
}

func TestRESTFailureIsReturned(t *testing.T) {
	r := commands.New()
	if err := commands.Register(r, func(ctx context.Context, c *commands.Context, _ Ping) error { return c.Reply(ctx, "pong") }); err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI()
	boom := errors.New("503 from discord")
	api.failNext = boom
	err := r.Handle(t.Context(), api, interactionJSON(2, `{"name":"ping","type":1}`))
	if !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
}
