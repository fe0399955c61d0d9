package messaging

import (
	"context"
	"strings"

	"github.com/cordage/cordage/events"
)

// reactionEmoji normalizes the emoji forms a bot has at hand into the route form: a Unicode
// emoji as is, a custom emoji as name:id. It accepts "<:name:id>", "<a:name:id>", ":name:id"
// and "name:id".
func reactionEmoji(e string) (string, error) {
	e = strings.TrimSpace(e)
	if strings.HasPrefix(e, "<") && strings.HasSuffix(e, ">") {
		e = strings.TrimPrefix(strings.TrimSuffix(e[1:], ">"), "a:")
	}
	e = strings.TrimPrefix(e, ":")
	if e == "" {
		return "", invalid("{emoji}", "empty emoji")
	}
	if name, id, custom := strings.Cut(e, ":"); custom {
		if name == "" {
			return "", invalid("{emoji}", "custom emoji without a name")
		}
		if sf, err := events.ParseSnowflake(id); err != nil || sf == 0 {
			return "", invalid("{emoji}", "custom emoji needs name:id with a numeric id")
		}
	}
	return e, nil
}

func (c *Client) reaction(ctx context.Context, method, route string, emoji string, params ...any) error {
	e, err := reactionEmoji(emoji)
	if err != nil {
		return err
	}
	all := append(params[:2:2], e)
	all = append(all, params[2:]...)
	return c.Do(ctx, method, route, all, nil, nil)
}

// AddReaction reacts to a message as the bot
// (PUT /channels/{channel.id}/messages/{message.id}/reactions/{emoji}/@me). emoji is a Unicode
// emoji or a custom one as name:id or <:name:id>.
func (c *Client) AddReaction(ctx context.Context, channelID, messageID events.Snowflake, emoji string) error {
	return c.reaction(ctx, "PUT", "/channels/{channel.id}/messages/{message.id}/reactions/{emoji}/@me", emoji, channelID, messageID)
}

// RemoveOwnReaction removes the bot's reaction
// (DELETE /channels/{channel.id}/messages/{message.id}/reactions/{emoji}/@me).
func (c *Client) RemoveOwnReaction(ctx context.Context, channelID, messageID events.Snowflake, emoji string) error {
	return c.reaction(ctx, "DELETE", "/channels/{channel.id}/messages/{message.id}/reactions/{emoji}/@me", emoji, channelID, messageID)
}

// RemoveUserReaction removes another user's reaction
// (DELETE /channels/{channel.id}/messages/{message.id}/reactions/{emoji}/{user.id}).
func (c *Client) RemoveUserReaction(ctx context.Context, channelID, messageID events.Snowflake, emoji string, userID events.Snowflake) error {
	return c.reaction(ctx, "DELETE", "/channels/{channel.id}/messages/{message.id}/reactions/{emoji}/{user.id}", emoji, channelID, messageID, userID)
}

// RemoveEmojiReactions removes every reaction with one emoji
// (DELETE /channels/{channel.id}/messages/{message.id}/reactions/{emoji}).
func (c *Client) RemoveEmojiReactions(ctx context.Context, channelID, messageID events.Snowflake, emoji string) error {
	return c.reaction(ctx, "DELETE", "/channels/{channel.id}/messages/{message.id}/reactions/{emoji}", emoji, channelID, messageID)
}

// RemoveAllReactions removes every reaction from a message
// (DELETE /channels/{channel.id}/messages/{message.id}/reactions).
func (c *Client) RemoveAllReactions(ctx context.Context, channelID, messageID events.Snowflake) error {
	return c.Do(ctx, "DELETE", "/channels/{channel.id}/messages/{message.id}/reactions", []any{channelID, messageID}, nil, nil)
}
