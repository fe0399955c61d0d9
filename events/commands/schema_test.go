package commands_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/commands"
)

func nop[T any](context.Context, *commands.Context, T) error { return nil }

// jsonValue decodes JSON into generic values so two documents compare field by field.
func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, b)
	}
	return v
}

func TestSchemaMatchesDiscordJSON(t *testing.T) {
	r := commands.New()
	if err := commands.Register(r, nop[Ping]); err != nil {
		t.Fatal(err)
	}
	if err := commands.Register(r, nop[RollDice]); err != nil {
		t.Fatal(err)
	}
	if err := commands.Register(r, nop[Everything]); err != nil {
		t.Fatal(err)
	}
	got, err := r.Commands()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	// What Discord's bulk-overwrite endpoint expects, written by hand from the docs.
	want := `[
	{"type": 1, "name": "ping", "description": "Is the bot alive?"},
	{"type": 1, "name": "roll_dice", "description": "Roll some dice",
	 "name_localizations": {"de": "würfeln"},
	 "description_localizations": {"de": "Würfle ein paar Würfel"},
	 "options": [
		{"type": 3, "name": "mode", "description": "How to show the result", "required": true,
		 "choices": [{"name": "Sum", "value": "sum", "name_localizations": {"de": "Summe"}}, {"name": "Each die", "value": "each"}]},
		{"type": 6, "name": "target", "description": "Who rolls", "required": true},
		{"type": 4, "name": "sides", "description": "Sides of the die", "min_value": 2, "max_value": 120,
		 "name_localizations": {"de": "seiten"}, "description_localizations": {"de": "Seiten des Würfels"}},
		{"type": 3, "name": "label", "description": "What the roll is for, if anything", "min_length": 1, "max_length": 40},
		{"type": 4, "name": "times", "description": "How many dice", "min_value": 1, "max_value": 10}
	 ]},
	{"type": 1, "name": "everything", "description": "Every option type",
	 "default_member_permissions": "8", "contexts": [0], "integration_types": [0, 1], "nsfw": true,
	 "options": [
		{"type": 3, "name": "text", "description": "A string", "required": true},
		{"type": 5, "name": "flag", "description": "A boolean", "required": true},
		{"type": 4, "name": "count", "description": "An integer", "required": true},
		{"type": 4, "name": "small", "description": "A small integer", "required": true, "min_value": -128, "max_value": 127},
		{"type": 10, "name": "ratio", "description": "A number", "required": true, "min_value": 0.5, "max_value": 2.5},
		{"type": 6, "name": "who", "description": "A user", "required": true},
		{"type": 6, "name": "member", "description": "A member", "required": true},
		{"type": 7, "name": "where", "description": "A channel", "required": true, "channel_types": [0, 5]},
		{"type": 8, "name": "role", "description": "A role", "required": true},
		{"type": 9, "name": "any", "description": "A user or role", "required": true},
		{"type": 11, "name": "file", "description": "A file", "required": true, "file_types": ["image", ".pdf"]},
		{"type": 3, "name": "color", "description": "A color, suggested", "autocomplete": true},
		{"type": 3, "name": "reason", "description": "Why"}
	 ]}
	]`
	if diff := cmp.Diff(jsonValue(t, []byte(want)), jsonValue(t, b)); diff != "" {
		t.Errorf("schema differs from Discord's JSON (-want +got):\n%s", diff)
	}
}

func TestSchemaSubcommandsAndGroups(t *testing.T) {
	r := commands.New()
	admin, err := r.Group(commands.Meta{Name: "admin", Description: "Server tools", DefaultMemberPermissions: new(events.Permissions)})
	if err != nil {
		t.Fatal(err)
	}
	if err := commands.Register(admin, nop[Ban]); err != nil {
		t.Fatal(err)
	}
	roles, err := admin.Group(commands.Meta{Name: "roles", Description: "Role tools"})
	if err != nil {
		t.Fatal(err)
	}
	if err := commands.Register(roles, nop[AddRole]); err != nil {
		t.Fatal(err)
	}
	got, err := r.Commands()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	want := `[{"type": 1, "name": "admin", "description": "Server tools", "default_member_permissions": "0",
	  "options": [
		{"type": 1, "name": "ban", "description": "Ban someone", "options": [
			{"type": 6, "name": "user", "description": "Who", "required": true},
			{"type": 4, "name": "days", "description": "Days of messages to delete", "min_value": 0, "max_value": 7}
		]},
		{"type": 2, "name": "roles", "description": "Role tools", "options": [
			{"type": 1, "name": "add", "description": "Give a role", "options": [
				{"type": 8, "name": "role", "description": "Which role", "required": true}
			]}
		]}
	  ]}]`
	if diff := cmp.Diff(jsonValue(t, []byte(want)), jsonValue(t, b)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

type Ban struct {
	User events.User `desc:"Who"`
	Days *int        `discord:"min=0,max=7" desc:"Days of messages to delete"`
}

func (Ban) Command() commands.Meta { return commands.Meta{Description: "Ban someone"} }

type AddRole struct {
	Role events.Role `desc:"Which role"`
}

func (AddRole) Command() commands.Meta { return commands.Meta{Name: "add", Description: "Give a role"} }

func TestResponseJSON(t *testing.T) {
	cases := []struct {
		resp commands.Response
		want string
	}{
		{commands.Response{Type: commands.ResponsePong}, `{"type":1}`},
		{commands.Response{Type: commands.ResponseChannelMessage, Data: &commands.ResponseData{Message: commands.Message{Content: "hi", Flags: commands.FlagEphemeral}}},
			`{"type":4,"data":{"content":"hi","flags":64}}`},
		{commands.Response{Type: commands.ResponseDeferredChannelMessage}, `{"type":5}`},
		{commands.Response{Type: commands.ResponseAutocompleteResult}, `{"type":8,"data":{"choices":[]}}`},
		{commands.Response{Type: commands.ResponseAutocompleteResult, Data: &commands.ResponseData{Choices: []commands.Choice{{Name: "One", Value: int64(1)}}}},
			`{"type":8,"data":{"choices":[{"name":"One","value":1}]}}`},
	}
	for _, c := range cases {
		b, err := json.Marshal(c.resp)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(jsonValue(t, []byte(c.want)), jsonValue(t, b)); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", c.want, diff)
		}
	}
}
