package messaging

import (
	"context"

	"github.com/cordage/cordage/events"
)

// CreateMessage posts a message in a channel (POST /channels/{channel.id}/messages), with
// files as a multipart upload. It checks Discord's limits first and sends nothing when they are
// broken (error matching ErrInvalidInput).
func (c *Client) CreateMessage(ctx context.Context, channelID events.Snowflake, m MessageCreate) (*events.Message, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	r, err := compileRoute("POST", "/channels/{channel.id}/messages", []any{channelID})
	if err != nil {
		return nil, err
	}
	return c.sendMessage(ctx, r, &m, WithFiles(m.Files...))
}

// Reply posts content in a channel as a reply to one of its messages. The reply does not ping
// the replied-to author; use CreateMessage for full control.
func (c *Client) Reply(ctx context.Context, channelID, messageID events.Snowflake, content string) (*events.Message, error) {
	if messageID == 0 {
		return nil, invalid("{message.id}", "zero snowflake")
	}
	return c.CreateMessage(ctx, channelID, MessageCreate{
		Content:          content,
		MessageReference: &events.MessageReference{MessageID: messageID, ChannelID: channelID},
		AllowedMentions:  &AllowedMentions{Parse: []string{"users", "roles"}},
	})
}

// GetMessage fetches one message (GET /channels/{channel.id}/messages/{message.id}).
func (c *Client) GetMessage(ctx context.Context, channelID, messageID events.Snowflake) (*events.Message, error) {
	var out events.Message
	if err := c.Do(ctx, "GET", "/channels/{channel.id}/messages/{message.id}", []any{channelID, messageID}, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// EditMessage edits a message the bot sent (PATCH /channels/{channel.id}/messages/{message.id}).
func (c *Client) EditMessage(ctx context.Context, channelID, messageID events.Snowflake, m MessageEdit) (*events.Message, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	r, err := compileRoute("PATCH", "/channels/{channel.id}/messages/{message.id}", []any{channelID, messageID})
	if err != nil {
		return nil, err
	}
	return c.sendMessage(ctx, r, &m, WithFiles(m.Files...))
}

// DeleteMessage deletes a message (DELETE /channels/{channel.id}/messages/{message.id}); use
// WithReason for the audit log.
func (c *Client) DeleteMessage(ctx context.Context, channelID, messageID events.Snowflake, opts ...RequestOption) error {
	return c.Do(ctx, "DELETE", "/channels/{channel.id}/messages/{message.id}", []any{channelID, messageID}, nil, nil, opts...)
}

// sendMessage sends r with body and decodes the message Discord answers with.
func (c *Client) sendMessage(ctx context.Context, r *compiled, body any, opts ...RequestOption) (*events.Message, error) {
	var out events.Message
	if err := c.send(ctx, r, body, &out, opts...); err != nil {
		return nil, err
	}
	return &out, nil
}
