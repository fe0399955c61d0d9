package messaging

import (
	"encoding/json"

	"github.com/cordage/cordage/events"
)

// AllowedMentions limits whom a message may ping. The zero value (with Parse nil) allows no
// mentions at all; set Parse to any of "users", "roles", "everyone" to allow a kind, or list
// Users and Roles (at most 100 each) to allow exactly those. A kind may not be both parsed and
// listed.
type AllowedMentions struct {
	Parse       []string           `json:"parse"`
	Users       []events.Snowflake `json:"users,omitempty"`
	Roles       []events.Snowflake `json:"roles,omitempty"`
	RepliedUser bool               `json:"replied_user,omitempty"`
}

// MarshalJSON always sends parse as an array: null is not the same as "nothing" to Discord.
func (a AllowedMentions) MarshalJSON() ([]byte, error) {
	type plain AllowedMentions
	if a.Parse == nil {
		a.Parse = []string{}
	}
	return json.Marshal(plain(a))
}

// MessageCreate is the body of POST /channels/{channel.id}/messages. At least one of Content,
// Embeds, Components, StickerIDs, Files or Poll must be set.
type MessageCreate struct {
	// Content is at most 2000 characters.
	Content string `json:"content,omitempty"`
	// Nonce is at most 25 characters; with EnforceNonce Discord drops a duplicate sent within
	// a few minutes and returns the first message.
	Nonce        string `json:"nonce,omitempty"`
	EnforceNonce bool   `json:"enforce_nonce,omitempty"`
	TTS          bool   `json:"tts,omitempty"`
	// Embeds are at most 10, with at most 6000 characters together.
	Embeds          []events.Embed   `json:"embeds,omitempty"`
	AllowedMentions *AllowedMentions `json:"allowed_mentions,omitempty"`
	// MessageReference makes the message a reply (or a forward).
	MessageReference *events.MessageReference `json:"message_reference,omitempty"`
	// Components are sent as given (action rows, buttons, selects, Components V2).
	Components json.RawMessage    `json:"components,omitempty"`
	StickerIDs []events.Snowflake `json:"sticker_ids,omitempty"`
	// Attachments describes Files and kept attachments; when empty and Files are given, the
	// client lists the files itself.
	Attachments json.RawMessage     `json:"attachments,omitempty"`
	Flags       events.MessageFlags `json:"flags,omitempty"`
	Poll        json.RawMessage     `json:"poll,omitempty"`
	// Files are uploaded as files[n] parts of a multipart body (at most 10).
	Files []File `json:"-"`
}

// MessageEdit is the body of PATCH /channels/{channel.id}/messages/{message.id}. Nil fields are
// left as they are; a pointer to an empty value clears the field.
type MessageEdit struct {
	Content         *string              `json:"content,omitempty"`
	Embeds          *[]events.Embed      `json:"embeds,omitempty"`
	Flags           *events.MessageFlags `json:"flags,omitempty"`
	AllowedMentions *AllowedMentions     `json:"allowed_mentions,omitempty"`
	Components      json.RawMessage      `json:"components,omitempty"`
	// Attachments lists the attachments to keep (and describes new Files).
	Attachments json.RawMessage `json:"attachments,omitempty"`
	Files       []File          `json:"-"`
}

// InteractionResponseType is an interaction callback type.
type InteractionResponseType int

// Interaction callback types.
const (
	ResponsePong                   InteractionResponseType = 1
	ResponseChannelMessage         InteractionResponseType = 4
	ResponseDeferredChannelMessage InteractionResponseType = 5
	ResponseDeferredUpdateMessage  InteractionResponseType = 6
	ResponseUpdateMessage          InteractionResponseType = 7
	ResponseAutocompleteResult     InteractionResponseType = 8
	ResponseModal                  InteractionResponseType = 9
	ResponseLaunchActivity         InteractionResponseType = 12
)

// InteractionResponse is the body of POST /interactions/{id}/{token}/callback.
type InteractionResponse struct {
	Type InteractionResponseType  `json:"type"`
	Data *InteractionResponseData `json:"data,omitempty"`
}

// InteractionResponseData is a callback's data: a message (types 4 and 7), autocomplete
// Choices (8) or a modal's CustomID, Title and Components (9).
type InteractionResponseData struct {
	TTS             bool                `json:"tts,omitempty"`
	Content         string              `json:"content,omitempty"`
	Embeds          []events.Embed      `json:"embeds,omitempty"`
	AllowedMentions *AllowedMentions    `json:"allowed_mentions,omitempty"`
	Flags           events.MessageFlags `json:"flags,omitempty"`
	Components      json.RawMessage     `json:"components,omitempty"`
	Attachments     json.RawMessage     `json:"attachments,omitempty"`
	Poll            json.RawMessage     `json:"poll,omitempty"`
	// Choices are the autocomplete suggestions (at most 25).
	Choices json.RawMessage `json:"choices,omitempty"`
	// CustomID (1–100 characters) and Title (at most 45) make a modal.
	CustomID string `json:"custom_id,omitempty"`
	Title    string `json:"title,omitempty"`
	Files    []File `json:"-"`
}

// WebhookMessage is the body of a follow-up message, POST /webhooks/{application.id}/{token}.
type WebhookMessage struct {
	Content         string              `json:"content,omitempty"`
	TTS             bool                `json:"tts,omitempty"`
	Embeds          []events.Embed      `json:"embeds,omitempty"`
	AllowedMentions *AllowedMentions    `json:"allowed_mentions,omitempty"`
	Components      json.RawMessage     `json:"components,omitempty"`
	Attachments     json.RawMessage     `json:"attachments,omitempty"`
	Flags           events.MessageFlags `json:"flags,omitempty"`
	Poll            json.RawMessage     `json:"poll,omitempty"`
	Files           []File              `json:"-"`
}

// WebhookEdit is the body of PATCH on the original response or a follow-up. Nil fields are left
// as they are.
type WebhookEdit struct {
	Content         *string          `json:"content,omitempty"`
	Embeds          *[]events.Embed  `json:"embeds,omitempty"`
	AllowedMentions *AllowedMentions `json:"allowed_mentions,omitempty"`
	Components      json.RawMessage  `json:"components,omitempty"`
	Attachments     json.RawMessage  `json:"attachments,omitempty"`
	Files           []File           `json:"-"`
}
