package events

import (
	"encoding/json"
	"fmt"
	"time"
)

// MessageType is the kind of a message. Bots mostly see MessageDefault and MessageReply.
type MessageType int

// Message types (the common ones; others decode as their number).
const (
	MessageDefault                MessageType = 0
	MessageRecipientAdd           MessageType = 1
	MessageRecipientRemove        MessageType = 2
	MessageCall                   MessageType = 3
	MessageChannelNameChange      MessageType = 4
	MessageChannelIconChange      MessageType = 5
	MessageChannelPinnedMessage   MessageType = 6
	MessageUserJoin               MessageType = 7
	MessageGuildBoost             MessageType = 8
	MessageGuildBoostTier1        MessageType = 9
	MessageGuildBoostTier2        MessageType = 10
	MessageGuildBoostTier3        MessageType = 11
	MessageChannelFollowAdd       MessageType = 12
	MessageThreadCreated          MessageType = 18
	MessageReply                  MessageType = 19
	MessageChatInputCommand       MessageType = 20
	MessageThreadStarterMessage   MessageType = 21
	MessageGuildInviteReminder    MessageType = 22
	MessageContextMenuCommand     MessageType = 23
	MessageAutoModerationAction   MessageType = 24
	MessageRoleSubscriptionBuy    MessageType = 25
	MessageInteractionPremiumSell MessageType = 26
	MessageStageStart             MessageType = 27
	MessageStageEnd               MessageType = 28
	MessageStageSpeaker           MessageType = 29
	MessageStageTopic             MessageType = 31
	MessagePollResult             MessageType = 46
)

// MessageFlags is the bit set in a message's flags field.
type MessageFlags int

// Message flags. Responses to interactions may set only SuppressEmbeds, Ephemeral,
// SuppressNotifications, IsVoiceMessage and IsComponentsV2.
const (
	MessageFlagCrossposted                      MessageFlags = 1 << 0
	MessageFlagIsCrosspost                      MessageFlags = 1 << 1
	MessageFlagSuppressEmbeds                   MessageFlags = 1 << 2
	MessageFlagSourceMessageDeleted             MessageFlags = 1 << 3
	MessageFlagUrgent                           MessageFlags = 1 << 4
	MessageFlagHasThread                        MessageFlags = 1 << 5
	MessageFlagEphemeral                        MessageFlags = 1 << 6
	MessageFlagLoading                          MessageFlags = 1 << 7
	MessageFlagFailedToMentionSomeRolesInThread MessageFlags = 1 << 8
	MessageFlagSuppressNotifications            MessageFlags = 1 << 12
	MessageFlagIsVoiceMessage                   MessageFlags = 1 << 13
	MessageFlagHasSnapshot                      MessageFlags = 1 << 14
	MessageFlagIsComponentsV2                   MessageFlags = 1 << 15
)

