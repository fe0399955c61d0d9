package events

// Names of the dispatches ("t") that the runtime and simulator refer to. Any other name passes
// through as a plain string.
const (
	EventReady             = "READY"
	EventResumed           = "RESUMED"
	EventRateLimited       = "RATE_LIMITED"
	EventGuildCreate       = "GUILD_CREATE"
	EventGuildUpdate       = "GUILD_UPDATE"
	EventGuildDelete       = "GUILD_DELETE"
	EventGuildMembersChunk = "GUILD_MEMBERS_CHUNK"
	EventMessageCreate     = "MESSAGE_CREATE"
	EventMessageUpdate     = "MESSAGE_UPDATE"
	EventMessageDelete     = "MESSAGE_DELETE"
	EventInteractionCreate = "INTERACTION_CREATE"
	EventPresenceUpdate    = "PRESENCE_UPDATE"
	EventTypingStart       = "TYPING_START"
	EventVoiceStateUpdate  = "VOICE_STATE_UPDATE"
	EventVoiceServerUpdate = "VOICE_SERVER_UPDATE"
	EventSoundboardSounds  = "SOUNDBOARD_SOUNDS"
	EventChannelInfo       = "CHANNEL_INFO"
)

// MaxPayloadSize is the largest frame, in bytes, a client may send; a larger one gets close 4002.
const MaxPayloadSize = 4096
