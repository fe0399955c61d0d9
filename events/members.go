package events

import "encoding/json"

// UpdateVoiceState is the data of op 4: join, move or leave (nil ChannelID) a voice channel.
type UpdateVoiceState struct {
	GuildID   Snowflake  `json:"guild_id"`
	ChannelID *Snowflake `json:"channel_id"`
	SelfMute  bool       `json:"self_mute"`
	SelfDeaf  bool       `json:"self_deaf"`
}

// RequestGuildMembers is the data of op 8. Set Query (with Limit) or UserIDs. An empty Query
// with Limit 0 asks for every member: Discord allows that once per guild per 30 s and answers a
// second request with a RATE_LIMITED dispatch.
type RequestGuildMembers struct {
	GuildID   Snowflake   `json:"guild_id"`
	Query     *string     `json:"query,omitempty"`
	Limit     int         `json:"limit"`
	Presences bool        `json:"presences,omitempty"`
	UserIDs   []Snowflake `json:"user_ids,omitempty"`
	// Nonce (at most 32 bytes) comes back in every chunk; Discord silently drops a longer one.
	Nonce string `json:"nonce,omitempty"`
}

// MaxNonceLength is the longest nonce Discord echoes back in GUILD_MEMBERS_CHUNK.
const MaxNonceLength = 32

// GuildMembersChunk is the data of a GUILD_MEMBERS_CHUNK dispatch, one of ChunkCount answers to
// a RequestGuildMembers.
type GuildMembersChunk struct {
	GuildID    Snowflake         `json:"guild_id"`
	Members    []Member          `json:"members"`
	ChunkIndex int               `json:"chunk_index"`
	ChunkCount int               `json:"chunk_count"`
	NotFound   []Snowflake       `json:"not_found,omitempty"`
	Presences  []json.RawMessage `json:"presences,omitempty"`
	Nonce      string            `json:"nonce,omitempty"`
}
