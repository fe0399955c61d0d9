package rpc

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/cordage/cordage/events"
)

// Command is a typed RPC command. Client.Do sends one and waits for the answer with the same
// nonce; the methods on Client (Authorize, Guilds, Subscribe, SetActivity, …) are sugar over
// Do that also decode the answer. The set is sealed: the types below are all there is.
type Command interface {
	// build returns the cmd, evt and args of the payload, filling defaults from the client.
	build(d defaults) (cmd string, evt EventName, args any, err error)
}

// defaults are what a command may leave zero and the client fills in.
type defaults struct {
	clientID string
	pid      int
}

// Authorize asks the user (in the app) to authorize the application for Scopes. The answer's
// data is {"code": …}, an OAuth2 code for the token exchange.
type Authorize struct {
	ClientID events.Snowflake // zero: the client's own id
	Scopes   []string         // e.g. "rpc", "identify", "rpc.voice.read"
	RPCToken string           // optional one-time token that skips the prompt (approved apps)
	Username string           // optional guest account name
}

// Authenticate logs the connection in with an OAuth2 access token. The client keeps the token
// (in memory only) to log in again after a reconnect.
type Authenticate struct {
	AccessToken string
}

// Format keeps the token out of %v and %+v.
func (a Authenticate) Format(f fmt.State, _ rune) { io.WriteString(f, "{AccessToken:[redacted]}") }

// GetGuilds lists the user's guilds.
type GetGuilds struct{}

// GetGuild gets one guild. TimeoutSeconds, if set, lets the app wait that long for a guild it
// has not loaded.
type GetGuild struct {
	GuildID        events.Snowflake
	TimeoutSeconds int
}

// GetChannel gets one channel, with voice states for a voice channel.
type GetChannel struct {
	ChannelID events.Snowflake
}

// GetChannels lists a guild's channels.
type GetChannels struct {
	GuildID events.Snowflake
}

// Subscribe starts the dispatches a Subscription names. The client remembers it and subscribes
// again after a reconnect.
type Subscribe struct{ Subscription }

// Unsubscribe stops them, and the client forgets the subscription.
type Unsubscribe struct{ Subscription }

// SelectVoiceChannel moves the user into a voice channel (zero ChannelID: out of voice). If
// the user is already in another channel the app answers CodeSelectVoiceForceRequired; set
// Force only after the user agreed to be moved.
type SelectVoiceChannel struct {
	ChannelID      events.Snowflake
	Force          bool
	TimeoutSeconds int
}

// GetSelectedVoiceChannel gets the voice channel the user is in; the answer's data is null if
// none.
type GetSelectedVoiceChannel struct{}

// SetActivity sets the rich presence shown for the application. A nil Activity clears it.
// PID zero means this process. The client remembers the last activity and sets it again
// after a reconnect (the app clears it when the connection drops).
type SetActivity struct {
	PID      int
	Activity *Activity
}

// ClearActivity clears the rich presence (SET_ACTIVITY with a null activity).
type ClearActivity struct {
	PID int
}

// Subscription names an event and what it is for. Voice and speaking events and MESSAGE_CREATE
// need ChannelID, GUILD_STATUS needs GuildID, VOICE_CHANNEL_SELECT needs neither.
type Subscription struct {
	Event     EventName
	GuildID   events.Snowflake
	ChannelID events.Snowflake
}

// args builds the subscription's args and checks that the ids it needs are there.
func (s Subscription) args() (map[string]any, error) {
	args := map[string]any{}
	switch s.Event {
	case EventVoiceStateCreate, EventVoiceStateUpdate, EventVoiceStateDelete,
		EventSpeakingStart, EventSpeakingStop, EventMessageCreate:
		if s.ChannelID.IsZero() {
			return nil, fmt.Errorf("%w: subscription to %s needs a channel id", ErrInvalidArgument, s.Event)
		}
		args["channel_id"] = s.ChannelID
	case EventGuildStatus:
		if s.GuildID.IsZero() {
			return nil, fmt.Errorf("%w: subscription to %s needs a guild id", ErrInvalidArgument, s.Event)
		}
		args["guild_id"] = s.GuildID
	case EventVoiceChannelSelect:
	case "", EventReady, EventError:
		return nil, fmt.Errorf("%w: %q is not an event one subscribes to", ErrInvalidArgument, s.Event)
	default: // an event this package has no type for: send what was given
		if !s.ChannelID.IsZero() {
			args["channel_id"] = s.ChannelID
		}
		if !s.GuildID.IsZero() {
			args["guild_id"] = s.GuildID
		}
	}
	return args, nil
}

