package events

// ReactionType tells normal reactions from super (burst) reactions.
type ReactionType int

// Reaction types.
const (
	ReactionNormal ReactionType = 0
	ReactionBurst  ReactionType = 1
)

// Reaction is one emoji's reactions on a message.
type Reaction struct {
	Count        int                  `json:"count"`
	CountDetails ReactionCountDetails `json:"count_details"`
	// Me and MeBurst say whether the bot itself reacted.
	Me          bool     `json:"me"`
	MeBurst     bool     `json:"me_burst"`
	Emoji       Emoji    `json:"emoji"`
	BurstColors []string `json:"burst_colors,omitempty"`
}

// ReactionCountDetails splits a reaction count into super and normal reactions.
type ReactionCountDetails struct {
	Burst  int `json:"burst"`
	Normal int `json:"normal"`
}

// MessageReactionAdd is the data of MESSAGE_REACTION_ADD.
type MessageReactionAdd struct {
	UserID    Snowflake `json:"user_id"`
	ChannelID Snowflake `json:"channel_id"`
	MessageID Snowflake `json:"message_id"`
	GuildID   Snowflake `json:"guild_id,omitempty"`
	// Member is the reacting member, in guilds.
	Member          *Member      `json:"member,omitempty"`
	Emoji           Emoji        `json:"emoji"`
	MessageAuthorID Snowflake    `json:"message_author_id,omitempty"`
	Burst           bool         `json:"burst"`
	BurstColors     []string     `json:"burst_colors,omitempty"`
	Type            ReactionType `json:"type"`
}

// MessageReactionRemove is the data of MESSAGE_REACTION_REMOVE.
type MessageReactionRemove struct {
	UserID    Snowflake    `json:"user_id"`
	ChannelID Snowflake    `json:"channel_id"`
	MessageID Snowflake    `json:"message_id"`
	GuildID   Snowflake    `json:"guild_id,omitempty"`
	Emoji     Emoji        `json:"emoji"`
	Burst     bool         `json:"burst"`
	Type      ReactionType `json:"type"`
}

// MessageReactionRemoveAll is the data of MESSAGE_REACTION_REMOVE_ALL.
type MessageReactionRemoveAll struct {
	ChannelID Snowflake `json:"channel_id"`
	MessageID Snowflake `json:"message_id"`
	GuildID   Snowflake `json:"guild_id,omitempty"`
}

// MessageReactionRemoveEmoji is the data of MESSAGE_REACTION_REMOVE_EMOJI.
type MessageReactionRemoveEmoji struct {
	ChannelID Snowflake `json:"channel_id"`
	MessageID Snowflake `json:"message_id"`
	GuildID   Snowflake `json:"guild_id,omitempty"`
	Emoji     Emoji     `json:"emoji"`
}
