package events

// Role is a guild role.
type Role struct {
	ID   Snowflake `json:"id"`
	Name string    `json:"name"`
	// Color is 0xRRGGBB, 0 for none. Discord keeps it for older clients next to Colors.
	Color        int         `json:"color"`
	Colors       *RoleColors `json:"colors,omitempty"`
	Hoist        bool        `json:"hoist"`
	Icon         *string     `json:"icon,omitempty"`
	UnicodeEmoji *string     `json:"unicode_emoji,omitempty"`
	Position     int         `json:"position"`
	Permissions  Permissions `json:"permissions"`
	// Managed is true for roles owned by an integration (a bot's own role, a booster role).
	Managed     bool      `json:"managed"`
	Mentionable bool      `json:"mentionable"`
	Tags        *RoleTags `json:"tags,omitempty"`
	Flags       int       `json:"flags"`
}

// Mention returns the text that mentions the role in a message, "<@&id>".
func (r Role) Mention() string { return "<@&" + r.ID.String() + ">" }

// RoleColors are a role's gradient colours (0xRRGGBB); Secondary and Tertiary are nil for a
// solid colour.
type RoleColors struct {
	Primary   int  `json:"primary_color"`
	Secondary *int `json:"secondary_color,omitempty"`
	Tertiary  *int `json:"tertiary_color,omitempty"`
}

// RoleTags say what a managed role belongs to.
type RoleTags struct {
	BotID                 Snowflake `json:"bot_id,omitempty"`
	IntegrationID         Snowflake `json:"integration_id,omitempty"`
	SubscriptionListingID Snowflake `json:"subscription_listing_id,omitempty"`
	// Discord marks the three flags below by sending the key with a null value, and leaves the
	// key out for false.
	PremiumSubscriber    NullFlag `json:"premium_subscriber,omitempty"`
	AvailableForPurchase NullFlag `json:"available_for_purchase,omitempty"`
	GuildConnections     NullFlag `json:"guild_connections,omitempty"`
}

// NullFlag is a boolean that Discord encodes by the presence of a key whose value is null.
// Any value decodes as true; an absent key leaves it false. It encodes as null when true and
// is left out (with omitempty) when false.
type NullFlag bool

// MarshalJSON encodes a set flag as null.
func (f NullFlag) MarshalJSON() ([]byte, error) {
	if f {
		return []byte("null"), nil
	}
	return []byte("false"), nil
}

// UnmarshalJSON sets the flag: the key is present.
func (f *NullFlag) UnmarshalJSON(b []byte) error {
	*f = string(b) != "false"
	return nil
}

// GuildRoleUpdate is the data of GUILD_ROLE_CREATE and GUILD_ROLE_UPDATE.
type GuildRoleUpdate struct {
	GuildID Snowflake `json:"guild_id"`
	Role    Role      `json:"role"`
}

// GuildRoleDelete is the data of GUILD_ROLE_DELETE.
type GuildRoleDelete struct {
	GuildID Snowflake `json:"guild_id"`
	RoleID  Snowflake `json:"role_id"`
}
