package commands

import (
	"context"
	"encoding/json"

	"github.com/cordage/cordage/events"
)

// Syncer is the part of Discord's REST API that Sync needs. guildID 0 means the global
// commands: GET/PUT /applications/{appID}/commands; otherwise
// /applications/{appID}/guilds/{guildID}/commands. ListCommands should ask for
// ?with_localizations=true, or localized commands will look changed on every Sync.
type Syncer interface {
	ListCommands(ctx context.Context, appID, guildID events.Snowflake) ([]Command, error)
	// BulkOverwriteCommands replaces every command of the scope (PUT) and returns Discord's list.
	BulkOverwriteCommands(ctx context.Context, appID, guildID events.Snowflake, cmds []Command) ([]Command, error)
}

// Responder is the part of Discord's REST API that answering interactions needs. None of these
// routes counts against the global rate limit.
type Responder interface {
	// CreateInteractionResponse is POST /interactions/{interactionID}/{token}/callback.
	CreateInteractionResponse(ctx context.Context, interactionID events.Snowflake, token string, resp Response) error
	// EditOriginalResponse is PATCH /webhooks/{appID}/{token}/messages/@original.
	EditOriginalResponse(ctx context.Context, appID events.Snowflake, token string, msg Message) error
	// CreateFollowup is POST /webhooks/{appID}/{token} and returns the new message's id.
	CreateFollowup(ctx context.Context, appID events.Snowflake, token string, msg Message) (events.Snowflake, error)
}

// API is everything the package asks of REST. messaging.Client satisfies it (see the package
// documentation); tests use a fake.
type API interface {
	Syncer
	Responder
}

// ResponseType is an interaction callback type.
type ResponseType int

// Interaction callback types used by this package.
const (
	ResponsePong                   ResponseType = 1
	ResponseChannelMessage         ResponseType = 4
	ResponseDeferredChannelMessage ResponseType = 5
	ResponseDeferredUpdateMessage  ResponseType = 6
	ResponseUpdateMessage          ResponseType = 7
	ResponseAutocompleteResult     ResponseType = 8
	ResponseModal                  ResponseType = 9
)

// MessageFlags are the message flags an interaction response may set.
type MessageFlags int

// Message flags usable in responses.
const (
	FlagSuppressEmbeds        MessageFlags = 1 << 2
	FlagEphemeral             MessageFlags = 1 << 6
	FlagSuppressNotifications MessageFlags = 1 << 12
)

// AllowedMentions limits whom a message may ping.
type AllowedMentions struct {
	Parse       []string           `json:"parse"`
	Users       []events.Snowflake `json:"users,omitempty"`
	Roles       []events.Snowflake `json:"roles,omitempty"`
	RepliedUser bool               `json:"replied_user,omitempty"`
}

// Message is the body of a reply, an edit of the original response or a followup.
type Message struct {
	Content string       `json:"content,omitempty"`
	Flags   MessageFlags `json:"flags,omitempty"`
	// Embeds are passed through as JSON; this package does not model them.
	Embeds          []json.RawMessage `json:"embeds,omitempty"`
	AllowedMentions *AllowedMentions  `json:"allowed_mentions,omitempty"`
}

// ResponseData is the data of an interaction callback: a message, or autocomplete choices.
type ResponseData struct {
	Message
	Choices []Choice `json:"choices,omitempty"`
}

// Response is the body of POST /interactions/{id}/{token}/callback.
type Response struct {
	Type ResponseType  `json:"type"`
	Data *ResponseData `json:"data,omitempty"`
}

// MarshalJSON encodes the callback. An autocomplete result always carries a choices array,
// even an empty one, because Discord requires the field.
func (r Response) MarshalJSON() ([]byte, error) {
	if r.Type == ResponseAutocompleteResult {
		choices := []Choice{}
		if r.Data != nil && r.Data.Choices != nil {
			choices = r.Data.Choices
		}
		return json.Marshal(struct {
			Type ResponseType `json:"type"`
			Data struct {
				Choices []Choice `json:"choices"`
			} `json:"data"`
		}{Type: r.Type, Data: struct {
			Choices []Choice `json:"choices"`
		}{choices}})
	}
	type plain Response
	return json.Marshal(plain(r))
}
