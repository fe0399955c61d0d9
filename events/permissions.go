package events

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Permissions is a permission bit set. Discord serializes it as a decimal string because the
// bits go past 2^31 (and past 2^53, where JSON numbers stop being exact, some day); it is decoded
// here as a uint64.
type Permissions uint64

// Permission bits. Bit 47 is not public.
const (
	PermCreateInstantInvite              Permissions = 1 << 0
	PermKickMembers                      Permissions = 1 << 1
	PermBanMembers                       Permissions = 1 << 2
	PermAdministrator                    Permissions = 1 << 3
	PermManageChannels                   Permissions = 1 << 4
	PermManageGuild                      Permissions = 1 << 5
	PermAddReactions                     Permissions = 1 << 6
	PermViewAuditLog                     Permissions = 1 << 7
	PermPrioritySpeaker                  Permissions = 1 << 8
	PermStream                           Permissions = 1 << 9
	PermViewChannel                      Permissions = 1 << 10
	PermSendMessages                     Permissions = 1 << 11
	PermSendTTSMessages                  Permissions = 1 << 12
	PermManageMessages                   Permissions = 1 << 13
	PermEmbedLinks                       Permissions = 1 << 14
	PermAttachFiles                      Permissions = 1 << 15
	PermReadMessageHistory               Permissions = 1 << 16
	PermMentionEveryone                  Permissions = 1 << 17
	PermUseExternalEmojis                Permissions = 1 << 18
	PermViewGuildInsights                Permissions = 1 << 19
	PermConnect                          Permissions = 1 << 20
	PermSpeak                            Permissions = 1 << 21
	PermMuteMembers                      Permissions = 1 << 22
	PermDeafenMembers                    Permissions = 1 << 23
	PermMoveMembers                      Permissions = 1 << 24
	PermUseVAD                           Permissions = 1 << 25
	PermChangeNickname                   Permissions = 1 << 26
	PermManageNicknames                  Permissions = 1 << 27
	PermManageRoles                      Permissions = 1 << 28
	PermManageWebhooks                   Permissions = 1 << 29
	PermManageGuildExpressions           Permissions = 1 << 30
	PermUseApplicationCommands           Permissions = 1 << 31
	PermRequestToSpeak                   Permissions = 1 << 32
	PermManageEvents                     Permissions = 1 << 33
	PermManageThreads                    Permissions = 1 << 34
	PermCreatePublicThreads              Permissions = 1 << 35
	PermCreatePrivateThreads             Permissions = 1 << 36
	PermUseExternalStickers              Permissions = 1 << 37
	PermSendMessagesInThreads            Permissions = 1 << 38
	PermUseEmbeddedActivities            Permissions = 1 << 39
	PermModerateMembers                  Permissions = 1 << 40
	PermViewCreatorMonetizationAnalytics Permissions = 1 << 41
	PermUseSoundboard                    Permissions = 1 << 42
	PermCreateGuildExpressions           Permissions = 1 << 43
	PermCreateEvents                     Permissions = 1 << 44
	PermUseExternalSounds                Permissions = 1 << 45
	PermSendVoiceMessages                Permissions = 1 << 46
	PermSetVoiceChannelStatus            Permissions = 1 << 48
	PermSendPolls                        Permissions = 1 << 49
	PermUseExternalApps                  Permissions = 1 << 50
	PermPinMessages                      Permissions = 1 << 51
	PermBypassSlowmode                   Permissions = 1 << 52
)

