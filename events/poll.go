package events

// MessagePollVote is the data of MESSAGE_POLL_VOTE_ADD and MESSAGE_POLL_VOTE_REMOVE. A vote for
// several answers arrives as one event per answer.
type MessagePollVote struct {
	UserID    Snowflake `json:"user_id"`
	ChannelID Snowflake `json:"channel_id"`
	MessageID Snowflake `json:"message_id"`
	GuildID   Snowflake `json:"guild_id,omitempty"`
	AnswerID  int       `json:"answer_id"`
}