func (c Authorize) build(d defaults) (string, EventName, any, error) {
	if len(c.Scopes) == 0 {
		return "", "", nil, fmt.Errorf("%w: authorize needs at least one scope", ErrInvalidArgument)
	}
	id := d.clientID
	if !c.ClientID.IsZero() {
		id = c.ClientID.String()
	}
	args := map[string]any{"client_id": id, "scopes": c.Scopes}
	if c.RPCToken != "" {
		args["rpc_token"] = c.RPCToken
	}
	if c.Username != "" {
		args["username"] = c.Username
	}
	return cmdAuthorize, "", args, nil
}

func (c Authenticate) build(defaults) (string, EventName, any, error) {
	if c.AccessToken == "" {
		return "", "", nil, fmt.Errorf("%w: authenticate needs an access token", ErrInvalidArgument)
	}
	return cmdAuthenticate, "", map[string]string{"access_token": c.AccessToken}, nil
}

func (GetGuilds) build(defaults) (string, EventName, any, error) {
	return cmdGetGuilds, "", struct{}{}, nil
}

func (c GetGuild) build(defaults) (string, EventName, any, error) {
	if c.GuildID.IsZero() {
		return "", "", nil, fmt.Errorf("%w: get guild needs a guild id", ErrInvalidArgument)
	}
	args := map[string]any{"guild_id": c.GuildID}
	if c.TimeoutSeconds > 0 {
		args["timeout"] = c.TimeoutSeconds
	}
	return cmdGetGuild, "", args, nil
}

func (c GetChannel) build(defaults) (string, EventName, any, error) {
	if c.ChannelID.IsZero() {
		return "", "", nil, fmt.Errorf("%w: get channel needs a channel id", ErrInvalidArgument)
	}
	return cmdGetChannel, "", map[string]any{"channel_id": c.ChannelID}, nil
}

func (c GetChannels) build(defaults) (string, EventName, any, error) {
	if c.GuildID.IsZero() {
		return "", "", nil, fmt.Errorf("%w: get channels needs a guild id", ErrInvalidArgument)
	}
	return cmdGetChannels, "", map[string]any{"guild_id": c.GuildID}, nil
}

func (c Subscribe) build(defaults) (string, EventName, any, error) {
	args, err := c.args()
	if err != nil {
		return "", "", nil, err
	}
	return cmdSubscribe, c.Event, args, nil
}

func (c Unsubscribe) build(defaults) (string, EventName, any, error) {
	args, err := c.args()
	if err != nil {
		return "", "", nil, err
	}
	return cmdUnsubscribe, c.Event, args, nil
}

func (c SelectVoiceChannel) build(defaults) (string, EventName, any, error) {
	args := map[string]any{"channel_id": nil}
	if !c.ChannelID.IsZero() {
		args["channel_id"] = c.ChannelID
	}
	if c.Force {
		args["force"] = true
	}
	if c.TimeoutSeconds > 0 {
		args["timeout"] = c.TimeoutSeconds
	}
	return cmdSelectVoiceChannel, "", args, nil
}

func (GetSelectedVoiceChannel) build(defaults) (string, EventName, any, error) {
	return cmdGetSelectedVoiceChannel, "", struct{}{}, nil
}

func (c SetActivity) build(d defaults) (string, EventName, any, error) {
	pid := c.PID
	if pid == 0 {
		pid = d.pid
	}
	if c.Activity != nil {
		if err := c.Activity.validate(); err != nil {
			return "", "", nil, err
		}
	}
	return cmdSetActivity, "", setActivityArgs{PID: pid, Activity: c.Activity}, nil
}

func (c ClearActivity) build(d defaults) (string, EventName, any, error) {
	return SetActivity{PID: c.PID}.build(d)
}

// setActivityArgs always carries "activity", null to clear.
type setActivityArgs struct {
	PID      int       `json:"pid"`
	Activity *Activity `json:"activity"`
}

// encodeCommand builds the payload for cmd under nonce.
func encodeCommand(cmd Command, d defaults, nonce string) ([]byte, string, EventName, error) {
	name, evt, args, err := cmd.build(d)
	if err != nil {
		return nil, "", "", err
	}
	rawArgs, err := json.Marshal(args)
	if err != nil {
		return nil, "", "", fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	b, err := json.Marshal(payload{Cmd: name, Nonce: nonce, Evt: evt, Args: rawArgs})
	if err != nil {
		return nil, "", "", fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	return b, name, evt, nil
}
