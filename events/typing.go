package events

import "time"

// TypingStart is the data of TYPING_START.
type TypingStart struct {
	ChannelID Snowflake `json:"channel_id"`
	GuildID   Snowflake `json:"guild_id,omitempty"`
	UserID    Snowflake `json:"user_id"`
	// Timestamp is Unix time in seconds.
	Timestamp int64 `json:"timestamp"`
	// Member is the typing member, in guilds.
	Member *Member `json:"member,omitempty"`
}

// Time returns Timestamp as a time.
func (t TypingStart) Time() time.Time { return time.Unix(t.Timestamp, 0).UTC() }
