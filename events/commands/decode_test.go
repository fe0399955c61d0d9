package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/commands"
)

func ptr[T any](v T) *T { return &v }

// capture registers T with a handler that stores what it got and replies "ok".
func capture[T any](t *testing.T, r *commands.Registry, got *T, gotCtx **commands.Context) {
	t.Helper()
	err := commands.Register(r, func(ctx context.Context, c *commands.Context, o T) error {
		*got = o
		if gotCtx != nil {
			*gotCtx = c
		}
		return c.Reply(ctx, "ok")
	})
	if err != nil {
		t.Fatal(err)
	}
}

const everythingData = `{"id": "1", "name": "everything", "type": 1,
	"options": [
		{"name": "text", "type": 3, "value": "héllo"},
		{"name": "flag", "type": 5, "value": true},
		{"name": "count", "type": 4, "value": 9007199254740991},
		{"name": "small", "type": 4, "value": -128},
		{"name": "ratio", "type": 10, "value": 1.25},
		{"name": "who", "type": 6, "value": "401"},
		{"name": "member", "type": 6, "value": "402"},
		{"name": "where", "type": 7, "value": "301"},
		{"name": "role", "type": 8, "value": "501"},
		{"name": "any", "type": 9, "value": "502"},
		{"name": "file", "type": 11, "value": "601"},
		{"name": "color", "type": 3, "value": "red"}
	],
	"resolved": {
		"users": {"401": {"id": "401", "username": "bob"}, "402": {"id": "402", "username": "carol"}},
		"members": {"402": {"nick": "caz", "roles": ["501"], "joined_at": "2023-01-01T00:00:00+00:00"}},
		"channels": {"301": {"id": "301", "name": "news", "type": 5, "permissions": "1024"}},
		"roles": {"501": {"id": "501", "name": "mods", "color": 255, "permissions": "8", "position": 3},
		          "502": {"id": "502", "name": "fans", "mentionable": true}},
		"attachments": {"601": {"id": "601", "filename": "a.png", "size": 42, "url": "https://cdn/a.png", "proxy_url": "https://media/a.png", "content_type": "image/png", "width": 10, "height": 20}}
	}}`

func TestDecodeEveryOptionType(t *testing.T) {
	r := commands.New()
	var got Everything
	var c *commands.Context
	capture(t, r, &got, &c)
	api := newFakeAPI()
	if err := r.Handle(t.Context(), api, interactionJSON(2, everythingData)); err != nil {
		t.Fatal(err)
	}
	want := Everything{
		Text:  "héllo",
		Flag:  true,
		Count: 9007199254740991,
		Small: -128,
		Ratio: 1.25,
		Who:   events.User{ID: 401, Username: "bob"},
		Mem: events.Member{
			User: &events.User{ID: 402, Username: "carol"}, Nick: ptr("caz"),
			Roles: []events.Snowflake{501}, JoinedAt: "2023-01-01T00:00:00+00:00",
		},
		Where: events.Channel{ID: 301, Name: "news", Type: 5, Permissions: 1024},
		Role:  events.Role{ID: 501, Name: "mods", Color: 255, Permissions: 8, Position: 3},
		Any:   commands.Mentionable{ID: 502, Role: &events.Role{ID: 502, Name: "fans", Mentionable: true}},
		File: events.Attachment{ID: 601, Filename: "a.png", Size: 42, URL: "https://cdn/a.png", ProxyURL: "https://media/a.png",
			ContentType: "image/png", Width: ptr(10), Height: ptr(20)},
		Color: ptr("red"),
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(Everything{})); diff != "" {
		t.Errorf("decoded options (-want +got):\n%s", diff)
	}
	if c.User.ID != 400 || c.User.Username != "alice" || c.Member == nil || c.GuildID != 200 || c.ChannelID != 300 ||
		c.Channel == nil || c.Channel.Name != "general" || c.Locale != "de" || c.GuildLocale != "en-US" ||
		c.Permissions != 8 || c.AppPermissions != 2048 || c.Command != "everything" || len(c.Raw()) == 0 {
		t.Errorf("context: %+v", c)
	}
	// Neither as text nor as the bytes of the raw payload ("tok-" is 116 111 107 45).
	if s := fmtPlusV(c); strings.Contains(s, "tok-secret") || strings.Contains(s, "116 111 107 45") {
		t.Errorf("%%+v of a Context shows the token: %s", s)
	}
	calls := api.Calls()
	if len(calls) != 1 || calls[0].Method != "respond" || calls[0].Resp.Type != commands.ResponseChannelMessage || calls[0].Resp.Data.Content != "ok" || calls[0].Token != "tok-secret" {
		t.Errorf("calls: %+v", calls)
	}
}

