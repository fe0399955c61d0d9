package commands_test

import (
	"context"
	"testing"

	"github.com/cordage/cordage/events/commands"
)

// BenchmarkHandle measures one interaction end to end: decode the payload, route, decode 12
// options of every type with resolved data, run a handler that replies, marshal-free fake REST.
func BenchmarkHandle(b *testing.B) {
	r := commands.New()
	if err := commands.Register(r, func(ctx context.Context, c *commands.Context, o Everything) error {
		return c.Reply(ctx, o.Text)
	}); err != nil {
		b.Fatal(err)
	}
	api := &countAPI{}
	in := interactionJSON(2, everythingData)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Handle(ctx, api, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandleNoDefer is BenchmarkHandle without the automatic-defer timer goroutine, to
// show what the timer costs.
func BenchmarkHandleNoDefer(b *testing.B) {
	r := commands.New(commands.WithDeferAfter(0))
	if err := commands.Register(r, func(ctx context.Context, c *commands.Context, o Everything) error {
		return c.Reply(ctx, o.Text)
	}); err != nil {
		b.Fatal(err)
	}
	api := &countAPI{}
	in := interactionJSON(2, everythingData)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Handle(ctx, api, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommands measures building and validating the declared set, as Sync does first.
func BenchmarkCommands(b *testing.B) {
	r := commands.New()
	for _, err := range []error{reg[Ping](r), reg[RollDice](r), reg[Everything](r)} {
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Commands(); err != nil {
			b.Fatal(err)
		}
	}
}
