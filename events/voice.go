package events

import "time"

// VoiceState is a user's voice connection state: the data of VOICE_STATE_UPDATE and an element
// of GUILD_CREATE's voice_states (which leave GuildID out).
type VoiceState struct {
	GuildID Snowflake `json:"guild_id,omitempty"`
	// ChannelID is nil when the user left voice.
	ChannelID  *Snowflake `json:"channel_id"`
	UserID     Snowflake  `json:"user_id"`
	Member     *Member    `json:"member,omitempty"`
	SessionID  string     `json:"session_id"`
	Deaf       bool       `json:"deaf"`
	Mute       bool       `json:"mute"`
	SelfDeaf   bool       `json:"self_deaf"`
	SelfMute   bool       `json:"self_mute"`
	SelfStream bool       `json:"self_stream,omitempty"`
	SelfVideo  bool       `json:"self_video"`
	Suppress   bool       `json:"suppress"`
	// RequestToSpeakTimestamp is when the user asked to speak in a stage channel.
	RequestToSpeakTimestamp *time.Time `json:"request_to_speak_timestamp"`
}

// VoiceServerUpdate is the data of VOICE_SERVER_UPDATE, sent after a bot joins voice with op 4.
// Token authenticates the voice connection; never log it.
type VoiceServerUpdate struct {
	Token   string    `json:"token"`
	GuildID Snowflake `json:"guild_id"`
	// Endpoint is the voice server host; nil means the server went away: disconnect voice and
	// wait for the next VOICE_SERVER_UPDATE.
	Endpoint *string `json:"endpoint"`
}

// VoiceChannelStatusUpdate is the data of VOICE_CHANNEL_STATUS_UPDATE.
type VoiceChannelStatusUpdate struct {
	ID      Snowflake `json:"id"`
	GuildID Snowflake `json:"guild_id"`
	// Status is nil when it was cleared.
	Status *string `json:"status"`
}

// VoiceChannelStartTimeUpdate is the data of VOICE_CHANNEL_START_TIME_UPDATE.
type VoiceChannelStartTimeUpdate struct {
	ID      Snowflake `json:"id"`
	GuildID Snowflake `json:"guild_id"`
	// VoiceStartTime is Unix time in seconds when the current voice session began; nil when
	// the channel emptied.
	VoiceStartTime *int64 `json:"voice_start_time,omitempty"`
}

// ChannelInfo is the data of CHANNEL_INFO, the answer to op 43 (RequestChannelInfo).
type ChannelInfo struct {
	GuildID  Snowflake          `json:"guild_id"`
	Channels []ChannelInfoEntry `json:"channels"`
}

// ChannelInfoEntry holds the requested fields of one channel.
type ChannelInfoEntry struct {
	ID             Snowflake `json:"id"`
	Status         *string   `json:"status,omitempty"`
	VoiceStartTime *int64    `json:"voice_start_time,omitempty"`
}
