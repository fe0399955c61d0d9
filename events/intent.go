package events

import (
	"math/bits"
	"strconv"
	"strings"
)

// Intent is a bit set of gateway intents, sent in Identify to choose which events a session gets.
type Intent uint64

// Every public gateway intent. Bits 17–19 and 22–23 are not public intents: sending them gets
// close 4013.
const (
	IntentGuilds                      Intent = 1 << 0
	IntentGuildMembers                Intent = 1 << 1 // privileged
	IntentGuildModeration             Intent = 1 << 2
	IntentGuildExpressions            Intent = 1 << 3
	IntentGuildIntegrations           Intent = 1 << 4
	IntentGuildWebhooks               Intent = 1 << 5
	IntentGuildInvites                Intent = 1 << 6
	IntentGuildVoiceStates            Intent = 1 << 7
	IntentGuildPresences              Intent = 1 << 8 // privileged
	IntentGuildMessages               Intent = 1 << 9
	IntentGuildMessageReactions       Intent = 1 << 10
	IntentGuildMessageTyping          Intent = 1 << 11
	IntentDirectMessages              Intent = 1 << 12
	IntentDirectMessageReactions      Intent = 1 << 13
	IntentDirectMessageTyping         Intent = 1 << 14
	IntentMessageContent              Intent = 1 << 15 // privileged
	IntentGuildScheduledEvents        Intent = 1 << 16
	IntentAutoModerationConfiguration Intent = 1 << 20
	IntentAutoModerationExecution     Intent = 1 << 21
	IntentGuildMessagePolls           Intent = 1 << 24
	IntentDirectMessagePolls          Intent = 1 << 25
)

// IntentInfo describes one intent bit.
type IntentInfo struct {
	Intent     Intent
	Name       string // Discord's name, e.g. "GUILD_MEMBERS"
	Privileged bool   // must be enabled (and above 10,000 users, approved) for the application
}

// Intents lists every public intent in bit order.
var Intents = []IntentInfo{
	{IntentGuilds, "GUILDS", false},
	{IntentGuildMembers, "GUILD_MEMBERS", true},
	{IntentGuildModeration, "GUILD_MODERATION", false},
	{IntentGuildExpressions, "GUILD_EXPRESSIONS", false},
	{IntentGuildIntegrations, "GUILD_INTEGRATIONS", false},
	{IntentGuildWebhooks, "GUILD_WEBHOOKS", false},
	{IntentGuildInvites, "GUILD_INVITES", false},
	{IntentGuildVoiceStates, "GUILD_VOICE_STATES", false},
	{IntentGuildPresences, "GUILD_PRESENCES", true},
	{IntentGuildMessages, "GUILD_MESSAGES", false},
	{IntentGuildMessageReactions, "GUILD_MESSAGE_REACTIONS", false},
	{IntentGuildMessageTyping, "GUILD_MESSAGE_TYPING", false},
	{IntentDirectMessages, "DIRECT_MESSAGES", false},
	{IntentDirectMessageReactions, "DIRECT_MESSAGE_REACTIONS", false},
	{IntentDirectMessageTyping, "DIRECT_MESSAGE_TYPING", false},
	{IntentMessageContent, "MESSAGE_CONTENT", true},
	{IntentGuildScheduledEvents, "GUILD_SCHEDULED_EVENTS", false},
	{IntentAutoModerationConfiguration, "AUTO_MODERATION_CONFIGURATION", false},
	{IntentAutoModerationExecution, "AUTO_MODERATION_EXECUTION", false},
	{IntentGuildMessagePolls, "GUILD_MESSAGE_POLLS", false},
	{IntentDirectMessagePolls, "DIRECT_MESSAGE_POLLS", false},
}

// Combined intent sets.
const (
	// IntentsPrivileged is every privileged intent.
	IntentsPrivileged = IntentGuildMembers | IntentGuildPresences | IntentMessageContent
	// IntentsAll is every public intent (53608447).
	IntentsAll Intent = 0x331FFFF
	// IntentsNonPrivileged is every public intent that needs no approval (53575421).
	IntentsNonPrivileged = IntentsAll &^ IntentsPrivileged
)

// Unknown returns the bits of i that are not public intents; a gateway closes with 4013 on them.
func (i Intent) Unknown() Intent { return i &^ IntentsAll }

// Privileged returns the privileged bits of i.
func (i Intent) Privileged() Intent { return i & IntentsPrivileged }

// Has reports whether every bit of want is set in i.
func (i Intent) Has(want Intent) bool { return i&want == want }

// String lists the intent names joined by "|", e.g. "GUILDS|GUILD_MESSAGES"; unknown bits
// appear as numbers.
func (i Intent) String() string {
	if i == 0 {
		return "0"
	}
	var b strings.Builder
	for rest := i; rest != 0; {
		bit := Intent(1) << bits.TrailingZeros64(uint64(rest))
		rest &^= bit
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		if info, ok := intentByBit[bit]; ok {
			b.WriteString(info.Name)
		} else {
			b.WriteString(strconv.FormatUint(uint64(bit), 10))
		}
	}
	return b.String()
}

var intentByBit = func() map[Intent]IntentInfo {
	m := make(map[Intent]IntentInfo, len(Intents))
	for _, in := range Intents {
		m[in.Intent] = in
	}
	return m
}()

// ParseIntent returns the intent with Discord's name (case-insensitive), e.g. "guild_members".
func ParseIntent(name string) (Intent, bool) {
	for _, in := range Intents {
		if strings.EqualFold(in.Name, name) {
			return in.Intent, true
		}
	}
	return 0, false
}
