package commands

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/cordage/cordage/events"
)

// IntegrationType says which installs of the app offer a command.
type IntegrationType int

// Integration types.
const (
	GuildInstall IntegrationType = 0
	UserInstall  IntegrationType = 1
)

// Command is an application command as Discord's REST API sends and receives it. Registry
// derives these from Go types; Sync compares them with what Discord has. ID, ApplicationID,
// GuildID and Version are set by Discord and ignored when comparing.
type Command struct {
	ID                       events.Snowflake              `json:"id,omitempty"`
	Type                     events.ApplicationCommandType `json:"type,omitempty"`
	ApplicationID            events.Snowflake              `json:"application_id,omitempty"`
	GuildID                  events.Snowflake              `json:"guild_id,omitempty"`
	Name                     string                        `json:"name"`
	NameLocalizations        map[string]string             `json:"name_localizations,omitempty"`
	Description              string                        `json:"description"`
	DescriptionLocalizations map[string]string             `json:"description_localizations,omitempty"`
	Options                  []Option                      `json:"options,omitempty"`
	// DefaultMemberPermissions is nil for "everyone"; 0 means administrators only.
	DefaultMemberPermissions *events.Permissions             `json:"default_member_permissions,omitempty"`
	NSFW                     bool                            `json:"nsfw,omitempty"`
	IntegrationTypes         []IntegrationType               `json:"integration_types,omitempty"`
	Contexts                 []events.InteractionContextType `json:"contexts,omitempty"`
	Version                  events.Snowflake                `json:"version,omitempty"`
}

// Option is a command option, a subcommand or a subcommand group.
type Option struct {
	Type                     events.ApplicationCommandOptionType `json:"type"`
	Name                     string                              `json:"name"`
	NameLocalizations        map[string]string                   `json:"name_localizations,omitempty"`
	Description              string                              `json:"description"`
	DescriptionLocalizations map[string]string                   `json:"description_localizations,omitempty"`
	Required                 bool                                `json:"required,omitempty"`
	Choices                  []Choice                            `json:"choices,omitempty"`
	Options                  []Option                            `json:"options,omitempty"`
	ChannelTypes             []int                               `json:"channel_types,omitempty"`
	MinValue                 *float64                            `json:"min_value,omitempty"`
	MaxValue                 *float64                            `json:"max_value,omitempty"`
	MinLength                *int                                `json:"min_length,omitempty"`
	MaxLength                *int                                `json:"max_length,omitempty"`
	Autocomplete             bool                                `json:"autocomplete,omitempty"`
	FileTypes                []string                            `json:"file_types,omitempty"`
}

// Choice is one fixed value of a STRING, INTEGER or NUMBER option, or one autocomplete
// suggestion. Value is a string, an integer (int64) or a float64, matching the option's type.
type Choice struct {
	Name              string            `json:"name"`
	NameLocalizations map[string]string `json:"name_localizations,omitempty"`
	Value             any               `json:"value"`
}

// UnmarshalJSON keeps integral numbers as int64 so that a choice read back from Discord equals
// the one declared.
func (c *Choice) UnmarshalJSON(b []byte) error {
	var w struct {
		Name              string            `json:"name"`
		NameLocalizations map[string]string `json:"name_localizations"`
		Value             json.RawMessage   `json:"value"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = Choice{Name: w.Name, NameLocalizations: w.NameLocalizations}
	if len(w.Value) == 0 || string(w.Value) == "null" {
		return nil
	}
	if w.Value[0] == '"' {
		var s string
		if err := json.Unmarshal(w.Value, &s); err != nil {
			return err
		}
		c.Value = s
		return nil
	}
	if n, err := strconv.ParseInt(string(w.Value), 10, 64); err == nil {
		c.Value = n
		return nil
	}
	f, err := strconv.ParseFloat(string(w.Value), 64)
	if err != nil {
		return fmt.Errorf("commands: choice %q: value %s is neither a string nor a number", w.Name, w.Value)
	}
	c.Value = f
	return nil
}
