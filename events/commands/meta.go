package commands

import (
	"context"

	"github.com/cordage/cordage/events"
)

// Meta is a command's (or group's) own metadata: everything that is not an option. A command
// type supplies it through a Command method:
//
//	func (Ping) Command() commands.Meta { return commands.Meta{Description: "Is the bot alive?"} }
//
// Name defaults to the Go type name in snake_case ("RollDice" → "roll_dice"). Description is
// required (1–100 characters). The Discord-only fields (DefaultMemberPermissions, Contexts,
// IntegrationTypes, NSFW) apply to top-level commands only; on a subcommand they are an error.
type Meta struct {
	Name                     string
	Description              string
	NameLocalizations        map[string]string
	DescriptionLocalizations map[string]string
	// DefaultMemberPermissions: nil lets everyone use the command; a pointer to 0 allows
	// administrators only.
	DefaultMemberPermissions *events.Permissions
	Contexts                 []events.InteractionContextType
	IntegrationTypes         []IntegrationType
	NSFW                     bool
	// DeferEphemeral makes the automatic defer (see WithDeferAfter) ephemeral, so that the
	// eventual reply is visible only to the user. Discord cannot change that afterwards.
	DeferEphemeral bool
}

// Commander is implemented by command types that supply their Meta, with a value or pointer
// receiver. The method must not depend on the receiver's field values: it is called on the
// zero value.
type Commander interface {
	Command() Meta
}

// Localization holds the translations of one name/description pair, keyed by Discord locale
// ("de", "fr", "pt-BR", …).
type Localization struct {
	Names        map[string]string
	Descriptions map[string]string
}

// Localizer is implemented by command types whose options (or choices) are translated. The
// keys of the returned map are Go field names ("Count"), or "Field:choice name" for a static
// choice. Command-level translations go in Meta. Called on the zero value.
type Localizer interface {
	Localizations() map[string]Localization
}

// Focused is the option a user is typing into when Discord asks for autocomplete suggestions.
type Focused struct {
	// Name is the option's Discord name, Field its Go field name.
	Name  string
	Field string
	// Value is what the user has typed so far, as text (numbers too, since they may be partial).
	Value string
}

// Autocompleter is implemented by command types with autocomplete options. Discord calls it
// while the user types; the receiver holds the options decoded so far (options that fail to
// decode are left at their zero value). At most 25 choices are sent; more are cut off.
// There is no deferring autocomplete: answer within Discord's 3 s.
type Autocompleter interface {
	Autocomplete(ctx context.Context, c *Context, f Focused) ([]Choice, error)
}
