package commands_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/commands"
)

type BadName struct {
	_     struct{} `desc:"x"`
	Count int      `discord:"name=Count" desc:"How many"`
}
type SpaceName struct {
	_     struct{} `desc:"x"`
	Count int      `discord:"name=how many" desc:"How many"`
}
type LongName struct {
	_     struct{} `desc:"x"`
	Count int      `discord:"name=abcdefghijklmnopqrstuvwxyz1234567" desc:"How many"`
}
type NoDesc struct {
	_     struct{} `desc:"x"`
	Count int
}
type LongDesc struct {
	_     struct{} `desc:"x"`
	Count int      `desc:"12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901"`
}
type TooManyOptions struct {
	_                                     struct{} `desc:"x"`
	A, B, C, D, E, F, G, H, I, J, K, L, M string   `desc:"x"`
	N, O, P, Q, R, S, T, U, V, W, X, Y, Z string   `desc:"x"`
}
type TooManyChoices struct {
	_      struct{} `desc:"x"`
	Letter string   `discord:"choices=a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p|q|r|s|t|u|v|w|x|y|z" desc:"x"`
}
type EmptyChoiceName struct {
	_      struct{} `desc:"x"`
	Letter string   `discord:"choices=:a|b" desc:"x"`
}
type LongChoiceValue struct {
	_      struct{} `desc:"x"`
	Letter string   `discord:"choices=A:12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901" desc:"x"`
}
type BadLengths struct {
	_    struct{} `desc:"x"`
	Text string   `discord:"minlen=7000" desc:"x"`
}
type ZeroMaxLen struct {
	_    struct{} `desc:"x"`
	Text string   `discord:"maxlen=0" desc:"x"`
}
type CrossedLengths struct {
	_    struct{} `desc:"x"`
	Text string   `discord:"minlen=5,maxlen=2" desc:"x"`
}
type CrossedRange struct {
	_ struct{} `desc:"x"`
	N int      `discord:"min=5,max=2" desc:"x"`
}
type HugeRange struct {
	_ struct{} `desc:"x"`
	N int64    `discord:"max=9007199254740993" desc:"x"`
}
type AutocompleteChoices struct {
	_ struct{} `desc:"x"`
	S string   `discord:"autocomplete,choices=a|b" desc:"x"`
}
type TooBig struct {
	_ struct{} `desc:"x"`
	A string   `discord:"choicesfile=testdata/long_choices.txt" desc:"x"`
	B string   `discord:"choicesfile=testdata/long_choices.txt" desc:"x"`
}
type MapField struct {
	_ struct{}       `desc:"x"`
	M map[string]int `desc:"x"`
}
type UnknownKey struct {
	_ struct{} `desc:"x"`
	S string   `discord:"colour=red" desc:"x"`
}
type MinOnString struct {
	_ struct{} `desc:"x"`
	S string   `discord:"min=1" desc:"x"`
}
type DefaultOutOfRange struct {
	_ struct{} `desc:"x"`
	N int      `discord:"min=1,max=5,default=9" desc:"x"`
}
type DefaultNotAChoice struct {
	_ struct{} `desc:"x"`
	S string   `discord:"choices=a|b,default=c" desc:"x"`
}
type BadDefault struct {
	_ struct{} `desc:"x"`
	B bool     `discord:"default=maybe" desc:"x"`
}
type DuplicateNames struct {
	_     struct{} `desc:"x"`
	Count int      `desc:"x"`
	Other int      `discord:"name=count" desc:"x"`
}
type BadLocale struct {
	_ struct{} `desc:"x"`
	N int      `desc:"x"`
}

func (BadLocale) Localizations() map[string]commands.Localization {
	return map[string]commands.Localization{"N": {Names: map[string]string{"xx": "n"}}}
}

type BadLocalizedName struct {
	_ struct{} `desc:"x"`
	N int      `desc:"x"`
}

func (BadLocalizedName) Localizations() map[string]commands.Localization {
	return map[string]commands.Localization{"N": {Names: map[string]string{"de": "Anzahl"}}}
}

type NoCommandDesc struct {
	N int `desc:"x"`
}
type AutocompleteBool struct {
	_ struct{} `desc:"x"`
	B bool     `discord:"autocomplete" desc:"x"`
}
type ChannelTypesOnRole struct {
	_ struct{}    `desc:"x"`
	R events.Role `discord:"channel_types=0" desc:"x"`
}
type TooManyFileTypes struct {
	_ struct{}          `desc:"x"`
	F events.Attachment `discord:"file_types=a|.b|.c|.d|.e|.f|.g|.h|.i|.j|.k" desc:"x"`
}

