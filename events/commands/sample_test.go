package commands_test

import (
	"context"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/commands"
)

// Sample command types shared by the tests.

type Ping struct{}

func (Ping) Command() commands.Meta { return commands.Meta{Description: "Is the bot alive?"} }

// RollDice has its required options declared after optional ones, to show the reordering.
type RollDice struct {
	Sides  int         `discord:"min=2,max=120,default=6" desc:"Sides of the die"`
	Label  string      `discord:"optional,minlen=1,maxlen=40" desc:"What the roll is for, if anything"`
	Mode   string      `discord:"choices=Sum:sum|Each die:each" desc:"How to show the result"`
	Times  *int        `discord:"min=1,max=10" desc:"How many dice"`
	Target events.User `desc:"Who rolls"`
}

func (RollDice) Command() commands.Meta {
	return commands.Meta{
		Description:              "Roll some dice",
		NameLocalizations:        map[string]string{"de": "würfeln"},
		DescriptionLocalizations: map[string]string{"de": "Würfle ein paar Würfel"},
	}
}

func (RollDice) Localizations() map[string]commands.Localization {
	return map[string]commands.Localization{
		"Sides":    {Names: map[string]string{"de": "seiten"}, Descriptions: map[string]string{"de": "Seiten des Würfels"}},
		"Mode:Sum": {Names: map[string]string{"de": "Summe"}},
	}
}

// Shared options, embedded into Everything.
type Shared struct {
	Reason string `discord:"optional" desc:"Why"`
}

// Everything has one option of each type.
type Everything struct {
	Text  string               `desc:"A string"`
	Flag  bool                 `desc:"A boolean"`
	Count int64                `desc:"An integer"`
	Small int8                 `desc:"A small integer"`
	Ratio float64              `discord:"min=0.5,max=2.5" desc:"A number"`
	Who   events.User          `desc:"A user"`
	Mem   events.Member        `discord:"name=member" desc:"A member"`
	Where events.Channel       `discord:"channel_types=text|5" desc:"A channel"`
	Role  events.Role          `desc:"A role"`
	Any   commands.Mentionable `desc:"A user or role"`
	File  events.Attachment    `discord:"file_types=image|.pdf" desc:"A file"`
	Color *string              `discord:"autocomplete" desc:"A color, suggested"`
	Shared
	internal int    //nolint:unused // unexported fields are not options
	Skipped  string `discord:"-"`
}

func (Everything) Command() commands.Meta {
	admin := events.Permissions(8)
	return commands.Meta{
		Name:                     "everything",
		Description:              "Every option type",
		DefaultMemberPermissions: &admin,
		Contexts:                 []events.InteractionContextType{events.ContextGuild},
		IntegrationTypes:         []commands.IntegrationType{commands.GuildInstall, commands.UserInstall},
		NSFW:                     true,
	}
}

func (Everything) Autocomplete(ctx context.Context, c *commands.Context, f commands.Focused) ([]commands.Choice, error) {
	return nil, nil
}
