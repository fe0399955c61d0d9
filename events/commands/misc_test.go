package commands_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/commands"
)

type Numbers struct {
	_     struct{} `desc:"Numeric odds and ends"`
	Speed float32  `discord:"choices=Slow:0.5|Fast:2,default=2" desc:"How fast"`
	Level uint8    `discord:"default=7" desc:"Which level"`
	Big   *uint64  `desc:"A big one"`
	Tiny  *int16   `discord:"choices=1|2|3" desc:"Tiny"`
	Max   *uint32  `desc:"Up to 2^32-1"`
	Flag  bool     `discord:"default=true" desc:"A flag"`
	Pct   *float64 `discord:"min=0,max=100" desc:"A percentage"`
	Word  *string  `discord:"default=hi,choices=Hi:hi|Bye:bye" desc:"A word"`
}

func TestNumericSchemaAndDefaults(t *testing.T) {
	r := commands.New()
	var got Numbers
	capture(t, r, &got, nil)
	cmds, err := r.Commands()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(cmds[0].Options)
	want := `[
		{"type":10,"name":"speed","description":"How fast","choices":[{"name":"Slow","value":0.5},{"name":"Fast","value":2}]},
		{"type":4,"name":"level","description":"Which level","min_value":0,"max_value":255},
		{"type":4,"name":"big","description":"A big one","min_value":0},
		{"type":4,"name":"tiny","description":"Tiny","min_value":-32768,"max_value":32767,"choices":[{"name":"1","value":1},{"name":"2","value":2},{"name":"3","value":3}]},
		{"type":4,"name":"max","description":"Up to 2^32-1","min_value":0,"max_value":4294967295},
		{"type":5,"name":"flag","description":"A flag"},
		{"type":10,"name":"pct","description":"A percentage","min_value":0,"max_value":100},
		{"type":3,"name":"word","description":"A word","choices":[{"name":"Hi","value":"hi"},{"name":"Bye","value":"bye"}]}
	]`
	if diff := cmp.Diff(jsonValue(t, []byte(want)), jsonValue(t, b)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// HandleInteraction takes an interaction a dispatcher already decoded.
	var in events.Interaction
	if err := json.Unmarshal(interactionJSON(2, `{"name":"numbers","type":1,"options":[{"name":"big","type":4,"value":9007199254740991},{"name":"tiny","type":4,"value":2.0}]}`), &in); err != nil {
		t.Fatal(err)
	}
	if err := r.HandleInteraction(t.Context(), newFakeAPI(), &in); err != nil {
		t.Fatal(err)
	}
	wantOpts := Numbers{Speed: 2, Level: 7, Big: ptr(uint64(9007199254740991)), Tiny: ptr(int16(2)), Flag: true, Word: ptr("hi")}
	if diff := cmp.Diff(wantOpts, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

type EmbeddedPtr struct {
	_ struct{} `desc:"x"`
	*Shared
}

type EmbeddedValues struct {
	_ struct{} `desc:"x"`
	events.User
	Shared
	Hidden Shared `discord:"-"`
}

type BadChoiceKey struct {
	_    struct{} `desc:"x"`
	Mode string   `discord:"choices=a|b" desc:"x"`
}

func (BadChoiceKey) Localizations() map[string]commands.Localization {
	return map[string]commands.Localization{"Mode:c": {Names: map[string]string{"de": "C"}}}
}

type UnknownField struct {
	_ struct{} `desc:"x"`
}

func (UnknownField) Localizations() map[string]commands.Localization {
	return map[string]commands.Localization{"Nope": {}}
}

func TestEmbeddingAndLocalizationKeys(t *testing.T) {
	if err := reg[EmbeddedPtr](commands.New()); err == nil || !strings.Contains(err.Error(), "embedded pointer Shared") {
		t.Errorf("embedded pointer: %v", err)
	}
	r := commands.New()
	if err := reg[EmbeddedValues](r); err != nil {
		t.Fatal(err)
	}
	cmds, _ := r.Commands()
	if len(cmds[0].Options) != 1 || cmds[0].Options[0].Name != "reason" {
		t.Errorf("embedded User must not add options, Shared must: %+v", cmds[0].Options)
	}
	if err := reg[BadChoiceKey](commands.New()); err == nil || !strings.Contains(err.Error(), `no static choice named "c"`) {
		t.Errorf("bad choice key: %v", err)
	}
	if err := reg[UnknownField](commands.New()); err == nil || !strings.Contains(err.Error(), `no option field "Nope"`) {
		t.Errorf("unknown field key: %v", err)
	}
}

func TestErrorTypes(t *testing.T) {
	pe := &commands.PanicError{Value: "boom"}
	if pe.Error() != "commands: handler panicked: boom" {
		t.Error(pe.Error())
	}
	oe := &commands.OptionError{Option: "n", Err: errors.New("bad")}
	if !strings.Contains(oe.Error(), `option "n": bad`) || !errors.Is(oe, oe.Err) {
		t.Error(oe.Error())
	}
	m := commands.Mentionable{Role: &events.Role{}}
	if !m.IsRole() || (commands.Mentionable{}).IsRole() {
		t.Error("IsRole")
	}
	ve := &commands.ValidationError{Path: "x", Problem: "p"}
	if ve.Error() != "commands: (/x): p" {
		t.Error(ve.Error())
	}
}

func TestAutocompleteNumberValue(t *testing.T) {
	r := commands.New()
	if err := commands.Register(r, nop[Fruit]); err != nil {
		t.Fatal(err)
	}
	// Discord sends the focused text as a string, but a bare number is accepted too.
	for _, v := range []string{`"12"`, `12`} {
		api := newFakeAPI()
		d := `{"name":"fruit","type":1,"options":[{"name":"count","type":4,"value":` + v + `,"focused":true}]}`
		if err := r.Handle(context.Background(), api, interactionJSON(4, d)); err != nil {
			t.Fatal(err)
		}
		c := api.Calls()
		if len(c) != 1 || len(c[0].Resp.Data.Choices) != 1 || c[0].Resp.Data.Choices[0].Name != "twelve" {
			t.Errorf("%s: %+v", v, c)
		}
	}
}

type PtrMethods struct {
	Q string `discord:"autocomplete" desc:"Query"`
}

func (*PtrMethods) Command() commands.Meta {
	return commands.Meta{Name: "ptr", Description: "Methods on the pointer"}
}

func (p *PtrMethods) Autocomplete(ctx context.Context, c *commands.Context, f commands.Focused) ([]commands.Choice, error) {
	return []commands.Choice{{Name: "you typed " + p.Q, Value: p.Q}}, nil
}

type PanickyMeta struct{ m *commands.Meta }

func (p PanickyMeta) Command() commands.Meta { return *p.m }

func TestPointerReceiverMethodsAndPanickyMeta(t *testing.T) {
	r := commands.New()
	if err := reg[PtrMethods](r); err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI()
	if err := r.Handle(t.Context(), api, interactionJSON(4, `{"name":"ptr","type":1,"options":[{"name":"q","type":3,"value":"ab","focused":true}]}`)); err != nil {
		t.Fatal(err)
	}
	if c := api.Calls(); len(c) != 1 || len(c[0].Resp.Data.Choices) != 1 || c[0].Resp.Data.Choices[0].Name != "you typed ab" {
		t.Errorf("%+v", c)
	}
	if err := reg[PanickyMeta](commands.New()); err == nil || !strings.Contains(err.Error(), "commands_test.PanickyMeta: the Command or Localizations method panicked") {
		t.Errorf("panicking Command: %v", err)
	}
}

func TestHandleNilArguments(t *testing.T) {
	r := commands.New()
	if err := r.Handle(t.Context(), nil, interactionJSON(2, `{"name":"x"}`)); err == nil {
		t.Error("nil Responder accepted")
	}
	if err := r.HandleInteraction(t.Context(), newFakeAPI(), nil); err == nil {
		t.Error("nil interaction accepted")
	}
}
