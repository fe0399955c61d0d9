package events

// User is a Discord user or bot account.
type User struct {
	ID            Snowflake `json:"id"`
	Username      string    `json:"username"`
	Discriminator string    `json:"discriminator,omitempty"`
	GlobalName    *string   `json:"global_name,omitempty"`
	Avatar        *string   `json:"avatar,omitempty"`
	Bot           bool      `json:"bot,omitempty"`
	System        bool      `json:"system,omitempty"`
}

// Member is a user's membership in a guild.
type Member struct {
	User     *User       `json:"user,omitempty"`
	Nick     *string     `json:"nick,omitempty"`
	Roles    []Snowflake `json:"roles"`
	JoinedAt string      `json:"joined_at"`
	Deaf     bool        `json:"deaf"`
	Mute     bool        `json:"mute"`
}
