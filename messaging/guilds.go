package messaging

import (
	"context"

	"github.com/cordage/cordage/events"
)

// GetGuild fetches a guild (GET /guilds/{guild.id}).
func (c *Client) GetGuild(ctx context.Context, guildID events.Snowflake) (*events.Guild, error) {
	var out events.Guild
	if err := c.Do(ctx, "GET", "/guilds/{guild.id}", []any{guildID}, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetMember fetches a guild member (GET /guilds/{guild.id}/members/{user.id}).
func (c *Client) GetMember(ctx context.Context, guildID, userID events.Snowflake) (*events.Member, error) {
	var out events.Member
	if err := c.Do(ctx, "GET", "/guilds/{guild.id}/members/{user.id}", []any{guildID, userID}, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AddMemberRole gives a member a role (PUT /guilds/{guild.id}/members/{user.id}/roles/{role.id});
// use WithReason for the audit log.
func (c *Client) AddMemberRole(ctx context.Context, guildID, userID, roleID events.Snowflake, opts ...RequestOption) error {
	return c.Do(ctx, "PUT", "/guilds/{guild.id}/members/{user.id}/roles/{role.id}", []any{guildID, userID, roleID}, nil, nil, opts...)
}

// RemoveMemberRole takes a role from a member
// (DELETE /guilds/{guild.id}/members/{user.id}/roles/{role.id}); use WithReason for the audit
// log.
func (c *Client) RemoveMemberRole(ctx context.Context, guildID, userID, roleID events.Snowflake, opts ...RequestOption) error {
	return c.Do(ctx, "DELETE", "/guilds/{guild.id}/members/{user.id}/roles/{role.id}", []any{guildID, userID, roleID}, nil, nil, opts...)
}
