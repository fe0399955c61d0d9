package rpc

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/cordage/cordage/events"
)

// Config is the app's description of itself in READY.
type Config struct {
	CDNHost     string `json:"cdn_host"`
	APIEndpoint string `json:"api_endpoint"`
	Environment string `json:"environment"`
}

// ReadyData is the data of the READY dispatch the app sends after the handshake.
type ReadyData struct {
	V      int         `json:"v"`
	Config Config      `json:"config"`
	User   events.User `json:"user"` // the user logged in to the app
}

// Application is the OAuth2 application a user authorized, as AUTHENTICATE returns it.
type Application struct {
	ID          events.Snowflake `json:"id"`
	Name        string           `json:"name"`
	Description string           `json:"description,omitempty"`
	Icon        *string          `json:"icon,omitempty"`
	RPCOrigins  []string         `json:"rpc_origins,omitempty"`
}

// AuthenticateResult is the answer to AUTHENTICATE.
type AuthenticateResult struct {
	User        events.User `json:"user"`
	Scopes      []string    `json:"scopes"`
	Expires     time.Time   `json:"expires"`
	Application Application `json:"application"`
}

// Guild is a guild as the RPC server describes it (a partial guild).
type Guild struct {
	ID      events.Snowflake `json:"id"`
	Name    string           `json:"name"`
	IconURL *string          `json:"icon_url,omitempty"`
}

// Channel types the RPC server reports.
const (
	ChannelGuildText  = 0
	ChannelDM         = 1
	ChannelGuildVoice = 2
	ChannelGroupDM    = 3
)

// Channel is a channel as GET_CHANNEL, SELECT_VOICE_CHANNEL and GET_SELECTED_VOICE_CHANNEL
// return it. GET_CHANNELS fills only ID, Name and Type.
type Channel struct {
	ID          events.Snowflake `json:"id"`
	GuildID     events.Snowflake `json:"guild_id,omitempty"`
	Name        string           `json:"name"`
	Type        int              `json:"type"`
	Topic       string           `json:"topic,omitempty"`
	Bitrate     int              `json:"bitrate,omitempty"`
	UserLimit   int              `json:"user_limit,omitempty"`
	Position    int              `json:"position"`
	VoiceStates []VoiceState     `json:"voice_states,omitempty"`
	Messages    []Message        `json:"messages,omitempty"`
}

// VoiceFlags is the server-side and self mute/deaf state of a user in voice.
type VoiceFlags struct {
	Mute     bool `json:"mute"`
	Deaf     bool `json:"deaf"`
	SelfMute bool `json:"self_mute"`
	SelfDeaf bool `json:"self_deaf"`
	Suppress bool `json:"suppress"`
}

// Pan is how a user's voice is panned in the local client, 0 to 1 each side.
type Pan struct {
	Left  float64 `json:"left"`
	Right float64 `json:"right"`
}

// VoiceState is a user in a voice channel, as the local client sees them: the voice state,
// the user, and the local user's own settings for them (volume, local mute, pan).
type VoiceState struct {
	VoiceState VoiceFlags  `json:"voice_state"`
	User       events.User `json:"user"`
	Nick       string      `json:"nick,omitempty"`
	Volume     float64     `json:"volume"`
	Mute       bool        `json:"mute"`
	Pan        *Pan        `json:"pan,omitempty"`
}

// Name returns the nick if there is one, else the global name, else the username.
func (v VoiceState) Name() string {
	if v.Nick != "" {
		return v.Nick
	}
	if v.User.GlobalName != nil && *v.User.GlobalName != "" {
		return *v.User.GlobalName
	}
	return v.User.Username
}

// Message is a message in a MESSAGE_CREATE dispatch, with the fields most readers need.
type Message struct {
	ID          events.Snowflake `json:"id"`
	Content     string           `json:"content"`
	Author      events.User      `json:"author"`
	Nick        string           `json:"nick,omitempty"`
	AuthorColor string           `json:"author_color,omitempty"`
	Timestamp   string           `json:"timestamp"`
	Type        int              `json:"type"`
}

// Activity is a rich presence: what SET_ACTIVITY shows on the user's profile under the
// application's name. Every field is optional; the zero Activity shows only the name.
type Activity struct {
	Type       events.ActivityType `json:"type,omitempty"` // Playing (0), Listening (2), Watching (3), Competing (5)
	State      string              `json:"state,omitempty"`
	Details    string              `json:"details,omitempty"`
	Timestamps *Timestamps         `json:"timestamps,omitempty"`
	Assets     *Assets             `json:"assets,omitempty"`
	Party      *Party              `json:"party,omitempty"`
	Secrets    *Secrets            `json:"secrets,omitempty"`
	Buttons    []Button            `json:"buttons,omitempty"`
	Instance   bool                `json:"instance,omitempty"`
}

// Timestamps shows "elapsed" (Start only) or "left" (End). Values are Unix seconds, as the
// desktop app's rich presence expects.
type Timestamps struct {
	Start int64 `json:"start,omitempty"`
	End   int64 `json:"end,omitempty"`
}

// Assets names art keys uploaded to the application (or image URLs) and their hover texts.
type Assets struct {
	LargeImage string `json:"large_image,omitempty"`
	LargeText  string `json:"large_text,omitempty"`
	SmallImage string `json:"small_image,omitempty"`
	SmallText  string `json:"small_text,omitempty"`
}

// Party is the player's party: an id and [current, max] size.
type Party struct {
	ID   string  `json:"id,omitempty"`
	Size *[2]int `json:"size,omitempty"`
}

// Secrets let other users join or spectate through Discord.
type Secrets struct {
	Join     string `json:"join,omitempty"`
	Spectate string `json:"spectate,omitempty"`
	Match    string `json:"match,omitempty"`
}

// Button is a link shown under the presence; at most two.
type Button struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// maxActivityText is the longest state, details, or asset text the app accepts.
const maxActivityText = 128

// validate rejects what the app would refuse, so the caller gets a clear error instead of a
// generic 4000.
func (a *Activity) validate() error {
	for name, s := range map[string]string{"state": a.State, "details": a.Details} {
		if utf8.RuneCountInString(s) > maxActivityText {
			return fmt.Errorf("%w: activity %s is longer than %d characters", ErrInvalidArgument, name, maxActivityText)
		}
	}
	if a.Assets != nil {
		for name, s := range map[string]string{"large_text": a.Assets.LargeText, "small_text": a.Assets.SmallText} {
			if utf8.RuneCountInString(s) > maxActivityText {
				return fmt.Errorf("%w: activity %s is longer than %d characters", ErrInvalidArgument, name, maxActivityText)
			}
		}
	}
	if len(a.Buttons) > 2 {
		return fmt.Errorf("%w: activity has %d buttons, at most 2", ErrInvalidArgument, len(a.Buttons))
	}
	for _, b := range a.Buttons {
		if b.Label == "" || b.URL == "" {
			return fmt.Errorf("%w: activity button needs a label and a url", ErrInvalidArgument)
		}
	}
	if a.Party != nil && a.Party.Size != nil {
		if s := a.Party.Size; s[0] < 0 || s[1] < 1 || s[0] > s[1] {
			return fmt.Errorf("%w: party size %d of %d", ErrInvalidArgument, s[0], s[1])
		}
	}
	if a.Timestamps != nil && a.Timestamps.End != 0 && a.Timestamps.End < a.Timestamps.Start {
		return fmt.Errorf("%w: activity ends before it starts", ErrInvalidArgument)
	}
	return nil
}
