package events

import (
	"encoding/json"
	"strconv"
	"time"
)

// ChannelType is the kind of a channel.
type ChannelType int

// Channel types.
const (
	ChannelGuildText          ChannelType = 0
	ChannelDM                 ChannelType = 1
	ChannelGuildVoice         ChannelType = 2
	ChannelGroupDM            ChannelType = 3
	ChannelGuildCategory      ChannelType = 4
	ChannelGuildAnnouncement  ChannelType = 5
	ChannelAnnouncementThread ChannelType = 10
	ChannelPublicThread       ChannelType = 11
	ChannelPrivateThread      ChannelType = 12
	ChannelGuildStageVoice    ChannelType = 13
	ChannelGuildDirectory     ChannelType = 14
	ChannelGuildForum         ChannelType = 15
	ChannelGuildMedia         ChannelType = 16
)

var channelTypeNames = map[ChannelType]string{
	ChannelGuildText:          "GUILD_TEXT",
	ChannelDM:                 "DM",
	ChannelGuildVoice:         "GUILD_VOICE",
	ChannelGroupDM:            "GROUP_DM",
	ChannelGuildCategory:      "GUILD_CATEGORY",
	ChannelGuildAnnouncement:  "GUILD_ANNOUNCEMENT",
	ChannelAnnouncementThread: "ANNOUNCEMENT_THREAD",
	ChannelPublicThread:       "PUBLIC_THREAD",
	ChannelPrivateThread:      "PRIVATE_THREAD",
	ChannelGuildStageVoice:    "GUILD_STAGE_VOICE",
	ChannelGuildDirectory:     "GUILD_DIRECTORY",
	ChannelGuildForum:         "GUILD_FORUM",
	ChannelGuildMedia:         "GUILD_MEDIA",
}

// String returns Discord's name for the type, e.g. "GUILD_TEXT".
func (t ChannelType) String() string {
	if n, ok := channelTypeNames[t]; ok {
		return n
	}
	return "ChannelType(" + strconv.Itoa(int(t)) + ")"
}

// IsThread reports whether channels of this type are threads.
func (t ChannelType) IsThread() bool {
	return t == ChannelAnnouncementThread || t == ChannelPublicThread || t == ChannelPrivateThread
}

// IsVoice reports whether channels of this type carry voice.
func (t ChannelType) IsVoice() bool { return t == ChannelGuildVoice || t == ChannelGuildStageVoice }

// Channel is a guild channel, thread, DM or group DM: the data of CHANNEL_CREATE/UPDATE/DELETE
// and THREAD_CREATE/UPDATE, and an element of GUILD_CREATE's channels and threads. Which fields
// are set depends on Type.
type Channel struct {
	ID                   Snowflake             `json:"id"`
	Type                 ChannelType           `json:"type"`
	GuildID              Snowflake             `json:"guild_id,omitempty"`
	Position             int                   `json:"position,omitempty"`
	PermissionOverwrites []PermissionOverwrite `json:"permission_overwrites,omitempty"`
	Name                 string                `json:"name,omitempty"`
	Topic                *string               `json:"topic,omitempty"`
	NSFW                 bool                  `json:"nsfw,omitempty"`
	LastMessageID        Snowflake             `json:"last_message_id,omitempty"`
	Bitrate              int                   `json:"bitrate,omitempty"`
	UserLimit            int                   `json:"user_limit,omitempty"`
	// RateLimitPerUser is the slowmode delay in seconds.
	RateLimitPerUser int        `json:"rate_limit_per_user,omitempty"`
	Recipients       []User     `json:"recipients,omitempty"`
	Icon             *string    `json:"icon,omitempty"`
	OwnerID          Snowflake  `json:"owner_id,omitempty"`
	ApplicationID    Snowflake  `json:"application_id,omitempty"`
	ParentID         Snowflake  `json:"parent_id,omitempty"`
	LastPinTimestamp *time.Time `json:"last_pin_timestamp,omitempty"`
	RTCRegion        *string    `json:"rtc_region,omitempty"`
	VideoQualityMode int        `json:"video_quality_mode,omitempty"`
	// MessageCount and MemberCount are set on threads.
	MessageCount   int             `json:"message_count,omitempty"`
	MemberCount    int             `json:"member_count,omitempty"`
	ThreadMetadata *ThreadMetadata `json:"thread_metadata,omitempty"`
	// Member is the bot's own thread membership, when it has joined the thread.
	Member                     *ThreadMember `json:"member,omitempty"`
	DefaultAutoArchiveDuration int           `json:"default_auto_archive_duration,omitempty"`
	// Permissions are the invoking user's permissions in the channel, set in interactions.
	Permissions                   Permissions     `json:"permissions,omitempty"`
	Flags                         int             `json:"flags,omitempty"`
	TotalMessageSent              int             `json:"total_message_sent,omitempty"`
	AvailableTags                 json.RawMessage `json:"available_tags,omitempty"`
	AppliedTags                   []Snowflake     `json:"applied_tags,omitempty"`
	DefaultReactionEmoji          json.RawMessage `json:"default_reaction_emoji,omitempty"`
	DefaultThreadRateLimitPerUser int             `json:"default_thread_rate_limit_per_user,omitempty"`
	DefaultSortOrder              *int            `json:"default_sort_order,omitempty"`
	DefaultForumLayout            int             `json:"default_forum_layout,omitempty"`
	// Status is a voice channel's status text.
	Status *string `json:"status,omitempty"`
}

