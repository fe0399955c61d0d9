package events

// Emoji is a custom guild emoji or, with a zero ID, a Unicode emoji given by Name. In reactions
// the Name of a deleted custom emoji may be empty.
type Emoji struct {
	ID            Snowflake   `json:"id,omitempty"`
	Name          string      `json:"name"`
	Roles         []Snowflake `json:"roles,omitempty"`
	User          *User       `json:"user,omitempty"`
	RequireColons bool        `json:"require_colons,omitempty"`
	Managed       bool        `json:"managed,omitempty"`
	Animated      bool        `json:"animated,omitempty"`
	Available     bool        `json:"available,omitempty"`
}

// Custom reports whether e is a guild emoji rather than a Unicode one.
func (e Emoji) Custom() bool { return e.ID != 0 }

// APIName returns the form REST routes take for reactions: the Unicode emoji itself, or
// "name:id" for a custom emoji (the caller URL-escapes it).
func (e Emoji) APIName() string {
	if e.ID == 0 {
		return e.Name
	}
	return e.Name + ":" + e.ID.String()
}

// String returns the text that shows the emoji in a message: the Unicode emoji, or
// "<:name:id>" ("<a:name:id>" when animated).
func (e Emoji) String() string {
	if e.ID == 0 {
		return e.Name
	}
	prefix := "<:"
	if e.Animated {
		prefix = "<a:"
	}
	return prefix + e.Name + ":" + e.ID.String() + ">"
}

// GuildEmojisUpdate is the data of GUILD_EMOJIS_UPDATE: the guild's full emoji list.
type GuildEmojisUpdate struct {
	GuildID Snowflake `json:"guild_id"`
	Emojis  []Emoji   `json:"emojis"`
}
