package commands_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cordage/cordage/events/commands"
)

// Fruit suggests fruits that start with what the user typed, and shows that the other options
// typed so far are decoded.
type Fruit struct {
	Name  string `discord:"autocomplete" desc:"Which fruit"`
	Count int    `discord:"autocomplete,min=1,max=5" desc:"How many"`
	Ripe  *bool  `desc:"Only ripe ones?"`
}

func (Fruit) Command() commands.Meta { return commands.Meta{Description: "Pick a fruit"} }

func (f Fruit) Autocomplete(ctx context.Context, c *commands.Context, focused commands.Focused) ([]commands.Choice, error) {
	switch focused.Field {
	case "Name":
		var out []commands.Choice
		for _, n := range []string{"apple", "apricot", "banana"} {
			if strings.HasPrefix(n, focused.Value) {
				label := n
				if f.Ripe != nil && *f.Ripe {
					label += " (ripe)"
				}
				out = append(out, commands.Choice{Name: label + " for " + c.User.Username, Value: n})
			}
		}
		return out, nil
	case "Count":
		switch focused.Value {
		case "boom":
			panic("autocomplete bug")
		case "err":
			return nil, errors.New("no counts today")
		case "12":
			return []commands.Choice{{Name: "twelve", Value: int64(12)}}, nil
		case "many":
			var out []commands.Choice
			for i := range 30 {
				out = append(out, commands.Choice{Name: fmt.Sprint(i), Value: int64(i)})
			}
			return out, nil
		}
		// One wrong-typed choice is dropped, the good one kept.
		return []commands.Choice{{Name: "bad", Value: "1"}, {Name: "two", Value: int64(2)}}, nil
	}
	return nil, nil
}

func autocompleteData(focused, value string, extra string) string {
	return fmt.Sprintf(`{"name":"fruit","type":1,"options":[%s{"name":%q,"type":%d,"value":%q,"focused":true}]}`,
		extra, focused, map[string]int{"name": 3, "count": 4}[focused], value)
}

func TestAutocomplete(t *testing.T) {
	r := commands.New()
	handled := false
	if err := commands.Register(r, func(context.Context, *commands.Context, Fruit) error { handled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, focused, value, extra string
		want                        []commands.Choice
		wantErr                     bool
	}{
		{"prefix", "name", "ap", `{"name":"ripe","type":5,"value":true},`, []commands.Choice{
			{Name: "apple (ripe) for alice", Value: "apple"}, {Name: "apricot (ripe) for alice", Value: "apricot"}}, false},
		{"partial other options", "name", "b", `{"name":"count","type":4,"value":"x"},`, []commands.Choice{{Name: "banana for alice", Value: "banana"}}, false},
		{"wrong-typed choice dropped", "count", "", "", []commands.Choice{{Name: "two", Value: int64(2)}}, false},
		{"at most 25", "count", "many", "", nil, false},
		{"handler error", "count", "err", "", []commands.Choice{}, true},
		{"panic", "count", "boom", "", []commands.Choice{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI()
			err := r.Handle(t.Context(), api, interactionJSON(4, autocompleteData(tc.focused, tc.value, tc.extra)))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			calls := api.Calls()
			if len(calls) != 1 || calls[0].Resp.Type != commands.ResponseAutocompleteResult {
				t.Fatalf("calls: %+v", calls)
			}
			got := calls[0].Resp.Data.Choices
			if tc.name == "at most 25" {
				if len(got) != 25 {
					t.Errorf("%d choices sent", len(got))
				}
				return
			}
			if diff := cmp.Diff(tc.want, got, cmpEmpty); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if handled {
		t.Error("autocomplete ran the command handler")
	}
	// A type without Autocomplete answers with no suggestions.
	type Plain struct {
		_ struct{} `desc:"x"`
		S string   `discord:"autocomplete" desc:"s"`
	}
	if err := reg[Plain](r); err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI()
	if err := r.Handle(t.Context(), api, interactionJSON(4, `{"name":"plain","type":1,"options":[{"name":"s","type":3,"value":"q","focused":true}]}`)); err != nil {
		t.Fatal(err)
	}
	if c := api.Calls(); len(c) != 1 || c[0].Resp.Type != commands.ResponseAutocompleteResult || len(c[0].Resp.Data.Choices) != 0 {
		t.Errorf("calls: %+v", c)
	}
}

func TestSubcommandRouting(t *testing.T) {
	r := commands.New()
	var got []string
	admin, err := r.Group(commands.Meta{Name: "admin", Description: "Server tools"})
	if err != nil {
		t.Fatal(err)
	}
	err = commands.Register(admin, func(ctx context.Context, c *commands.Context, o Ban) error {
		got = append(got, fmt.Sprintf("%s user=%v days=%v", c.Command, o.User.ID, o.Days != nil && *o.Days == 3))
		return c.Reply(ctx, "banned")
	})
	if err != nil {
		t.Fatal(err)
	}
	roles, _ := admin.Group(commands.Meta{Name: "roles", Description: "Role tools"})
	err = commands.Register(roles, func(ctx context.Context, c *commands.Context, o AddRole) error {
		got = append(got, fmt.Sprintf("%s role=%v %s", c.Command, o.Role.ID, o.Role.Name))
		return c.Reply(ctx, "added")
	})
	if err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI()
	ban := `{"name":"admin","type":1,"options":[{"name":"ban","type":1,"options":[{"name":"user","type":6,"value":"401"},{"name":"days","type":4,"value":3}]}],
		"resolved":{"users":{"401":{"id":"401","username":"bob"}}}}`
	add := `{"name":"admin","type":1,"options":[{"name":"roles","type":2,"options":[{"name":"add","type":1,"options":[{"name":"role","type":8,"value":"501"}]}]}],
		"resolved":{"roles":{"501":{"id":"501","name":"mods"}}}}`
	for _, d := range []string{ban, add} {
		if err := r.Handle(t.Context(), api, interactionJSON(2, d)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"admin ban user=401 days=true", "admin roles add role=501 mods"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Unknown subcommand, and a group invoked without a subcommand.
	for _, d := range []string{
		`{"name":"admin","type":1,"options":[{"name":"kick","type":1}]}`,
		`{"name":"admin","type":1,"options":[{"name":"user","type":6,"value":"1"}]}`,
	} {
		if err := r.Handle(t.Context(), api, interactionJSON(2, d)); !errors.Is(err, commands.ErrUnknownCommand) {
			t.Errorf("%s: %v", d, err)
		}
	}
}
