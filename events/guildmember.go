package events

import "time"

// GuildMemberAdd is the data of GUILD_MEMBER_ADD: a member plus the guild's id.
type GuildMemberAdd struct {
	Member
	GuildID Snowflake `json:"guild_id"`
}

// GuildMemberRemove is the data of GUILD_MEMBER_REMOVE.
type GuildMemberRemove struct {
	GuildID Snowflake `json:"guild_id"`
	User    User      `json:"user"`
}

// GuildMemberUpdate is the data of GUILD_MEMBER_UPDATE. Discord sends it for the bot itself
// even without the GUILD_MEMBERS intent.
type GuildMemberUpdate struct {
	GuildID                    Snowflake   `json:"guild_id"`
	Roles                      []Snowflake `json:"roles"`
	User                       User        `json:"user"`
	Nick                       *string     `json:"nick,omitempty"`
	Avatar                     *string     `json:"avatar,omitempty"`
	Banner                     *string     `json:"banner,omitempty"`
	JoinedAt                   *time.Time  `json:"joined_at,omitempty"`
	PremiumSince               *time.Time  `json:"premium_since,omitempty"`
	Deaf                       bool        `json:"deaf,omitempty"`
	Mute                       bool        `json:"mute,omitempty"`
	Pending                    bool        `json:"pending,omitempty"`
	CommunicationDisabledUntil *time.Time  `json:"communication_disabled_until,omitempty"`
	Flags                      int         `json:"flags,omitempty"`
}