func TestValidationErrorsNameTypeAndField(t *testing.T) {
	cases := []struct {
		name     string
		register func(*commands.Registry) error
		where    string // Go type and field, as the error must name them
		problem  string
	}{
		{"upper-case name", reg[BadName], "commands_test.BadName.Count", `upper-case 'C'`},
		{"space in name", reg[SpaceName], "commands_test.SpaceName.Count", `does not match`},
		{"33-character name", reg[LongName], "commands_test.LongName.Count", `does not match`},
		{"missing description", reg[NoDesc], "commands_test.NoDesc.Count", "description is 0 characters; Discord requires 1–100"},
		{"101-character description", reg[LongDesc], "commands_test.LongDesc.Count", "description is 101 characters"},
		{"26 options", reg[TooManyOptions], "commands_test.TooManyOptions", "26 options; Discord allows at most 25"},
		{"26 choices", reg[TooManyChoices], "commands_test.TooManyChoices.Letter", "26 choices; Discord allows at most 25"},
		{"empty choice name", reg[EmptyChoiceName], "commands_test.EmptyChoiceName.Letter", `choice name "" is 0 characters`},
		{"101-character choice value", reg[LongChoiceValue], "commands_test.LongChoiceValue.Letter", "value is 101 characters"},
		{"min_length 7000", reg[BadLengths], "commands_test.BadLengths.Text", "min_length 7000 is outside 0–6000"},
		{"max_length 0", reg[ZeroMaxLen], "commands_test.ZeroMaxLen.Text", "max_length 0 is outside 1–6000"},
		{"min_length > max_length", reg[CrossedLengths], "commands_test.CrossedLengths.Text", "min_length 5 is greater than max_length 2"},
		{"min > max", reg[CrossedRange], "commands_test.CrossedRange.N", "min 5 is greater than max 2"},
		{"max beyond 2^53-1", reg[HugeRange], "commands_test.HugeRange.N", "is outside ±9007199254740991"},
		{"autocomplete with choices", reg[AutocompleteChoices], "commands_test.AutocompleteChoices.S", "autocomplete cannot be combined with choices"},
		{"over 8000 characters", reg[TooBig], "commands_test.TooBig", "Discord allows 8000"},
		{"unsupported field type", reg[MapField], "commands_test.MapField.M", "type map[string]int cannot be an option"},
		{"unknown tag key", reg[UnknownKey], "commands_test.UnknownKey.S", `unknown tag key "colour"`},
		{"min on a string", reg[MinOnString], "commands_test.MinOnString.S", "min applies to integer and number options, not STRING"},
		{"default out of range", reg[DefaultOutOfRange], "commands_test.DefaultOutOfRange.N", "default 9 is outside min/max"},
		{"default not a choice", reg[DefaultNotAChoice], "commands_test.DefaultNotAChoice.S", "default c is not one of the choices"},
		{"default not a bool", reg[BadDefault], "commands_test.BadDefault.B", `"maybe" is not a boolean`},
		{"duplicate option name", reg[DuplicateNames], "commands_test.DuplicateNames.Other", `option name "count" is also used by field Count`},
		{"unknown locale", reg[BadLocale], "commands_test.BadLocale.N", `unknown locale "xx"`},
		{"upper-case localized name", reg[BadLocalizedName], "commands_test.BadLocalizedName.N", `localization de: name "Anzahl" has upper-case`},
		{"missing command description", reg[NoCommandDesc], "commands_test.NoCommandDesc", "description is 0 characters"},
		{"autocomplete on a bool", reg[AutocompleteBool], "commands_test.AutocompleteBool.B", "autocomplete applies to string, integer and number options"},
		{"channel_types on a role", reg[ChannelTypesOnRole], "commands_test.ChannelTypesOnRole.R", "channel_types applies to channel options"},
		{"11 file types", reg[TooManyFileTypes], "commands_test.TooManyFileTypes.F", "11 file_types; Discord allows at most 10"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := commands.New()
			err := tc.register(r)
			if err == nil {
				// Whole-command limits are checked by Commands (and so by Sync).
				_, err = r.Commands()
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, commands.ErrInvalidCommand) {
				t.Errorf("error does not wrap ErrInvalidCommand: %v", err)
			}
			var ve *commands.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("not a *ValidationError: %T %v", err, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.where) || !strings.Contains(msg, tc.problem) {
				t.Errorf("error %q\nmust name %q and say %q", msg, tc.where, tc.problem)
			}
		})
	}
}

func reg[T any](r *commands.Registry) error { return commands.Register(r, nop[T]) }

func TestValidationOfTheTree(t *testing.T) {
	r := commands.New()
	if err := commands.Register(r, nop[Ping]); err != nil {
		t.Fatal(err)
	}
	if err := commands.Register(r, nop[Ping]); err == nil || !strings.Contains(err.Error(), `name "ping" is already registered`) {
		t.Errorf("duplicate command: %v", err)
	}
	g, err := r.Group(commands.Meta{Name: "admin", Description: "Admin"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Commands(); err == nil || !strings.Contains(err.Error(), "(/admin): group has no subcommands") {
		t.Errorf("empty group: %v", err)
	}
	if err := commands.Register(g, nop[Everything]); err == nil || !strings.Contains(err.Error(), "commands_test.Everything") ||
		!strings.Contains(err.Error(), "apply to top-level commands only") {
		t.Errorf("subcommand with permissions: %v", err)
	}
	sub, err := g.Group(commands.Meta{Name: "roles", Description: "Roles"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Group(commands.Meta{Name: "deeper", Description: "Too deep"}); err == nil || !strings.Contains(err.Error(), "cannot be nested") {
		t.Errorf("nested group: %v", err)
	}
	if _, err := r.Group(commands.Meta{Name: "Bad", Description: "x"}); err == nil || !strings.Contains(err.Error(), "(/Bad)") {
		t.Errorf("bad group name: %v", err)
	}
	if err := commands.Register[Ping](r, nil); err == nil {
		t.Error("nil handler accepted")
	}
	if err := commands.Register(r, nop[int]); err == nil || !strings.Contains(err.Error(), "must be a struct") {
		t.Errorf("non-struct: %v", err)
	}
}
