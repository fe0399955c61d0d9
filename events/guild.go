package events

import (
	"encoding/json"
	"time"
)

// Guild is a guild (server): the data of GUILD_CREATE and GUILD_UPDATE. The fields from
// JoinedAt on are sent only in GUILD_CREATE.
//
// Members and Presences hold only the bot and users in voice when the guild has more members
// than the Identify large_threshold, when the GUILD_PRESENCES intent is off, or above 75,000
// members; request the others with op 8.
type Guild struct {
	ID           Snowflake `json:"id"`
	Name         string    `json:"name"`
	Icon         *string   `json:"icon,omitempty"`
	Splash       *string   `json:"splash,omitempty"`
	Banner       *string   `json:"banner,omitempty"`
	Description  *string   `json:"description,omitempty"`
	OwnerID      Snowflake `json:"owner_id"`
	AFKChannelID Snowflake `json:"afk_channel_id,omitempty"`
	// AFKTimeout is in seconds.
	AFKTimeout                  int             `json:"afk_timeout"`
	VerificationLevel           int             `json:"verification_level"`
	DefaultMessageNotifications int             `json:"default_message_notifications"`
	ExplicitContentFilter       int             `json:"explicit_content_filter"`
	MFALevel                    int             `json:"mfa_level"`
	NSFWLevel                   int             `json:"nsfw_level"`
	PremiumTier                 int             `json:"premium_tier"`
	PremiumSubscriptionCount    int             `json:"premium_subscription_count,omitempty"`
	Roles                       []Role          `json:"roles"`
	Emojis                      []Emoji         `json:"emojis"`
	Features                    []string        `json:"features"`
	ApplicationID               Snowflake       `json:"application_id,omitempty"`
	SystemChannelID             Snowflake       `json:"system_channel_id,omitempty"`
	SystemChannelFlags          int             `json:"system_channel_flags"`
	RulesChannelID              Snowflake       `json:"rules_channel_id,omitempty"`
	PublicUpdatesChannelID      Snowflake       `json:"public_updates_channel_id,omitempty"`
	SafetyAlertsChannelID       Snowflake       `json:"safety_alerts_channel_id,omitempty"`
	MaxMembers                  int             `json:"max_members,omitempty"`
	VanityURLCode               *string         `json:"vanity_url_code,omitempty"`
	PreferredLocale             string          `json:"preferred_locale,omitempty"`
	Stickers                    json.RawMessage `json:"stickers,omitempty"`
	PremiumProgressBarEnabled   bool            `json:"premium_progress_bar_enabled,omitempty"`

	// JoinedAt is when the bot joined the guild.
	JoinedAt time.Time `json:"joined_at,omitzero"`
	// Large is true above the Identify large_threshold: offline members are then left out.
	Large       bool         `json:"large,omitempty"`
	Unavailable bool         `json:"unavailable,omitempty"`
	MemberCount int          `json:"member_count,omitempty"`
	VoiceStates []VoiceState `json:"voice_states,omitempty"`
	Members     []Member     `json:"members,omitempty"`
	Channels    []Channel    `json:"channels,omitempty"`
	Threads     []Channel    `json:"threads,omitempty"`
	// Presences are kept raw: a big guild sends thousands and few bots read them. Decode one
	// with json.Unmarshal into a [Presence].
	Presences            []json.RawMessage `json:"presences,omitempty"`
	StageInstances       json.RawMessage   `json:"stage_instances,omitempty"`
	GuildScheduledEvents json.RawMessage   `json:"guild_scheduled_events,omitempty"`
	SoundboardSounds     json.RawMessage   `json:"soundboard_sounds,omitempty"`
}

// GuildDelete is the data of GUILD_DELETE. With Unavailable set the guild is down in an outage
// and will come back with a GUILD_CREATE; without it the bot left or was removed.
type GuildDelete UnavailableGuild

// Removed reports whether the bot left or was removed from the guild, as opposed to the guild
// going down.
func (g GuildDelete) Removed() bool { return !g.Unavailable }

// GuildBan is the data of GUILD_BAN_ADD and GUILD_BAN_REMOVE.
type GuildBan struct {
	GuildID Snowflake `json:"guild_id"`
	User    User      `json:"user"`
}

// GuildIDEvent is the data of events that carry only a guild id, such as
// GUILD_INTEGRATIONS_UPDATE.
type GuildIDEvent struct {
	GuildID Snowflake `json:"guild_id"`
}
