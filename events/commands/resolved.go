package commands

import (
	"github.com/cordage/cordage/events"
)

// Channel is a channel as an interaction resolves it (a partial channel: id, name, type,
// permissions and a few more).
type Channel struct {
	ID          events.Snowflake `json:"id"`
	Type        int              `json:"type"`
	Name        string           `json:"name,omitempty"`
	GuildID     events.Snowflake `json:"guild_id,omitempty"`
	ParentID    events.Snowflake `json:"parent_id,omitempty"`
	Permissions Permissions      `json:"permissions,omitempty"`
	NSFW        bool             `json:"nsfw,omitempty"`
}

// Role is a guild role as an interaction resolves it.
type Role struct {
	ID          events.Snowflake `json:"id"`
	Name        string           `json:"name"`
	Color       int              `json:"color"`
	Hoist       bool             `json:"hoist"`
	Position    int              `json:"position"`
	Permissions Permissions      `json:"permissions"`
	Managed     bool             `json:"managed"`
	Mentionable bool             `json:"mentionable"`
}

// Attachment is an uploaded file given to an ATTACHMENT option.
type Attachment struct {
	ID          events.Snowflake `json:"id"`
	Filename    string           `json:"filename"`
	ContentType string           `json:"content_type,omitempty"`
	Size        int              `json:"size"`
	URL         string           `json:"url"`
	ProxyURL    string           `json:"proxy_url"`
	Width       *int             `json:"width,omitempty"`
	Height      *int             `json:"height,omitempty"`
	Ephemeral   bool             `json:"ephemeral,omitempty"`
}

// Mentionable is the value of a MENTIONABLE option: a user (with Member set inside a guild) or
// a role.
type Mentionable struct {
	ID     events.Snowflake
	User   *events.User
	Member *events.Member
	Role   *Role
}

// IsRole reports whether the mention is a role.
func (m Mentionable) IsRole() bool { return m.Role != nil }
