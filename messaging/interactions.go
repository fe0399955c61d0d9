package messaging

import (
	"context"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/commands"
)

// Interaction routes are authorized by the interaction token in the path and are exempt from
// the global rate limit; the client sends them without the bot token.

// RespondInteraction sends the initial response to an interaction
// (POST /interactions/{interaction.id}/{interaction.token}/callback). Discord wants it within
// 3 s of the interaction; after that the token still allows follow-ups and edits for 15 min.
func (c *Client) RespondInteraction(ctx context.Context, interactionID events.Snowflake, token string, resp InteractionResponse) error {
	if err := resp.validate(); err != nil {
		return err
	}
	r, err := compileRoute("POST", "/interactions/{interaction.id}/{interaction.token}/callback", []any{interactionID, token})
	if err != nil {
		return err
	}
	var files []File
	if resp.Data != nil {
		files = resp.Data.Files
	}
	return c.send(ctx, r, &resp, nil, WithFiles(files...))
}

// DeferInteraction acknowledges an interaction with "thinking…" (callback type 5), to be
// replaced later with EditOriginal.
func (c *Client) DeferInteraction(ctx context.Context, interactionID events.Snowflake, token string, ephemeral bool) error {
	resp := InteractionResponse{Type: ResponseDeferredChannelMessage}
	if ephemeral {
		resp.Data = &InteractionResponseData{Flags: events.MessageFlagEphemeral}
	}
	return c.RespondInteraction(ctx, interactionID, token, resp)
}

// CreateInteractionResponse sends a callback built by package events/commands. It is
// RespondInteraction for commands.Response.
func (c *Client) CreateInteractionResponse(ctx context.Context, interactionID events.Snowflake, token string, resp commands.Response) error {
	r, err := compileRoute("POST", "/interactions/{interaction.id}/{interaction.token}/callback", []any{interactionID, token})
	if err != nil {
		return err
	}
	if resp.Data != nil {
		if err := checkContent(resp.Data.Content); err != nil {
			return err
		}
		if len(resp.Data.Embeds) > MaxEmbeds {
			return invalid("data.embeds", "%d embeds, at most %d", len(resp.Data.Embeds), MaxEmbeds)
		}
	}
	return c.send(ctx, r, resp, nil)
}

func webhookRoute(method, suffix string, appID events.Snowflake, token string, extra ...any) (*compiled, error) {
	return compileRoute(method, "/webhooks/{application.id}/{interaction.token}"+suffix, append([]any{appID, token}, extra...))
}

// GetOriginalResponse fetches the original response message
// (GET /webhooks/{application.id}/{interaction.token}/messages/@original).
func (c *Client) GetOriginalResponse(ctx context.Context, appID events.Snowflake, token string) (*events.Message, error) {
	r, err := webhookRoute("GET", "/messages/@original", appID, token)
	if err != nil {
		return nil, err
	}
	return c.sendMessage(ctx, r, nil)
}

// EditOriginal edits the original response, which also ends a deferred "thinking…" state
// (PATCH /webhooks/{application.id}/{interaction.token}/messages/@original).
func (c *Client) EditOriginal(ctx context.Context, appID events.Snowflake, token string, m WebhookEdit) (*events.Message, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	r, err := webhookRoute("PATCH", "/messages/@original", appID, token)
	if err != nil {
		return nil, err
	}
	return c.sendMessage(ctx, r, &m, WithFiles(m.Files...))
}

// EditOriginalResponse edits the original response with a message built by package
// events/commands. It is EditOriginal for commands.Message.
func (c *Client) EditOriginalResponse(ctx context.Context, appID events.Snowflake, token string, msg commands.Message) error {
	if err := checkContent(msg.Content); err != nil {
		return err
	}
	r, err := webhookRoute("PATCH", "/messages/@original", appID, token)
	if err != nil {
		return err
	}
	return c.send(ctx, r, msg, nil)
}

// DeleteOriginalResponse deletes the original response
// (DELETE /webhooks/{application.id}/{interaction.token}/messages/@original).
func (c *Client) DeleteOriginalResponse(ctx context.Context, appID events.Snowflake, token string) error {
	r, err := webhookRoute("DELETE", "/messages/@original", appID, token)
	if err != nil {
		return err
	}
	return c.send(ctx, r, nil, nil)
}

// SendFollowup posts a follow-up message to an interaction
// (POST /webhooks/{application.id}/{interaction.token}).
func (c *Client) SendFollowup(ctx context.Context, appID events.Snowflake, token string, m WebhookMessage) (*events.Message, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	r, err := webhookRoute("POST", "", appID, token)
	if err != nil {
		return nil, err
	}
	return c.sendMessage(ctx, r, &m, WithFiles(m.Files...))
}

// CreateFollowup posts a follow-up built by package events/commands and returns its id. It is
// SendFollowup for commands.Message.
func (c *Client) CreateFollowup(ctx context.Context, appID events.Snowflake, token string, msg commands.Message) (events.Snowflake, error) {
	if err := checkContent(msg.Content); err != nil {
		return 0, err
	}
	if msg.Content == "" && len(msg.Embeds) == 0 {
		return 0, invalid("content", "empty message")
	}
	r, err := webhookRoute("POST", "", appID, token)
	if err != nil {
		return 0, err
	}
	var out struct {
		ID events.Snowflake `json:"id"`
	}
	if err := c.send(ctx, r, msg, &out); err != nil {
		return 0, err
	}
	return out.ID, nil
}

// GetFollowup fetches a follow-up message
// (GET /webhooks/{application.id}/{interaction.token}/messages/{message.id}).
func (c *Client) GetFollowup(ctx context.Context, appID events.Snowflake, token string, messageID events.Snowflake) (*events.Message, error) {
	r, err := webhookRoute("GET", "/messages/{message.id}", appID, token, messageID)
	if err != nil {
		return nil, err
	}
	return c.sendMessage(ctx, r, nil)
}

// EditFollowup edits a follow-up message
// (PATCH /webhooks/{application.id}/{interaction.token}/messages/{message.id}).
func (c *Client) EditFollowup(ctx context.Context, appID events.Snowflake, token string, messageID events.Snowflake, m WebhookEdit) (*events.Message, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	r, err := webhookRoute("PATCH", "/messages/{message.id}", appID, token, messageID)
	if err != nil {
		return nil, err
	}
	return c.sendMessage(ctx, r, &m, WithFiles(m.Files...))
}

// DeleteFollowup deletes a follow-up message
// (DELETE /webhooks/{application.id}/{interaction.token}/messages/{message.id}).
func (c *Client) DeleteFollowup(ctx context.Context, appID events.Snowflake, token string, messageID events.Snowflake) error {
	r, err := webhookRoute("DELETE", "/messages/{message.id}", appID, token, messageID)
	if err != nil {
		return err
	}
	return c.send(ctx, r, nil, nil)
}
