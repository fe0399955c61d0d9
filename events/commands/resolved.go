package commands

import (
	"github.com/cordage/cordage/events"
)

// Mentionable is the value of a MENTIONABLE option: a user (with Member set inside a guild) or
// a role.
type Mentionable struct {
	ID     events.Snowflake
	User   *events.User
	Member *events.Member
	Role   *events.Role
}

// IsRole reports whether the mention is a role.
func (m Mentionable) IsRole() bool { return m.Role != nil }