// Mention returns the text that links the channel in a message, "<#id>".
func (c Channel) Mention() string { return "<#" + c.ID.String() + ">" }

// PermissionOverwriteType says whether an overwrite applies to a role or a member.
type PermissionOverwriteType int

// Permission overwrite targets.
const (
	OverwriteRole   PermissionOverwriteType = 0
	OverwriteMember PermissionOverwriteType = 1
)

// PermissionOverwrite changes a role's or member's permissions in one channel.
type PermissionOverwrite struct {
	ID    Snowflake               `json:"id"`
	Type  PermissionOverwriteType `json:"type"`
	Allow Permissions             `json:"allow"`
	Deny  Permissions             `json:"deny"`
}

// ThreadMetadata holds the thread-only fields of a channel.
type ThreadMetadata struct {
	Archived bool `json:"archived"`
	// AutoArchiveDuration is in minutes: 60, 1440, 4320 or 10080.
	AutoArchiveDuration int        `json:"auto_archive_duration"`
	ArchiveTimestamp    time.Time  `json:"archive_timestamp"`
	Locked              bool       `json:"locked"`
	Invitable           *bool      `json:"invitable,omitempty"`
	CreateTimestamp     *time.Time `json:"create_timestamp,omitempty"`
}

// ThreadMember is a user's membership in a thread.
type ThreadMember struct {
	ID            Snowflake `json:"id,omitempty"`
	UserID        Snowflake `json:"user_id,omitempty"`
	JoinTimestamp time.Time `json:"join_timestamp"`
	Flags         int       `json:"flags"`
	Member        *Member   `json:"member,omitempty"`
	GuildID       Snowflake `json:"guild_id,omitempty"`
}

// ChannelPinsUpdate is the data of CHANNEL_PINS_UPDATE.
type ChannelPinsUpdate struct {
	GuildID          Snowflake  `json:"guild_id,omitempty"`
	ChannelID        Snowflake  `json:"channel_id"`
	LastPinTimestamp *time.Time `json:"last_pin_timestamp,omitempty"`
}

// ThreadDelete is the data of THREAD_DELETE.
type ThreadDelete struct {
	ID       Snowflake   `json:"id"`
	GuildID  Snowflake   `json:"guild_id"`
	ParentID Snowflake   `json:"parent_id"`
	Type     ChannelType `json:"type"`
}

// ThreadListSync is the data of THREAD_LIST_SYNC, sent when the bot gains access to a channel.
type ThreadListSync struct {
	GuildID    Snowflake      `json:"guild_id"`
	ChannelIDs []Snowflake    `json:"channel_ids,omitempty"`
	Threads    []Channel      `json:"threads"`
	Members    []ThreadMember `json:"members"`
}

// ThreadMembersUpdate is the data of THREAD_MEMBERS_UPDATE.
type ThreadMembersUpdate struct {
	ID               Snowflake      `json:"id"`
	GuildID          Snowflake      `json:"guild_id"`
	MemberCount      int            `json:"member_count"`
	AddedMembers     []ThreadMember `json:"added_members,omitempty"`
	RemovedMemberIDs []Snowflake    `json:"removed_member_ids,omitempty"`
}