func TestDecodeMentionableUserAndDefaults(t *testing.T) {
	type Poke struct {
		_     struct{}             `desc:"Poke someone"`
		Who   commands.Mentionable `desc:"Whom"`
		Times int                  `discord:"default=3" desc:"How often"`
		Loud  *bool                `discord:"default=true" desc:"Loudly?"`
		Note  *string              `desc:"A note"`
		Quiet bool                 `discord:"optional" desc:"Quietly?"`
	}
	r := commands.New()
	var got Poke
	capture(t, r, &got, nil)
	// In a DM: no member; the user comes from "user".
	d := `{"id":"900","application_id":"100","type":2,"token":"t","channel_id":"300","user":{"id":"7","username":"dm"},
		"data":{"name":"poke","type":1,"options":[{"name":"who","type":9,"value":"401"}],
		"resolved":{"users":{"401":{"id":"401","username":"bob"}},"members":{"401":{"roles":[],"joined_at":"x"}}}}}`
	var c *commands.Context
	_ = c
	if err := r.Handle(t.Context(), newFakeAPI(), []byte(d)); err != nil {
		t.Fatal(err)
	}
	bob := &events.User{ID: 401, Username: "bob"}
	want := Poke{
		Who:   commands.Mentionable{ID: 401, User: bob, Member: &events.Member{User: bob, Roles: []events.Snowflake{}, JoinedAt: "x"}},
		Times: 3,
		Loud:  ptr(true),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDecodeBadValuesAnswerTheUser(t *testing.T) {
	type Num struct {
		_  struct{}     `discord:"name=num,desc=Numbers"`
		N  int8         `discord:"min=-2,max=10" desc:"n"`
		U  *uint        `desc:"u"`
		F  *float32     `desc:"f"`
		S  *string      `discord:"minlen=1,maxlen=5" desc:"s"`
		ID *events.User `desc:"id"`
	}
	cases := []struct{ opts, wantErr string }{
		{`[{"name":"n","type":4,"value":200}]`, `option "n": 200 is out of range for int8`},
		{`[{"name":"n","type":4,"value":1.5}]`, `option "n": 1.5 is not an integer`},
		{`[{"name":"n","type":4,"value":"x"}]`, `option "n": "x" is not an integer`},
		{`[{"name":"n","type":4,"value":1},{"name":"u","type":4,"value":-1}]`, `option "u": -1 is out of range for uint`},
		{`[{"name":"n","type":4,"value":1},{"name":"f","type":10,"value":1e300}]`, `option "f": 1e+300 is out of range for float32`},
		{`[{"name":"n","type":4,"value":1},{"name":"s","type":3,"value":5}]`, `option "s": 5 is not a string`},
		{`[{"name":"n","type":4,"value":1},{"name":"id","type":6,"value":"abc"}]`, `option "id": "abc" is not an id`},
		{`[{"name":"n","type":3,"value":"1"}]`, `option "n": got a STRING value, want INTEGER`},
		{`[{"name":"zzz","type":3,"value":"1"}]`, `option "zzz": this command has no such option`},
		{`[]`, `option "n": is required but was not given`},
		{`[{"name":"n","type":4,"value":1},{"name":"n","type":4,"value":2}]`, `option "n": given twice`},
		{`[{"name":"n","type":4,"value":null}]`, `option "n": has no value`},
		{`[{"name":"n","type":4,"value":11}]`, `option "n": 11 is more than the maximum 10`},
		{`[{"name":"n","type":4,"value":-3}]`, `option "n": -3 is less than the minimum -2`},
		{`[{"name":"n","type":4,"value":1},{"name":"s","type":3,"value":"abcdef"}]`, `option "s": is 6 characters; at most 5 allowed`},
		{`[{"name":"n","type":4,"value":1},{"name":"s","type":3,"value":""}]`, `option "s": is 0 characters; at least 1 needed`},
	}
	for _, tc := range cases {
		r := commands.New()
		called := false
		if err := commands.Register(r, func(context.Context, *commands.Context, Num) error { called = true; return nil }); err != nil {
			t.Fatal(err)
		}
		api := newFakeAPI()
		err := r.Handle(t.Context(), api, interactionJSON(2, `{"name":"num","type":1,"options":`+tc.opts+`}`))
		var oe *commands.OptionError
		if !errors.As(err, &oe) || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: err = %v, want OptionError containing %q", tc.opts, err, tc.wantErr)
		}
		if called {
			t.Errorf("%s: handler ran with a bad value", tc.opts)
		}
		calls := api.Calls()
		if len(calls) != 1 || calls[0].Resp.Type != commands.ResponseChannelMessage || calls[0].Resp.Data.Flags != commands.FlagEphemeral ||
			!strings.Contains(calls[0].Resp.Data.Content, tc.wantErr) {
			t.Errorf("%s: user was told %+v", tc.opts, calls)
		}
	}
}

func TestHandleMalformedAndUnhandled(t *testing.T) {
	r := commands.New()
	if err := commands.Register(r, nop[Ping]); err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI()
	if err := r.Handle(t.Context(), api, []byte(`{"type":`)); err == nil {
		t.Error("truncated JSON: no error")
	}
	if err := r.Handle(t.Context(), api, interactionJSON(3, `{"custom_id":"x"}`)); !errors.Is(err, commands.ErrNotHandled) {
		t.Errorf("component: %v", err)
	}
	if err := r.Handle(t.Context(), api, interactionJSON(2, `{"name":"Pin","type":3}`)); !errors.Is(err, commands.ErrNotHandled) {
		t.Errorf("message command: %v", err)
	}
	if len(api.Calls()) != 0 {
		t.Errorf("answered what it does not handle: %+v", api.Calls())
	}
	if err := r.Handle(t.Context(), api, []byte(`{"id":"1","type":1,"token":"t"}`)); err != nil {
		t.Fatal(err)
	}
	if c := api.Calls(); len(c) != 1 || c[0].Resp.Type != commands.ResponsePong {
		t.Errorf("PING: %+v", c)
	}
	err := r.Handle(t.Context(), api, interactionJSON(2, `{"name":"gone","type":1}`))
	if !errors.Is(err, commands.ErrUnknownCommand) {
		t.Errorf("unknown command: %v", err)
	}
	if c := api.Calls(); len(c) != 2 || c[1].Resp.Data == nil || c[1].Resp.Data.Flags != commands.FlagEphemeral {
		t.Errorf("unknown command answer: %+v", c)
	}
}
