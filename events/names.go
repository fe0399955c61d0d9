package events

// Names of the gateway dispatches ("t"), API v10, as of August 2026. Any other name passes
// through as a plain string.
const (
	EventReady                               = "READY"
	EventResumed                             = "RESUMED"
	EventRateLimited                         = "RATE_LIMITED"
	EventApplicationCommandPermissionsUpdate = "APPLICATION_COMMAND_PERMISSIONS_UPDATE"
	EventAutoModerationRuleCreate            = "AUTO_MODERATION_RULE_CREATE"
	EventAutoModerationRuleUpdate            = "AUTO_MODERATION_RULE_UPDATE"
	EventAutoModerationRuleDelete            = "AUTO_MODERATION_RULE_DELETE"
	EventAutoModerationActionExecution       = "AUTO_MODERATION_ACTION_EXECUTION"
	EventChannelCreate                       = "CHANNEL_CREATE"
	EventChannelUpdate                       = "CHANNEL_UPDATE"
	EventChannelDelete                       = "CHANNEL_DELETE"
	EventChannelPinsUpdate                   = "CHANNEL_PINS_UPDATE"
	EventChannelInfo                         = "CHANNEL_INFO"
	EventThreadCreate                        = "THREAD_CREATE"
	EventThreadUpdate                        = "THREAD_UPDATE"
	EventThreadDelete                        = "THREAD_DELETE"
	EventThreadListSync                      = "THREAD_LIST_SYNC"
	EventThreadMemberUpdate                  = "THREAD_MEMBER_UPDATE"
	EventThreadMembersUpdate                 = "THREAD_MEMBERS_UPDATE"
	EventEntitlementCreate                   = "ENTITLEMENT_CREATE"
	EventEntitlementUpdate                   = "ENTITLEMENT_UPDATE"
	EventEntitlementDelete                   = "ENTITLEMENT_DELETE"
	EventGuildCreate                         = "GUILD_CREATE"
	EventGuildUpdate                         = "GUILD_UPDATE"
	EventGuildDelete                         = "GUILD_DELETE"
	EventGuildAuditLogEntryCreate            = "GUILD_AUDIT_LOG_ENTRY_CREATE"
	EventGuildBanAdd                         = "GUILD_BAN_ADD"
	EventGuildBanRemove                      = "GUILD_BAN_REMOVE"
	EventGuildEmojisUpdate                   = "GUILD_EMOJIS_UPDATE"
	EventGuildStickersUpdate                 = "GUILD_STICKERS_UPDATE"
	EventGuildIntegrationsUpdate             = "GUILD_INTEGRATIONS_UPDATE"
	EventGuildMemberAdd                      = "GUILD_MEMBER_ADD"
	EventGuildMemberRemove                   = "GUILD_MEMBER_REMOVE"
	EventGuildMemberUpdate                   = "GUILD_MEMBER_UPDATE"
	EventGuildMembersChunk                   = "GUILD_MEMBERS_CHUNK"
	EventGuildRoleCreate                     = "GUILD_ROLE_CREATE"
	EventGuildRoleUpdate                     = "GUILD_ROLE_UPDATE"
	EventGuildRoleDelete                     = "GUILD_ROLE_DELETE"
	EventGuildScheduledEventCreate           = "GUILD_SCHEDULED_EVENT_CREATE"
	EventGuildScheduledEventUpdate           = "GUILD_SCHEDULED_EVENT_UPDATE"
	EventGuildScheduledEventDelete           = "GUILD_SCHEDULED_EVENT_DELETE"
	EventGuildScheduledEventUserAdd          = "GUILD_SCHEDULED_EVENT_USER_ADD"
	EventGuildScheduledEventUserRemove       = "GUILD_SCHEDULED_EVENT_USER_REMOVE"
	EventGuildSoundboardSoundCreate          = "GUILD_SOUNDBOARD_SOUND_CREATE"
	EventGuildSoundboardSoundUpdate          = "GUILD_SOUNDBOARD_SOUND_UPDATE"
	EventGuildSoundboardSoundDelete          = "GUILD_SOUNDBOARD_SOUND_DELETE"
	EventGuildSoundboardSoundsUpdate         = "GUILD_SOUNDBOARD_SOUNDS_UPDATE"
	EventSoundboardSounds                    = "SOUNDBOARD_SOUNDS"
	EventIntegrationCreate                   = "INTEGRATION_CREATE"
	EventIntegrationUpdate                   = "INTEGRATION_UPDATE"
	EventIntegrationDelete                   = "INTEGRATION_DELETE"
	EventInteractionCreate                   = "INTERACTION_CREATE"
	EventInviteCreate                        = "INVITE_CREATE"
	EventInviteDelete                        = "INVITE_DELETE"
	EventMessageCreate                       = "MESSAGE_CREATE"
	EventMessageUpdate                       = "MESSAGE_UPDATE"
	EventMessageDelete                       = "MESSAGE_DELETE"
	EventMessageDeleteBulk                   = "MESSAGE_DELETE_BULK"
	EventMessageReactionAdd                  = "MESSAGE_REACTION_ADD"
	EventMessageReactionRemove               = "MESSAGE_REACTION_REMOVE"
	EventMessageReactionRemoveAll            = "MESSAGE_REACTION_REMOVE_ALL"
	EventMessageReactionRemoveEmoji          = "MESSAGE_REACTION_REMOVE_EMOJI"
	EventMessagePollVoteAdd                  = "MESSAGE_POLL_VOTE_ADD"
	EventMessagePollVoteRemove               = "MESSAGE_POLL_VOTE_REMOVE"
	EventPresenceUpdate                      = "PRESENCE_UPDATE"
	EventStageInstanceCreate                 = "STAGE_INSTANCE_CREATE"
	EventStageInstanceUpdate                 = "STAGE_INSTANCE_UPDATE"
	EventStageInstanceDelete                 = "STAGE_INSTANCE_DELETE"
	EventSubscriptionCreate                  = "SUBSCRIPTION_CREATE"
	EventSubscriptionUpdate                  = "SUBSCRIPTION_UPDATE"
	EventSubscriptionDelete                  = "SUBSCRIPTION_DELETE"
	EventTypingStart                         = "TYPING_START"
	EventUserUpdate                          = "USER_UPDATE"
	EventVoiceChannelEffectSend              = "VOICE_CHANNEL_EFFECT_SEND"
	EventVoiceChannelStatusUpdate            = "VOICE_CHANNEL_STATUS_UPDATE"
	EventVoiceChannelStartTimeUpdate         = "VOICE_CHANNEL_START_TIME_UPDATE"
	EventVoiceStateUpdate                    = "VOICE_STATE_UPDATE"
	EventVoiceServerUpdate                   = "VOICE_SERVER_UPDATE"
	EventWebhooksUpdate                      = "WEBHOOKS_UPDATE"
)

