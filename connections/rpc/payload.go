package rpc

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Command names, the "cmd" of a payload.
const (
	cmdDispatch                = "DISPATCH"
	cmdAuthorize               = "AUTHORIZE"
	cmdAuthenticate            = "AUTHENTICATE"
	cmdGetGuild                = "GET_GUILD"
	cmdGetGuilds               = "GET_GUILDS"
	cmdGetChannel              = "GET_CHANNEL"
	cmdGetChannels             = "GET_CHANNELS"
	cmdSubscribe               = "SUBSCRIBE"
	cmdUnsubscribe             = "UNSUBSCRIBE"
	cmdSelectVoiceChannel      = "SELECT_VOICE_CHANNEL"
	cmdGetSelectedVoiceChannel = "GET_SELECTED_VOICE_CHANNEL"
	cmdSetActivity             = "SET_ACTIVITY"
)

// EventName is the "evt" of a payload: what a dispatch is, or what a subscription is for.
type EventName string

// Event names. Those after EventError are the ones a Subscription can name.
const (
	EventReady              EventName = "READY"
	EventError              EventName = "ERROR"
	EventGuildStatus        EventName = "GUILD_STATUS"
	EventVoiceChannelSelect EventName = "VOICE_CHANNEL_SELECT"
	EventVoiceStateCreate   EventName = "VOICE_STATE_CREATE"
	EventVoiceStateUpdate   EventName = "VOICE_STATE_UPDATE"
	EventVoiceStateDelete   EventName = "VOICE_STATE_DELETE"
	EventSpeakingStart      EventName = "SPEAKING_START"
	EventSpeakingStop       EventName = "SPEAKING_STOP"
	EventMessageCreate      EventName = "MESSAGE_CREATE"
)

// payload is every RPC message, both directions: {"cmd","nonce","evt","data","args"}.
type payload struct {
	Cmd   string          `json:"cmd"`
	Nonce string          `json:"nonce,omitempty"`
	Evt   EventName       `json:"evt,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
	Args  json.RawMessage `json:"args,omitempty"`
}

type wirePayload struct {
	Cmd   *string         `json:"cmd"`
	Nonce *string         `json:"nonce"`
	Evt   *string         `json:"evt"`
	Data  json.RawMessage `json:"data"`
	Args  json.RawMessage `json:"args"`
}

var jsonNull = []byte("null")

// decodePayload reads one payload. The app sends null for an absent nonce or evt; those and a
// null data become zero values.
func decodePayload(b []byte) (payload, error) {
	var w wirePayload
	if err := json.Unmarshal(b, &w); err != nil {
		return payload{}, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	if w.Cmd == nil || *w.Cmd == "" {
		return payload{}, fmt.Errorf("%w: no cmd", ErrBadPayload)
	}
	p := payload{Cmd: *w.Cmd, Data: w.Data, Args: w.Args}
	if w.Nonce != nil {
		p.Nonce = *w.Nonce
	}
	if w.Evt != nil {
		p.Evt = EventName(*w.Evt)
	}
	if bytes.Equal(p.Data, jsonNull) {
		p.Data = nil
	}
	if bytes.Equal(p.Args, jsonNull) {
		p.Args = nil
	}
	return p, nil
}

// errorData is the data of an ERROR payload.
type errorData struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
}

// asError turns an ERROR payload into *Error.
func (p payload) asError() *Error {
	var d errorData
	if err := json.Unmarshal(p.Data, &d); err != nil {
		return &Error{Cmd: p.Cmd, Code: CodeUnknownError, Message: "undecodable error payload"}
	}
	cmd := p.Cmd
	if cmd == cmdDispatch {
		cmd = ""
	}
	return &Error{Cmd: cmd, Code: d.Code, Message: d.Message}
}