var permissionNames = [...]struct {
	p    Permissions
	name string
}{
	{PermCreateInstantInvite, "CREATE_INSTANT_INVITE"},
	{PermKickMembers, "KICK_MEMBERS"},
	{PermBanMembers, "BAN_MEMBERS"},
	{PermAdministrator, "ADMINISTRATOR"},
	{PermManageChannels, "MANAGE_CHANNELS"},
	{PermManageGuild, "MANAGE_GUILD"},
	{PermAddReactions, "ADD_REACTIONS"},
	{PermViewAuditLog, "VIEW_AUDIT_LOG"},
	{PermPrioritySpeaker, "PRIORITY_SPEAKER"},
	{PermStream, "STREAM"},
	{PermViewChannel, "VIEW_CHANNEL"},
	{PermSendMessages, "SEND_MESSAGES"},
	{PermSendTTSMessages, "SEND_TTS_MESSAGES"},
	{PermManageMessages, "MANAGE_MESSAGES"},
	{PermEmbedLinks, "EMBED_LINKS"},
	{PermAttachFiles, "ATTACH_FILES"},
	{PermReadMessageHistory, "READ_MESSAGE_HISTORY"},
	{PermMentionEveryone, "MENTION_EVERYONE"},
	{PermUseExternalEmojis, "USE_EXTERNAL_EMOJIS"},
	{PermViewGuildInsights, "VIEW_GUILD_INSIGHTS"},
	{PermConnect, "CONNECT"},
	{PermSpeak, "SPEAK"},
	{PermMuteMembers, "MUTE_MEMBERS"},
	{PermDeafenMembers, "DEAFEN_MEMBERS"},
	{PermMoveMembers, "MOVE_MEMBERS"},
	{PermUseVAD, "USE_VAD"},
	{PermChangeNickname, "CHANGE_NICKNAME"},
	{PermManageNicknames, "MANAGE_NICKNAMES"},
	{PermManageRoles, "MANAGE_ROLES"},
	{PermManageWebhooks, "MANAGE_WEBHOOKS"},
	{PermManageGuildExpressions, "MANAGE_GUILD_EXPRESSIONS"},
	{PermUseApplicationCommands, "USE_APPLICATION_COMMANDS"},
	{PermRequestToSpeak, "REQUEST_TO_SPEAK"},
	{PermManageEvents, "MANAGE_EVENTS"},
	{PermManageThreads, "MANAGE_THREADS"},
	{PermCreatePublicThreads, "CREATE_PUBLIC_THREADS"},
	{PermCreatePrivateThreads, "CREATE_PRIVATE_THREADS"},
	{PermUseExternalStickers, "USE_EXTERNAL_STICKERS"},
	{PermSendMessagesInThreads, "SEND_MESSAGES_IN_THREADS"},
	{PermUseEmbeddedActivities, "USE_EMBEDDED_ACTIVITIES"},
	{PermModerateMembers, "MODERATE_MEMBERS"},
	{PermViewCreatorMonetizationAnalytics, "VIEW_CREATOR_MONETIZATION_ANALYTICS"},
	{PermUseSoundboard, "USE_SOUNDBOARD"},
	{PermCreateGuildExpressions, "CREATE_GUILD_EXPRESSIONS"},
	{PermCreateEvents, "CREATE_EVENTS"},
	{PermUseExternalSounds, "USE_EXTERNAL_SOUNDS"},
	{PermSendVoiceMessages, "SEND_VOICE_MESSAGES"},
	{PermSetVoiceChannelStatus, "SET_VOICE_CHANNEL_STATUS"},
	{PermSendPolls, "SEND_POLLS"},
	{PermUseExternalApps, "USE_EXTERNAL_APPS"},
	{PermPinMessages, "PIN_MESSAGES"},
	{PermBypassSlowmode, "BYPASS_SLOWMODE"},
}

// Has reports whether every bit of want is set in p. Administrator is not treated specially:
// use [Permissions.Can] for the effective check.
func (p Permissions) Has(want Permissions) bool { return p&want == want }

// Can reports whether p allows want, counting Administrator as every permission, as Discord does.
func (p Permissions) Can(want Permissions) bool {
	return p&PermAdministrator != 0 || p.Has(want)
}

// String lists the permission names joined by "|", e.g. "VIEW_CHANNEL|SEND_MESSAGES"; bits
// without a name appear as numbers.
func (p Permissions) String() string {
	if p == 0 {
		return "0"
	}
	var b strings.Builder
	for rest := p; rest != 0; {
		bit := Permissions(1) << bits.TrailingZeros64(uint64(rest))
		rest &^= bit
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		name := ""
		for _, pn := range permissionNames {
			if pn.p == bit {
				name = pn.name
				break
			}
		}
		if name == "" {
			name = strconv.FormatUint(uint64(bit), 10)
		}
		b.WriteString(name)
	}
	return b.String()
}

// MarshalJSON encodes p as a decimal string, as Discord does.
func (p Permissions) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 24)
	b = append(b, '"')
	b = strconv.AppendUint(b, uint64(p), 10)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts a decimal string, a plain integer (the pre-v8 form) and null as zero.
func (p *Permissions) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		*p = 0
		return nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("events: invalid permissions %.40s", b)
	}
	*p = Permissions(n)
	return nil
}
