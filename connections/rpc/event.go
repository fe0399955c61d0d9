package rpc

import (
	"encoding/json"
	"time"

	"github.com/cordage/cordage/events"
)

// Event is what the client sends on the caller's out channel: a dispatch from the app (one of
// the types below, UnknownEvent for the rest) or a client lifecycle event (Ready,
// Disconnected, ErrorEvent). Read it with a type switch.
type Event interface {
	// EventName is the RPC event name; lifecycle events that are not RPC events use their
	// own names ("DISCONNECTED").
	EventName() EventName
	isEvent()
}

// Ready is sent each time a connection is ready for commands: after Dial, and after each
// reconnect once the token was re-sent and the subscriptions restored.
type Ready struct {
	ReadyData
	Transport Transport
	Endpoint  string // the socket path or ws:// URL that answered
	// Reconnected is false for the first connection. After a reconnect, Resubscribed counts
	// the subscriptions restored and RestoreErr joins what could not be restored.
	Reconnected  bool
	Resubscribed int
	RestoreErr   error
}

// Disconnected is sent when a connection dropped and the client will try again after RetryIn.
// Commands made meanwhile wait for the next connection (or their ctx).
type Disconnected struct {
	Err     error
	RetryIn time.Duration
}

// ErrorEvent is an ERROR payload that answered no command.
type ErrorEvent struct{ Err *Error }

// VoiceStateCreate: a user joined a subscribed voice channel.
type VoiceStateCreate struct{ VoiceState }

// VoiceStateUpdate: a user's voice state changed in a subscribed voice channel.
type VoiceStateUpdate struct{ VoiceState }

// VoiceStateDelete: a user left a subscribed voice channel.
type VoiceStateDelete struct{ VoiceState }

// SpeakingStart: a user in a subscribed voice channel started speaking.
type SpeakingStart struct {
	UserID    events.Snowflake `json:"user_id"`
	ChannelID events.Snowflake `json:"channel_id,omitempty"` // set by newer app versions only
}

// SpeakingStop: a user in a subscribed voice channel stopped speaking.
type SpeakingStop struct {
	UserID    events.Snowflake `json:"user_id"`
	ChannelID events.Snowflake `json:"channel_id,omitempty"`
}

// VoiceChannelSelect: the local user joined (or, with zero ids, left) a voice channel.
type VoiceChannelSelect struct {
	ChannelID events.Snowflake `json:"channel_id"`
	GuildID   events.Snowflake `json:"guild_id"`
}

// GuildStatus: a subscribed guild changed.
type GuildStatus struct {
	Guild  Guild `json:"guild"`
	Online int   `json:"online"` // always 0 nowadays
}

// MessageCreate: a message was sent in a subscribed text channel.
type MessageCreate struct {
	ChannelID events.Snowflake `json:"channel_id"`
	Message   Message          `json:"message"`
}

// UnknownEvent is a dispatch this package has no type for, or one whose data did not decode.
type UnknownEvent struct {
	Name EventName
	Data json.RawMessage
}

func (*Ready) EventName() EventName              { return EventReady }
func (*Disconnected) EventName() EventName       { return "DISCONNECTED" }
func (*ErrorEvent) EventName() EventName         { return EventError }
func (*VoiceStateCreate) EventName() EventName   { return EventVoiceStateCreate }
func (*VoiceStateUpdate) EventName() EventName   { return EventVoiceStateUpdate }
func (*VoiceStateDelete) EventName() EventName   { return EventVoiceStateDelete }
func (*SpeakingStart) EventName() EventName      { return EventSpeakingStart }
func (*SpeakingStop) EventName() EventName       { return EventSpeakingStop }
func (*VoiceChannelSelect) EventName() EventName { return EventVoiceChannelSelect }
func (*GuildStatus) EventName() EventName        { return EventGuildStatus }
func (*MessageCreate) EventName() EventName      { return EventMessageCreate }
func (e *UnknownEvent) EventName() EventName     { return e.Name }

func (*Ready) isEvent()              {}
func (*Disconnected) isEvent()       {}
func (*ErrorEvent) isEvent()         {}
func (*VoiceStateCreate) isEvent()   {}
func (*VoiceStateUpdate) isEvent()   {}
func (*VoiceStateDelete) isEvent()   {}
func (*SpeakingStart) isEvent()      {}
func (*SpeakingStop) isEvent()       {}
func (*VoiceChannelSelect) isEvent() {}
func (*GuildStatus) isEvent()        {}
func (*MessageCreate) isEvent()      {}
func (*UnknownEvent) isEvent()       {}

// decodeDispatch turns a DISPATCH payload into its typed event. Data that does not decode
// gives an UnknownEvent carrying it, so nothing is lost.
func decodeDispatch(p payload) Event {
	var ev Event
	switch p.Evt {
	case EventVoiceStateCreate:
		ev = &VoiceStateCreate{}
	case EventVoiceStateUpdate:
		ev = &VoiceStateUpdate{}
	case EventVoiceStateDelete:
		ev = &VoiceStateDelete{}
	case EventSpeakingStart:
		ev = &SpeakingStart{}
	case EventSpeakingStop:
		ev = &SpeakingStop{}
	case EventVoiceChannelSelect:
		ev = &VoiceChannelSelect{}
	case EventGuildStatus:
		ev = &GuildStatus{}
	case EventMessageCreate:
		ev = &MessageCreate{}
	default:
		return &UnknownEvent{Name: p.Evt, Data: p.Data}
	}
	if len(p.Data) == 0 || json.Unmarshal(p.Data, ev) != nil {
		return &UnknownEvent{Name: p.Evt, Data: p.Data}
	}
	return ev
}
