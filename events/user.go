package events

import "time"

// User is a Discord user or bot account. Some events carry a partial user in which only ID is
// set (PRESENCE_UPDATE, for example).
type User struct {
	ID            Snowflake `json:"id"`
	Username      string    `json:"username"`
	Discriminator string    `json:"discriminator,omitempty"`
	GlobalName    *string   `json:"global_name,omitempty"`
	Avatar        *string   `json:"avatar,omitempty"`
	Bot           bool      `json:"bot,omitempty"`
	System        bool      `json:"system,omitempty"`
	Banner        *string   `json:"banner,omitempty"`
	// AccentColor is the banner colour as 0xRRGGBB, when the user has no banner image.
	AccentColor *int `json:"accent_color,omitempty"`
	// PublicFlags are the badges shown on the user's profile.
	PublicFlags          int                   `json:"public_flags,omitempty"`
	Flags                int                   `json:"flags,omitempty"`
	PremiumType          int                   `json:"premium_type,omitempty"`
	MFAEnabled           bool                  `json:"mfa_enabled,omitempty"`
	Verified             bool                  `json:"verified,omitempty"`
	Locale               string                `json:"locale,omitempty"`
	AvatarDecorationData *AvatarDecorationData `json:"avatar_decoration_data,omitempty"`
}

// AvatarDecorationData is the decoration drawn around an avatar.
type AvatarDecorationData struct {
	Asset string    `json:"asset"`
	SkuID Snowflake `json:"sku_id"`
}

// DisplayName returns the name Discord shows for the user: the global name if set, else the
// username.
func (u User) DisplayName() string {
	if u.GlobalName != nil && *u.GlobalName != "" {
		return *u.GlobalName
	}
	return u.Username
}

// Mention returns the text that mentions the user in a message, "<@id>".
func (u User) Mention() string { return "<@" + u.ID.String() + ">" }

// Member is a user's membership in a guild. User is absent in MESSAGE_CREATE (the message has
// an author) and in an interaction's resolved members.
type Member struct {
	User     *User       `json:"user,omitempty"`
	Nick     *string     `json:"nick,omitempty"`
	Roles    []Snowflake `json:"roles"`
	JoinedAt string      `json:"joined_at"`
	Deaf     bool        `json:"deaf"`
	Mute     bool        `json:"mute"`
	// Avatar is the member's guild-specific avatar hash.
	Avatar *string `json:"avatar,omitempty"`
	Banner *string `json:"banner,omitempty"`
	// PremiumSince is when the member started boosting the guild.
	PremiumSince *time.Time `json:"premium_since,omitempty"`
	// Flags are guild member flags (DID_REJOIN 1, COMPLETED_ONBOARDING 2, ...).
	Flags int `json:"flags"`
	// Pending is true until the member passed the guild's membership screening.
	Pending bool `json:"pending,omitempty"`
	// Permissions are the member's permissions in the channel, set only in interactions.
	Permissions Permissions `json:"permissions,omitempty"`
	// CommunicationDisabledUntil is when the member's timeout ends; nil or past means none.
	CommunicationDisabledUntil *time.Time            `json:"communication_disabled_until,omitempty"`
	AvatarDecorationData       *AvatarDecorationData `json:"avatar_decoration_data,omitempty"`
}

// JoinedTime parses JoinedAt. It returns the zero time when JoinedAt is empty or malformed.
func (m Member) JoinedTime() time.Time {
	t, err := time.Parse(time.RFC3339Nano, m.JoinedAt)
	if err != nil {
		return time.Time{}
	}
	return t
}

// TimedOut reports whether the member is in a timeout at time now.
func (m Member) TimedOut(now time.Time) bool {
	return m.CommunicationDisabledUntil != nil && m.CommunicationDisabledUntil.After(now)
}
