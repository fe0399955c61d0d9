package rpc

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cordage/cordage/events"
)

func decodeInto[T any](data json.RawMessage, err error, what string) (*T, error) {
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, nil
	}
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("%w: %s answer: %v", ErrBadPayload, what, err)
	}
	return v, nil
}

// Authorize asks the user, in the app, to authorize this application for scopes, and returns
// the OAuth2 code to exchange for a token. Discord grants the rpc* scopes only to applications
// it approved (and their listed testers).
func (c *Client) Authorize(ctx context.Context, scopes ...string) (string, error) {
	data, err := c.Do(ctx, Authorize{Scopes: scopes})
	r, err := decodeInto[struct {
		Code string `json:"code"`
	}](data, err, "AUTHORIZE")
	if err != nil {
		return "", err
	}
	if r == nil || r.Code == "" {
		return "", fmt.Errorf("%w: AUTHORIZE answer has no code", ErrBadPayload)
	}
	return r.Code, nil
}

// Authenticate logs this connection in with an access token. The client keeps the token to
// log in again after a reconnect.
func (c *Client) Authenticate(ctx context.Context, accessToken string) (*AuthenticateResult, error) {
	data, err := c.Do(ctx, Authenticate{AccessToken: accessToken})
	r, err := decodeInto[AuthenticateResult](data, err, "AUTHENTICATE")
	if err == nil && r == nil {
		err = fmt.Errorf("%w: AUTHENTICATE answer is empty", ErrBadPayload)
	}
	return r, err
}

// LoginParams is what Login needs besides the client id.
type LoginParams struct {
	Scopes       []string // e.g. {"rpc", "identify"}
	ClientSecret string   // the application's secret; never logged
	RedirectURI  string   // one of the application's redirect URIs, if it has any
	RPCToken     string   // optional, skips the prompt for approved applications
}

// Login runs the whole flow: AUTHORIZE (the user approves in the app), the code-for-token
// exchange through the TokenExchanger, then AUTHENTICATE. It returns the token too, so the
// caller can store it and call Authenticate next time without asking the user again. The
// app answers AUTHORIZE only once the user clicked, so give ctx minutes, not seconds.
func (c *Client) Login(ctx context.Context, p LoginParams) (*AuthenticateResult, Token, error) {
	data, err := c.Do(ctx, Authorize{Scopes: p.Scopes, RPCToken: p.RPCToken})
	r, err := decodeInto[struct {
		Code string `json:"code"`
	}](data, err, "AUTHORIZE")
	if err != nil {
		return nil, Token{}, err
	}
	if r == nil || r.Code == "" {
		return nil, Token{}, fmt.Errorf("%w: AUTHORIZE answer has no code", ErrBadPayload)
	}
	tok, err := c.exchanger.ExchangeCode(ctx, c.clientID, p.ClientSecret, r.Code, p.RedirectURI)
	if err != nil {
		return nil, Token{}, err
	}
	res, err := c.Authenticate(ctx, tok.AccessToken)
	if err != nil {
		return nil, Token{}, err
	}
	return res, tok, nil
}

// Guilds lists the user's guilds (GET_GUILDS).
func (c *Client) Guilds(ctx context.Context) ([]Guild, error) {
	data, err := c.Do(ctx, GetGuilds{})
	r, err := decodeInto[struct {
		Guilds []Guild `json:"guilds"`
	}](data, err, "GET_GUILDS")
	if err != nil || r == nil {
		return nil, err
	}
	return r.Guilds, nil
}

// Guild gets one guild (GET_GUILD).
func (c *Client) Guild(ctx context.Context, id events.Snowflake) (*Guild, error) {
	data, err := c.Do(ctx, GetGuild{GuildID: id})
	return decodeInto[Guild](data, err, "GET_GUILD")
}

// Channel gets one channel (GET_CHANNEL), with its voice states if it is a voice channel.
func (c *Client) Channel(ctx context.Context, id events.Snowflake) (*Channel, error) {
	data, err := c.Do(ctx, GetChannel{ChannelID: id})
	return decodeInto[Channel](data, err, "GET_CHANNEL")
}

// Channels lists a guild's channels (GET_CHANNELS).
func (c *Client) Channels(ctx context.Context, guildID events.Snowflake) ([]Channel, error) {
	data, err := c.Do(ctx, GetChannels{GuildID: guildID})
	r, err := decodeInto[struct {
		Channels []Channel `json:"channels"`
	}](data, err, "GET_CHANNELS")
	if err != nil || r == nil {
		return nil, err
	}
	return r.Channels, nil
}

// Subscribe starts the dispatches s names; they arrive on out. The client subscribes again
// after each reconnect.
func (c *Client) Subscribe(ctx context.Context, s Subscription) error {
	_, err := c.Do(ctx, Subscribe{s})
	return err
}

// Unsubscribe stops them.
func (c *Client) Unsubscribe(ctx context.Context, s Subscription) error {
	_, err := c.Do(ctx, Unsubscribe{s})
	return err
}

// VoiceEvents are the events SubscribeVoice subscribes to.
var voiceEvents = []EventName{EventVoiceStateCreate, EventVoiceStateUpdate, EventVoiceStateDelete, EventSpeakingStart, EventSpeakingStop}

// SubscribeVoice subscribes to who joins, changes, leaves, and starts and stops speaking in a
// voice channel: VOICE_STATE_CREATE, _UPDATE, _DELETE, SPEAKING_START and _STOP. It stops at
// the first refusal, keeping the subscriptions already made.
func (c *Client) SubscribeVoice(ctx context.Context, channelID events.Snowflake) error {
	for _, e := range voiceEvents {
		if err := c.Subscribe(ctx, Subscription{Event: e, ChannelID: channelID}); err != nil {
			return err
		}
	}
	return nil
}

// SelectVoiceChannel moves the user into a voice channel (zero id: out of voice) and returns
// it (nil after leaving). See SelectVoiceChannel the command for force.
func (c *Client) SelectVoiceChannel(ctx context.Context, id events.Snowflake, force bool) (*Channel, error) {
	data, err := c.Do(ctx, SelectVoiceChannel{ChannelID: id, Force: force})
	return decodeInto[Channel](data, err, "SELECT_VOICE_CHANNEL")
}

// SelectedVoiceChannel returns the voice channel the user is in, or nil.
func (c *Client) SelectedVoiceChannel(ctx context.Context) (*Channel, error) {
	data, err := c.Do(ctx, GetSelectedVoiceChannel{})
	return decodeInto[Channel](data, err, "GET_SELECTED_VOICE_CHANNEL")
}

// SetActivity sets the rich presence. It works for any application, with no AUTHORIZE or
// AUTHENTICATE. The client sets it again after a reconnect.
func (c *Client) SetActivity(ctx context.Context, a Activity) error {
	_, err := c.Do(ctx, SetActivity{Activity: &a})
	return err
}

// ClearActivity removes the rich presence.
func (c *Client) ClearActivity(ctx context.Context) error {
	_, err := c.Do(ctx, ClearActivity{})
	return err
}
