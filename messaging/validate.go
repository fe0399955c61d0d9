package messaging

import (
	"encoding/json"
	"slices"
	"unicode/utf8"

	"github.com/cordage/cordage/events"
)

// Discord's message limits (protocol.md §10.1).
const (
	MaxContentLength = 2000
	MaxEmbeds        = 10
	MaxEmbedChars    = 6000
	MaxNonceLength   = 25
	MaxFiles         = 10
)

func checkContent(content string) error {
	if n := utf8.RuneCountInString(content); n > MaxContentLength {
		return invalid("content", "%d characters, at most %d", n, MaxContentLength)
	}
	return nil
}

// embedChars counts what Discord's 6000-character limit covers.
func embedChars(e events.Embed) int {
	n := utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
	if e.Footer != nil {
		n += utf8.RuneCountInString(e.Footer.Text)
	}
	if e.Author != nil {
		n += utf8.RuneCountInString(e.Author.Name)
	}
	for _, f := range e.Fields {
		n += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
	}
	return n
}

func checkEmbeds(embeds []events.Embed) error {
	if len(embeds) > MaxEmbeds {
		return invalid("embeds", "%d embeds, at most %d", len(embeds), MaxEmbeds)
	}
	total := 0
	for i, e := range embeds {
		if len(e.Fields) > 25 {
			return invalid("embeds."+itoa(i)+".fields", "%d fields, at most 25", len(e.Fields))
		}
		total += embedChars(e)
	}
	if total > MaxEmbedChars {
		return invalid("embeds", "%d characters together, at most %d", total, MaxEmbedChars)
	}
	return nil
}

func checkMentions(a *AllowedMentions) error {
	if a == nil {
		return nil
	}
	if len(a.Users) > 100 || len(a.Roles) > 100 {
		return invalid("allowed_mentions", "at most 100 users and 100 roles")
	}
	if len(a.Users) > 0 && slices.Contains(a.Parse, "users") {
		return invalid("allowed_mentions", "users both parsed and listed")
	}
	if len(a.Roles) > 0 && slices.Contains(a.Parse, "roles") {
		return invalid("allowed_mentions", "roles both parsed and listed")
	}
	for _, p := range a.Parse {
		if p != "users" && p != "roles" && p != "everyone" {
			return invalid("allowed_mentions.parse", "unknown kind %q", p)
		}
	}
	return nil
}

func checkFiles(files []File) error {
	if len(files) > MaxFiles {
		return invalid("files", "%d files, at most %d", len(files), MaxFiles)
	}
	return nil
}

func rawSet(r json.RawMessage) bool { return len(r) > 0 && string(r) != "null" && string(r) != "[]" }

// checkParts checks the fields every message body shares, in the order Discord reports them.
// A nil content or embeds is an edit that leaves the field as it is, so it is not checked.
func checkParts(content *string, embeds *[]events.Embed, mentions *AllowedMentions, files []File) error {
	if content != nil {
		if err := checkContent(*content); err != nil {
			return err
		}
	}
	if embeds != nil {
		if err := checkEmbeds(*embeds); err != nil {
			return err
		}
	}
	if err := checkMentions(mentions); err != nil {
		return err
	}
	return checkFiles(files)
}

// hasBody reports whether a message carries something Discord can show; stickers, which only
// channel messages may carry, are the caller's to add.
func hasBody(content string, embeds []events.Embed, components json.RawMessage, files []File, poll json.RawMessage) bool {
	return content != "" || len(embeds) > 0 || rawSet(components) || len(files) > 0 || rawSet(poll)
}

// validate checks a message before it is sent, with the rules Discord applies.
func (m *MessageCreate) validate() error {
	if err := checkContent(m.Content); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(m.Nonce); n > MaxNonceLength {
		return invalid("nonce", "%d characters, at most %d", n, MaxNonceLength)
	}
	if m.EnforceNonce && m.Nonce == "" {
		return invalid("nonce", "EnforceNonce needs a nonce")
	}
	if err := checkParts(nil, &m.Embeds, m.AllowedMentions, m.Files); err != nil {
		return err
	}
	if m.MessageReference != nil && m.MessageReference.MessageID == 0 {
		return invalid("message_reference.message_id", "zero snowflake")
	}
	if len(m.StickerIDs) == 0 && !hasBody(m.Content, m.Embeds, m.Components, m.Files, m.Poll) {
		return invalid("content", "empty message: set content, embeds, components, stickers, files or a poll")
	}
	return nil
}

func (m *MessageEdit) validate() error {
	return checkParts(m.Content, m.Embeds, m.AllowedMentions, m.Files)
}

func (m *WebhookMessage) validate() error {
	if err := checkParts(&m.Content, &m.Embeds, m.AllowedMentions, m.Files); err != nil {
		return err
	}
	if !hasBody(m.Content, m.Embeds, m.Components, m.Files, m.Poll) {
		return invalid("content", "empty message: set content, embeds, components, files or a poll")
	}
	return nil
}

func (m *WebhookEdit) validate() error {
	return checkParts(m.Content, m.Embeds, m.AllowedMentions, m.Files)
}

func (r *InteractionResponse) validate() error {
	switch r.Type {
	case ResponsePong, ResponseDeferredUpdateMessage, ResponseLaunchActivity:
	case ResponseDeferredChannelMessage:
		if r.Data != nil && r.Data.Flags&^events.MessageFlagEphemeral != 0 {
			return invalid("data.flags", "a deferred response may only set EPHEMERAL")
		}
	case ResponseChannelMessage, ResponseUpdateMessage:
		if r.Data == nil {
			if r.Type == ResponseChannelMessage {
				return invalid("data", "a message response needs data")
			}
			return nil
		}
		d := r.Data
		if err := checkParts(&d.Content, &d.Embeds, d.AllowedMentions, d.Files); err != nil {
			return err
		}
		if r.Type == ResponseChannelMessage && !hasBody(d.Content, d.Embeds, d.Components, d.Files, d.Poll) {
			return invalid("data.content", "empty message")
		}
	case ResponseAutocompleteResult:
		if r.Data != nil && rawSet(r.Data.Choices) {
			var choices []json.RawMessage
			if err := json.Unmarshal(r.Data.Choices, &choices); err != nil {
				return invalid("data.choices", "not an array: %v", err)
			}
			if len(choices) > 25 {
				return invalid("data.choices", "%d choices, at most 25", len(choices))
			}
		}
	case ResponseModal:
		if r.Data == nil {
			return invalid("data", "a modal needs custom_id, title and components")
		}
		if n := utf8.RuneCountInString(r.Data.CustomID); n < 1 || n > 100 {
			return invalid("data.custom_id", "%d characters, need 1–100", n)
		}
		if n := utf8.RuneCountInString(r.Data.Title); n < 1 || n > 45 {
			return invalid("data.title", "%d characters, need 1–45", n)
		}
		if !rawSet(r.Data.Components) {
			return invalid("data.components", "a modal needs 1–5 components")
		}
	default:
		return invalid("type", "unknown interaction callback type %d", r.Type)
	}
	return nil
}
