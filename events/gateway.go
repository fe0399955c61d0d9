package events

import "encoding/json"

// Hello is the data of op 10, the first frame of every connection.
type Hello struct {
	// HeartbeatInterval is in milliseconds. Never assume a value: Discord has sent 41250 and
	// documents 45000.
	HeartbeatInterval int `json:"heartbeat_interval"`
}

// IdentifyProperties describes the client in Identify.
type IdentifyProperties struct {
	OS      string `json:"os"`
	Browser string `json:"browser"`
	Device  string `json:"device"`
}

// ShardInfo is the [shard_id, num_shards] pair of Identify and READY.
type ShardInfo [2]int

// ID returns the zero-based shard id.
func (s ShardInfo) ID() int { return s[0] }

// Count returns the number of shards.
func (s ShardInfo) Count() int { return s[1] }

// Identify is the data of op 2, which starts a new session.
type Identify struct {
	// Token is the raw bot token, without the "Bot " prefix that REST uses.
	Token      string             `json:"token"`
	Properties IdentifyProperties `json:"properties"`
	// Compress asks for payload compression; it cannot be combined with transport compression.
	Compress bool `json:"compress,omitempty"`
	// LargeThreshold (50–250, default 50) is the member count above which offline members are
	// left out of GUILD_CREATE.
	LargeThreshold int             `json:"large_threshold,omitempty"`
	Shard          *ShardInfo      `json:"shard,omitempty"`
	Presence       *PresenceUpdate `json:"presence,omitempty"`
	Intents        Intent          `json:"intents"`
}

// Resume is the data of op 6, which resumes a session and replays what it missed.
type Resume struct {
	Token     string `json:"token"`
	SessionID string `json:"session_id"`
	// Seq is the last sequence number the client received (the field is "seq", not "s").
	Seq int64 `json:"seq"`
}

// InvalidSession is the data of op 9: true when the session may still be resumed.
type InvalidSession bool

// UnavailableGuild is a guild in READY, or one that went down in an outage
// (GUILD_DELETE with Unavailable set). A GUILD_DELETE without Unavailable means the bot left.
type UnavailableGuild struct {
	ID          Snowflake `json:"id"`
	Unavailable bool      `json:"unavailable,omitempty"`
}

// PartialApplication is the application object in READY.
type PartialApplication struct {
	ID    Snowflake `json:"id"`
	Flags int64     `json:"flags"`
	// FlagsNew carries flags past bit 30 as a decimal string (2026).
	FlagsNew string `json:"flags_new,omitempty"`
}

// Ready is the data of the READY dispatch, the answer to Identify.
type Ready struct {
	V         int                `json:"v"`
	User      User               `json:"user"`
	Guilds    []UnavailableGuild `json:"guilds"`
	SessionID string             `json:"session_id"`
	// ResumeGatewayURL is where to reconnect to resume this session; never use it to identify.
	ResumeGatewayURL string             `json:"resume_gateway_url"`
	Shard            *ShardInfo         `json:"shard,omitempty"`
	Application      PartialApplication `json:"application"`
}

// Resumed is the data of the RESUMED dispatch that ends a replay.
type Resumed struct {
	Trace []string `json:"_trace,omitempty"`
}

// SessionStartLimit is how many sessions a bot may still start, from GET /gateway/bot.
type SessionStartLimit struct {
	Total     int `json:"total"`
	Remaining int `json:"remaining"`
	// ResetAfter is in milliseconds.
	ResetAfter int `json:"reset_after"`
	// MaxConcurrency is how many identifies may run per 5 s: one per shard_id % MaxConcurrency.
	MaxConcurrency int `json:"max_concurrency"`
}

// Gateway is the answer of GET /gateway.
type Gateway struct {
	URL string `json:"url"`
}

// GatewayBot is the answer of GET /gateway/bot.
type GatewayBot struct {
	URL string `json:"url"`
	// Shards is the recommended shard count.
	Shards            int               `json:"shards"`
	SessionStartLimit SessionStartLimit `json:"session_start_limit"`
}

// RequestSoundboardSounds is the data of op 31.
type RequestSoundboardSounds struct {
	GuildIDs []Snowflake `json:"guild_ids"`
}

// RequestChannelInfo is the data of op 43.
type RequestChannelInfo struct {
	GuildID Snowflake `json:"guild_id"`
	Fields  []string  `json:"fields"`
}

// RateLimited is the data of the RATE_LIMITED dispatch, sent instead of a close when a gateway
// command (so far only op 8 for all members) is used too often.
type RateLimited struct {
	Opcode Op `json:"opcode"`
	// RetryAfter is in seconds.
	RetryAfter float64         `json:"retry_after"`
	Meta       json.RawMessage `json:"meta"`
}

// RequestGuildMembersRateLimit is the Meta of a RATE_LIMITED dispatch for op 8.
type RequestGuildMembersRateLimit struct {
	GuildID Snowflake `json:"guild_id"`
	Nonce   string    `json:"nonce,omitempty"`
}
