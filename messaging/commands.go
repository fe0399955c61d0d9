package messaging

import (
	"context"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/commands"
)

// The Client is the REST side of package events/commands.
var _ commands.API = (*Client)(nil)

func commandsRoute(method string, appID, guildID events.Snowflake) (*compiled, error) {
	if guildID == 0 {
		return compileRoute(method, "/applications/{application.id}/commands", []any{appID})
	}
	return compileRoute(method, "/applications/{application.id}/guilds/{guild.id}/commands", []any{appID, guildID})
}

// ListCommands fetches the application's commands with their localizations: the global ones
// for guildID 0 (GET /applications/{application.id}/commands), else the guild's
// (GET /applications/{application.id}/guilds/{guild.id}/commands).
func (c *Client) ListCommands(ctx context.Context, appID, guildID events.Snowflake) ([]commands.Command, error) {
	r, err := commandsRoute("GET", appID, guildID)
	if err != nil {
		return nil, err
	}
	r.query = map[string][]string{"with_localizations": {"true"}}
	var out []commands.Command
	if err := c.send(ctx, r, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// BulkOverwriteCommands replaces all of the application's commands, global for guildID 0 or
// the guild's (PUT on the same routes), and returns Discord's list with ids.
func (c *Client) BulkOverwriteCommands(ctx context.Context, appID, guildID events.Snowflake, cmds []commands.Command) ([]commands.Command, error) {
	r, err := commandsRoute("PUT", appID, guildID)
	if err != nil {
		return nil, err
	}
	if cmds == nil {
		cmds = []commands.Command{} // an empty array deletes all; null is a form error
	}
	var out []commands.Command
	if err := c.send(ctx, r, cmds, &out); err != nil {
		return nil, err
	}
	return out, nil
}