// Message is the data of MESSAGE_CREATE and MESSAGE_UPDATE. Without the MESSAGE_CONTENT intent,
// Content, Embeds, Attachments, Components and Poll are empty except in DMs, in messages that
// mention the bot and in the bot's own messages.
type Message struct {
	ID        Snowflake `json:"id"`
	ChannelID Snowflake `json:"channel_id"`
	// GuildID and Member are set for guild messages in gateway events only.
	GuildID Snowflake `json:"guild_id,omitempty"`
	Author  User      `json:"author"`
	// Member has no User: it is Author.
	Member          *Member         `json:"member,omitempty"`
	Content         string          `json:"content"`
	Timestamp       time.Time       `json:"timestamp"`
	EditedTimestamp *time.Time      `json:"edited_timestamp"`
	TTS             bool            `json:"tts"`
	MentionEveryone bool            `json:"mention_everyone"`
	Mentions        []MentionedUser `json:"mentions"`
	MentionRoles    []Snowflake     `json:"mention_roles"`
	MentionChannels json.RawMessage `json:"mention_channels,omitempty"`
	Attachments     []Attachment    `json:"attachments"`
	Embeds          []Embed         `json:"embeds"`
	Reactions       []Reaction      `json:"reactions,omitempty"`
	// Nonce is the sender's de-duplication value, string or integer on the wire.
	Nonce     Nonce       `json:"nonce,omitempty"`
	Pinned    bool        `json:"pinned"`
	WebhookID Snowflake   `json:"webhook_id,omitempty"`
	Type      MessageType `json:"type"`
	// ApplicationID is set on interaction replies and application-owned webhook messages.
	ApplicationID    Snowflake         `json:"application_id,omitempty"`
	Flags            MessageFlags      `json:"flags,omitempty"`
	MessageReference *MessageReference `json:"message_reference,omitempty"`
	// ReferencedMessage is the message replied to (type Reply) or a thread's starter message.
	// It is nil when Discord left it out or the message was deleted.
	ReferencedMessage *Message `json:"referenced_message,omitempty"`
	// MessageSnapshots hold the content of forwarded messages.
	MessageSnapshots    json.RawMessage `json:"message_snapshots,omitempty"`
	InteractionMetadata json.RawMessage `json:"interaction_metadata,omitempty"`
	Thread              *Channel        `json:"thread,omitempty"`
	Components          json.RawMessage `json:"components,omitempty"`
	StickerItems        json.RawMessage `json:"sticker_items,omitempty"`
	Position            int             `json:"position,omitempty"`
	Poll                json.RawMessage `json:"poll,omitempty"`
	Call                json.RawMessage `json:"call,omitempty"`
	// ChannelType is set in MESSAGE_CREATE since 2026.
	ChannelType *ChannelType `json:"channel_type,omitempty"`
}

// MentionedUser is an element of a message's mentions: a user, with a partial member in guilds.
type MentionedUser struct {
	User
	Member *Member `json:"member,omitempty"`
}

// MessageReferenceType says what a message reference points at.
type MessageReferenceType int

// Message reference types.
const (
	MessageReferenceDefault MessageReferenceType = 0 // a reply
	MessageReferenceForward MessageReferenceType = 1 // a forwarded message
)

// MessageReference points at another message: the one replied to, forwarded, crossposted or
// pinned.
type MessageReference struct {
	Type      MessageReferenceType `json:"type,omitempty"`
	MessageID Snowflake            `json:"message_id,omitempty"`
	ChannelID Snowflake            `json:"channel_id,omitempty"`
	GuildID   Snowflake            `json:"guild_id,omitempty"`
	// FailIfNotExists (when sending) makes Discord reject a reply to a deleted message;
	// nil means Discord's default (true).
	FailIfNotExists *bool `json:"fail_if_not_exists,omitempty"`
}

// Nonce is a message nonce. Discord sends it as a JSON string or integer; an integer keeps its
// decimal text here, and a Nonce always encodes as a string.
type Nonce string

// MarshalJSON encodes the nonce as a JSON string.
func (n Nonce) MarshalJSON() ([]byte, error) { return json.Marshal(string(n)) }

// UnmarshalJSON accepts a string, a number (kept as its literal text) or null (empty).
func (n *Nonce) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("events: empty nonce")
	}
	switch c := b[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("events: invalid nonce: %w", err)
		}
		*n = Nonce(s)
	case c == '-' || (c >= '0' && c <= '9'):
		if !json.Valid(b) {
			return fmt.Errorf("events: invalid nonce %.40s", b)
		}
		*n = Nonce(b)
	case string(b) == "null":
		*n = ""
	default:
		return fmt.Errorf("events: nonce must be a string or a number, got %.40s", b)
	}
	return nil
}

// MessageDelete is the data of MESSAGE_DELETE.
type MessageDelete struct {
	ID        Snowflake `json:"id"`
	ChannelID Snowflake `json:"channel_id"`
	GuildID   Snowflake `json:"guild_id,omitempty"`
}

// MessageDeleteBulk is the data of MESSAGE_DELETE_BULK.
type MessageDeleteBulk struct {
	IDs       []Snowflake `json:"ids"`
	ChannelID Snowflake   `json:"channel_id"`
	GuildID   Snowflake   `json:"guild_id,omitempty"`
}
