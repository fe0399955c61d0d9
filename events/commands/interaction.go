package commands

import (
	"encoding/json"

	"github.com/cordage/cordage/events"
)

// Interaction types.
const (
	interactionPing         = 1
	interactionCommand      = 2
	interactionAutocomplete = 4
)

// interaction is the part of an INTERACTION_CREATE payload this package reads.
type interaction struct {
	ID             events.Snowflake `json:"id"`
	ApplicationID  events.Snowflake `json:"application_id"`
	Type           int              `json:"type"`
	Data           *commandData     `json:"data"`
	GuildID        events.Snowflake `json:"guild_id"`
	ChannelID      events.Snowflake `json:"channel_id"`
	Channel        *Channel         `json:"channel"`
	Member         *member          `json:"member"`
	User           *events.User     `json:"user"`
	Token          string           `json:"token"`
	Locale         string           `json:"locale"`
	GuildLocale    string           `json:"guild_locale"`
	AppPermissions Permissions      `json:"app_permissions"`
	Context        *ContextType     `json:"context"`
}

// member is a guild member as interactions carry it: with the member's permissions in the
// channel.
type member struct {
	events.Member
	Permissions Permissions `json:"permissions"`
}

type commandData struct {
	ID       events.Snowflake `json:"id"`
	Name     string           `json:"name"`
	Type     CommandType      `json:"type"`
	Resolved resolved         `json:"resolved"`
	Options  []optionData     `json:"options"`
	GuildID  events.Snowflake `json:"guild_id"`
}

type optionData struct {
	Name    string          `json:"name"`
	Type    OptionType      `json:"type"`
	Value   json.RawMessage `json:"value"`
	Options []optionData    `json:"options"`
	Focused bool            `json:"focused"`
}

type resolved struct {
	Users       map[events.Snowflake]events.User   `json:"users"`
	Members     map[events.Snowflake]events.Member `json:"members"`
	Roles       map[events.Snowflake]Role          `json:"roles"`
	Channels    map[events.Snowflake]Channel       `json:"channels"`
	Attachments map[events.Snowflake]Attachment    `json:"attachments"`
}
