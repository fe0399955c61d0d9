package commands_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/commands"
)

// countAPI counts responses and discards them.
type countAPI struct{ n atomic.Int64 }

func (a *countAPI) CreateInteractionResponse(context.Context, events.Snowflake, string, commands.Response) error {
	a.n.Add(1)
	return nil
}

func (a *countAPI) EditOriginalResponse(context.Context, events.Snowflake, string, commands.Message) error {
	a.n.Add(1)
	return nil
}

func (a *countAPI) CreateFollowup(context.Context, events.Snowflake, string, commands.Message) (events.Snowflake, error) {
	a.n.Add(1)
	return 1, nil
}

// FuzzDecodeOptions feeds arbitrary command data (name, options, resolved objects) through
// Handle for commands of every option type, a group and autocomplete. Handle must never
// panic, and every interaction it accepts must get at least one response.
func FuzzDecodeOptions(f *testing.F) {
	f.Add(2, []byte(everythingData))
	f.Add(4, []byte(autocompleteData("name", "ap", `{"name":"ripe","type":5,"value":true},`)))
	f.Add(2, []byte(`{"name":"admin","type":1,"options":[{"name":"ban","type":1,"options":[{"name":"user","type":6,"value":"401"},{"name":"days","type":4,"value":3}]}],"resolved":{"users":{"401":{"id":"401"}}}}`))
	f.Add(2, []byte(`{"name":"admin","type":1,"options":[{"name":"roles","type":2,"options":[{"name":"add","type":1,"options":[{"name":"role","type":8,"value":"501"}]}]}]}`))
	f.Add(2, []byte(`{"name":"roll_dice","type":1,"options":[{"name":"mode","type":3,"value":"sum"},{"name":"target","type":6,"value":"1"},{"name":"times","type":4,"value":1e400}]}`))
	f.Add(2, []byte(`{"name":"everything","options":[{"name":"small","type":4,"value":-9007199254740992},{"name":"any","type":9,"value":"18446744073709551615"}]}`))
	f.Add(2, []byte(`{"name":"everything","options":[{"name":"member","type":6,"value":null},{"name":"file","type":11,"value":"0"}],"resolved":{"members":{"1":null}}}`))

	r := commands.New(commands.WithDeferAfter(0))
	must := func(err error) {
		if err != nil {
			f.Fatal(err)
		}
	}
	must(commands.Register(r, nop[Everything]))
	must(commands.Register(r, nop[RollDice]))
	must(commands.Register(r, nop[Fruit]))
	admin, err := r.Group(commands.Meta{Name: "admin", Description: "Server tools"})
	must(err)
	must(commands.Register(admin, nop[Ban]))
	roles, err := admin.Group(commands.Meta{Name: "roles", Description: "Role tools"})
	must(err)
	must(commands.Register(roles, nop[AddRole]))

	f.Fuzz(func(t *testing.T, typ int, data []byte) {
		api := &countAPI{}
		in := interactionJSON(typ, string(data))
		err := r.Handle(context.Background(), api, in)
		if errors.Is(err, commands.ErrNotHandled) || api.n.Load() > 0 {
			return
		}
		// Only an undecodable payload may go unanswered.
		if err == nil {
			t.Fatalf("accepted without answering: %s", data)
		}
		var ue *commands.OptionError
		if errors.As(err, &ue) || errors.Is(err, commands.ErrUnknownCommand) {
			t.Fatalf("answerable error %v not answered", err)
		}
	})
}
