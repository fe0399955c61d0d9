package events

import (
	"encoding/json"
	"fmt"
)

// WebhooksUpdate is the data of WEBHOOKS_UPDATE: a channel's webhooks changed.
type WebhooksUpdate struct {
	GuildID   Snowflake `json:"guild_id"`
	ChannelID Snowflake `json:"channel_id"`
}

// dispatchTypes maps each dispatch with a typed payload to a constructor of its data. Names left
// out (auto moderation, entitlements, subscriptions, integrations, invites, stage instances,
// scheduled events, audit log, stickers, command permissions, voice channel effects) stay raw.
var dispatchTypes = map[string]func() any{
	EventReady:                       func() any { return new(Ready) },
	EventResumed:                     func() any { return new(Resumed) },
	EventRateLimited:                 func() any { return new(RateLimited) },
	EventChannelCreate:               func() any { return new(Channel) },
	EventChannelUpdate:               func() any { return new(Channel) },
	EventChannelDelete:               func() any { return new(Channel) },
	EventChannelPinsUpdate:           func() any { return new(ChannelPinsUpdate) },
	EventChannelInfo:                 func() any { return new(ChannelInfo) },
	EventThreadCreate:                func() any { return new(Channel) },
	EventThreadUpdate:                func() any { return new(Channel) },
	EventThreadDelete:                func() any { return new(ThreadDelete) },
	EventThreadListSync:              func() any { return new(ThreadListSync) },
	EventThreadMemberUpdate:          func() any { return new(ThreadMember) },
	EventThreadMembersUpdate:         func() any { return new(ThreadMembersUpdate) },
	EventGuildCreate:                 func() any { return new(Guild) },
	EventGuildUpdate:                 func() any { return new(Guild) },
	EventGuildDelete:                 func() any { return new(GuildDelete) },
	EventGuildBanAdd:                 func() any { return new(GuildBan) },
	EventGuildBanRemove:              func() any { return new(GuildBan) },
	EventGuildEmojisUpdate:           func() any { return new(GuildEmojisUpdate) },
	EventGuildIntegrationsUpdate:     func() any { return new(GuildIDEvent) },
	EventGuildMemberAdd:              func() any { return new(GuildMemberAdd) },
	EventGuildMemberRemove:           func() any { return new(GuildMemberRemove) },
	EventGuildMemberUpdate:           func() any { return new(GuildMemberUpdate) },
	EventGuildMembersChunk:           func() any { return new(GuildMembersChunk) },
	EventGuildRoleCreate:             func() any { return new(GuildRoleUpdate) },
	EventGuildRoleUpdate:             func() any { return new(GuildRoleUpdate) },
	EventGuildRoleDelete:             func() any { return new(GuildRoleDelete) },
	EventGuildSoundboardSoundCreate:  func() any { return new(SoundboardSound) },
	EventGuildSoundboardSoundUpdate:  func() any { return new(SoundboardSound) },
	EventGuildSoundboardSoundDelete:  func() any { return new(GuildSoundboardSoundDelete) },
	EventGuildSoundboardSoundsUpdate: func() any { return new(SoundboardSounds) },
	EventSoundboardSounds:            func() any { return new(SoundboardSounds) },
	EventInteractionCreate:           func() any { return new(Interaction) },
	EventMessageCreate:               func() any { return new(Message) },
	EventMessageUpdate:               func() any { return new(Message) },
	EventMessageDelete:               func() any { return new(MessageDelete) },
	EventMessageDeleteBulk:           func() any { return new(MessageDeleteBulk) },
	EventMessageReactionAdd:          func() any { return new(MessageReactionAdd) },
	EventMessageReactionRemove:       func() any { return new(MessageReactionRemove) },
	EventMessageReactionRemoveAll:    func() any { return new(MessageReactionRemoveAll) },
	EventMessageReactionRemoveEmoji:  func() any { return new(MessageReactionRemoveEmoji) },
	EventMessagePollVoteAdd:          func() any { return new(MessagePollVote) },
	EventMessagePollVoteRemove:       func() any { return new(MessagePollVote) },
	EventPresenceUpdate:              func() any { return new(Presence) },
	EventTypingStart:                 func() any { return new(TypingStart) },
	EventUserUpdate:                  func() any { return new(User) },
	EventVoiceChannelStatusUpdate:    func() any { return new(VoiceChannelStatusUpdate) },
	EventVoiceChannelStartTimeUpdate: func() any { return new(VoiceChannelStartTimeUpdate) },
	EventVoiceStateUpdate:            func() any { return new(VoiceState) },
	EventVoiceServerUpdate:           func() any { return new(VoiceServerUpdate) },
	EventWebhooksUpdate:              func() any { return new(WebhooksUpdate) },
}

// NewDispatchData returns a pointer to a new zero value of the data type of dispatch name
// (*Message for "MESSAGE_CREATE" and "MESSAGE_UPDATE", *Guild for "GUILD_CREATE", …), or nil
// when this package has no type for it.
func NewDispatchData(name string) any {
	if f, ok := dispatchTypes[name]; ok {
		return f()
	}
	return nil
}

// DecodeDispatch decodes the data of a dispatch into the type [NewDispatchData] gives for its
// name and returns the pointer, ready for a type switch (check T where one type serves several
// events, as *Message does for create and update). A dispatch without a type here, unknown
// events included, comes back as its raw data, a json.RawMessage, untouched. The result never
// aliases the frame: decoding copies, and raw data is copied too.
func (e Envelope) DecodeDispatch() (any, error) {
	if e.Op != OpDispatch {
		return nil, fmt.Errorf("events: %v is not a dispatch", e.Op)
	}
	v := NewDispatchData(e.T)
	if v == nil {
		return json.RawMessage(append([]byte(nil), e.D...)), nil
	}
	if len(e.D) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(e.D, v); err != nil {
		return nil, fmt.Errorf("events: decode %s: %w", e.T, err)
	}
	return v, nil
}
