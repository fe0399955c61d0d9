package fakediscord

import (
	"strings"

	"github.com/cordage/cordage/events"
)

// guildEventIntents maps the event names Discord gates behind an intent to that intent, for
// events in a guild. Names not listed (READY, INTERACTION_CREATE, ENTITLEMENT_CREATE…) need no
// intent.
var guildEventIntents = map[string]events.Intent{
	"GUILD_CREATE": events.IntentGuilds, "GUILD_UPDATE": events.IntentGuilds, "GUILD_DELETE": events.IntentGuilds,
	"GUILD_ROLE_CREATE": events.IntentGuilds, "GUILD_ROLE_UPDATE": events.IntentGuilds, "GUILD_ROLE_DELETE": events.IntentGuilds,
	"CHANNEL_CREATE": events.IntentGuilds, "CHANNEL_UPDATE": events.IntentGuilds, "CHANNEL_DELETE": events.IntentGuilds,
	"CHANNEL_PINS_UPDATE": events.IntentGuilds, "THREAD_CREATE": events.IntentGuilds, "THREAD_UPDATE": events.IntentGuilds,
	"THREAD_DELETE": events.IntentGuilds, "THREAD_LIST_SYNC": events.IntentGuilds, "THREAD_MEMBER_UPDATE": events.IntentGuilds,
	"THREAD_MEMBERS_UPDATE": events.IntentGuilds, "STAGE_INSTANCE_CREATE": events.IntentGuilds,
	"STAGE_INSTANCE_UPDATE": events.IntentGuilds, "STAGE_INSTANCE_DELETE": events.IntentGuilds,
	"VOICE_CHANNEL_STATUS_UPDATE": events.IntentGuilds, "VOICE_CHANNEL_START_TIME_UPDATE": events.IntentGuilds,

	"GUILD_MEMBER_ADD": events.IntentGuildMembers, "GUILD_MEMBER_UPDATE": events.IntentGuildMembers,
	"GUILD_MEMBER_REMOVE": events.IntentGuildMembers,

	"GUILD_AUDIT_LOG_ENTRY_CREATE": events.IntentGuildModeration, "GUILD_BAN_ADD": events.IntentGuildModeration,
	"GUILD_BAN_REMOVE": events.IntentGuildModeration,

	"GUILD_EMOJIS_UPDATE": events.IntentGuildExpressions, "GUILD_STICKERS_UPDATE": events.IntentGuildExpressions,
	"GUILD_SOUNDBOARD_SOUND_CREATE": events.IntentGuildExpressions, "GUILD_SOUNDBOARD_SOUND_UPDATE": events.IntentGuildExpressions,
	"GUILD_SOUNDBOARD_SOUND_DELETE": events.IntentGuildExpressions, "GUILD_SOUNDBOARD_SOUNDS_UPDATE": events.IntentGuildExpressions,

	"GUILD_INTEGRATIONS_UPDATE": events.IntentGuildIntegrations, "INTEGRATION_CREATE": events.IntentGuildIntegrations,
	"INTEGRATION_UPDATE": events.IntentGuildIntegrations, "INTEGRATION_DELETE": events.IntentGuildIntegrations,

	"WEBHOOKS_UPDATE": events.IntentGuildWebhooks,
	"INVITE_CREATE":   events.IntentGuildInvites, "INVITE_DELETE": events.IntentGuildInvites,

	"VOICE_STATE_UPDATE": events.IntentGuildVoiceStates, "VOICE_CHANNEL_EFFECT_SEND": events.IntentGuildVoiceStates,
	"PRESENCE_UPDATE": events.IntentGuildPresences,

	"MESSAGE_CREATE": events.IntentGuildMessages, "MESSAGE_UPDATE": events.IntentGuildMessages,
	"MESSAGE_DELETE": events.IntentGuildMessages, "MESSAGE_DELETE_BULK": events.IntentGuildMessages,

	"TYPING_START": events.IntentGuildMessageTyping,

	"GUILD_SCHEDULED_EVENT_CREATE": events.IntentGuildScheduledEvents, "GUILD_SCHEDULED_EVENT_UPDATE": events.IntentGuildScheduledEvents,
	"GUILD_SCHEDULED_EVENT_DELETE": events.IntentGuildScheduledEvents, "GUILD_SCHEDULED_EVENT_USER_ADD": events.IntentGuildScheduledEvents,
	"GUILD_SCHEDULED_EVENT_USER_REMOVE": events.IntentGuildScheduledEvents,

	"AUTO_MODERATION_RULE_CREATE":      events.IntentAutoModerationConfiguration,
	"AUTO_MODERATION_RULE_UPDATE":      events.IntentAutoModerationConfiguration,
	"AUTO_MODERATION_RULE_DELETE":      events.IntentAutoModerationConfiguration,
	"AUTO_MODERATION_ACTION_EXECUTION": events.IntentAutoModerationExecution,

	"MESSAGE_POLL_VOTE_ADD": events.IntentGuildMessagePolls, "MESSAGE_POLL_VOTE_REMOVE": events.IntentGuildMessagePolls,
}

// dmEventIntents is the same for events outside a guild (DMs).
var dmEventIntents = map[string]events.Intent{
	"MESSAGE_CREATE": events.IntentDirectMessages, "MESSAGE_UPDATE": events.IntentDirectMessages,
	"MESSAGE_DELETE": events.IntentDirectMessages, "CHANNEL_PINS_UPDATE": events.IntentDirectMessages,
	"TYPING_START":          events.IntentDirectMessageTyping,
	"MESSAGE_POLL_VOTE_ADD": events.IntentDirectMessagePolls, "MESSAGE_POLL_VOTE_REMOVE": events.IntentDirectMessagePolls,
}

// intentFor returns the intent a session needs to receive event t, or 0 when none is needed.
func intentFor(t string, guild events.Snowflake) events.Intent {
	if guild == 0 {
		if strings.HasPrefix(t, "MESSAGE_REACTION_") {
			return events.IntentDirectMessageReactions
		}
		return dmEventIntents[t]
	}
	if strings.HasPrefix(t, "MESSAGE_REACTION_") {
		return events.IntentGuildMessageReactions
	}
	return guildEventIntents[t]
}