// DispatchNames lists every dispatch name above. ParseEnvelope returns these very strings for
// the "t" of a frame, so a known name costs no allocation.
var DispatchNames = []string{
	EventReady, EventResumed, EventRateLimited,
	EventApplicationCommandPermissionsUpdate,
	EventAutoModerationRuleCreate, EventAutoModerationRuleUpdate, EventAutoModerationRuleDelete,
	EventAutoModerationActionExecution,
	EventChannelCreate, EventChannelUpdate, EventChannelDelete, EventChannelPinsUpdate, EventChannelInfo,
	EventThreadCreate, EventThreadUpdate, EventThreadDelete, EventThreadListSync,
	EventThreadMemberUpdate, EventThreadMembersUpdate,
	EventEntitlementCreate, EventEntitlementUpdate, EventEntitlementDelete,
	EventGuildCreate, EventGuildUpdate, EventGuildDelete, EventGuildAuditLogEntryCreate,
	EventGuildBanAdd, EventGuildBanRemove, EventGuildEmojisUpdate, EventGuildStickersUpdate,
	EventGuildIntegrationsUpdate,
	EventGuildMemberAdd, EventGuildMemberRemove, EventGuildMemberUpdate, EventGuildMembersChunk,
	EventGuildRoleCreate, EventGuildRoleUpdate, EventGuildRoleDelete,
	EventGuildScheduledEventCreate, EventGuildScheduledEventUpdate, EventGuildScheduledEventDelete,
	EventGuildScheduledEventUserAdd, EventGuildScheduledEventUserRemove,
	EventGuildSoundboardSoundCreate, EventGuildSoundboardSoundUpdate, EventGuildSoundboardSoundDelete,
	EventGuildSoundboardSoundsUpdate, EventSoundboardSounds,
	EventIntegrationCreate, EventIntegrationUpdate, EventIntegrationDelete,
	EventInteractionCreate, EventInviteCreate, EventInviteDelete,
	EventMessageCreate, EventMessageUpdate, EventMessageDelete, EventMessageDeleteBulk,
	EventMessageReactionAdd, EventMessageReactionRemove, EventMessageReactionRemoveAll,
	EventMessageReactionRemoveEmoji, EventMessagePollVoteAdd, EventMessagePollVoteRemove,
	EventPresenceUpdate,
	EventStageInstanceCreate, EventStageInstanceUpdate, EventStageInstanceDelete,
	EventSubscriptionCreate, EventSubscriptionUpdate, EventSubscriptionDelete,
	EventTypingStart, EventUserUpdate,
	EventVoiceChannelEffectSend, EventVoiceChannelStatusUpdate, EventVoiceChannelStartTimeUpdate,
	EventVoiceStateUpdate, EventVoiceServerUpdate, EventWebhooksUpdate,
}

// MaxPayloadSize is the largest frame, in bytes, a client may send; a larger one gets close 4002.
const MaxPayloadSize = 4096
