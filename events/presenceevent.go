package events

import "encoding/json"

// Presence is the data of a PRESENCE_UPDATE dispatch and an element of GUILD_CREATE's presences.
// (The op 3 payload a bot sends is [PresenceUpdate].) User is partial: only ID is sure to be set.
type Presence struct {
	User         User               `json:"user"`
	GuildID      Snowflake          `json:"guild_id,omitempty"`
	Status       Status             `json:"status"`
	Activities   []PresenceActivity `json:"activities"`
	ClientStatus ClientStatus       `json:"client_status"`
}

// PresenceActivity is an activity as other users' presences show it, with the fields Discord
// adds that a bot cannot set.
type PresenceActivity struct {
	Name string       `json:"name"`
	Type ActivityType `json:"type"`
	URL  *string      `json:"url,omitempty"`
	// CreatedAt is Unix time in milliseconds.
	CreatedAt     int64               `json:"created_at"`
	Timestamps    *ActivityTimestamps `json:"timestamps,omitempty"`
	ApplicationID Snowflake           `json:"application_id,omitempty"`
	// StatusDisplayType is which field shows in the member list: 0 name, 1 state, 2 details.
	StatusDisplayType *int            `json:"status_display_type,omitempty"`
	Details           *string         `json:"details,omitempty"`
	DetailsURL        *string         `json:"details_url,omitempty"`
	State             *string         `json:"state,omitempty"`
	StateURL          *string         `json:"state_url,omitempty"`
	Emoji             *Emoji          `json:"emoji,omitempty"`
	Party             json.RawMessage `json:"party,omitempty"`
	Assets            json.RawMessage `json:"assets,omitempty"`
	Secrets           json.RawMessage `json:"secrets,omitempty"`
	Instance          bool            `json:"instance,omitempty"`
	Flags             int             `json:"flags,omitempty"`
	// Buttons are the button labels (their URLs are not sent to bots).
	Buttons []string `json:"buttons,omitempty"`
}

// ActivityTimestamps bound an activity, in Unix milliseconds.
type ActivityTimestamps struct {
	Start int64 `json:"start,omitempty"`
	End   int64 `json:"end,omitempty"`
}

// ClientStatus is a user's status per platform; a missing platform is an empty string.
type ClientStatus struct {
	Desktop Status `json:"desktop,omitempty"`
	Mobile  Status `json:"mobile,omitempty"`
	Web     Status `json:"web,omitempty"`
	VR      Status `json:"vr,omitempty"`
}
