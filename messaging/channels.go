package messaging

import (
	"context"

	"github.com/cordage/cordage/events"
)

// GetChannel fetches a channel or thread (GET /channels/{channel.id}).
func (c *Client) GetChannel(ctx context.Context, channelID events.Snowflake) (*events.Channel, error) {
	var out events.Channel
	if err := c.Do(ctx, "GET", "/channels/{channel.id}", []any{channelID}, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TriggerTyping shows the bot as typing in a channel for about 10 s
// (POST /channels/{channel.id}/typing).
func (c *Client) TriggerTyping(ctx context.Context, channelID events.Snowflake) error {
	return c.Do(ctx, "POST", "/channels/{channel.id}/typing", []any{channelID}, nil, nil)
}

// CreateDM opens (or returns the existing) DM channel with a user (POST /users/@me/channels).
// Send to it with CreateMessage.
func (c *Client) CreateDM(ctx context.Context, userID events.Snowflake) (*events.Channel, error) {
	if userID == 0 {
		return nil, invalid("recipient_id", "zero snowflake")
	}
	var out events.Channel
	body := struct {
		RecipientID events.Snowflake `json:"recipient_id"`
	}{userID}
	if err := c.Do(ctx, "POST", "/users/@me/channels", nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetUser fetches a user (GET /users/{user.id}).
func (c *Client) GetUser(ctx context.Context, userID events.Snowflake) (*events.User, error) {
	var out events.User
	if err := c.Do(ctx, "GET", "/users/{user.id}", []any{userID}, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetCurrentUser fetches the bot's own user (GET /users/@me).
func (c *Client) GetCurrentUser(ctx context.Context) (*events.User, error) {
	var out events.User
	if err := c.Do(ctx, "GET", "/users/@me", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GatewayBot fetches GET /gateway/bot: the gateway URL, the recommended shard count and the
// session-start budget.
func (c *Client) GatewayBot(ctx context.Context) (*events.GatewayBot, error) {
	var out events.GatewayBot
	if err := c.Do(ctx, "GET", "/gateway/bot", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
