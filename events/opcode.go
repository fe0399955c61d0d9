package events

import "strconv"

// Op is a gateway opcode, the "op" field of every frame.
type Op int

// Gateway opcodes (Discord API v10).
const (
	OpDispatch                Op = 0  // receive: an event, with "t" and "s"
	OpHeartbeat               Op = 1  // send and receive: keep-alive, or a request for one
	OpIdentify                Op = 2  // send: start a new session
	OpPresenceUpdate          Op = 3  // send: update the bot's presence
	OpVoiceStateUpdate        Op = 4  // send: join, move or leave a voice channel
	OpResume                  Op = 6  // send: resume a session and replay missed events
	OpReconnect               Op = 7  // receive: reconnect and resume
	OpRequestGuildMembers     Op = 8  // send: ask for GUILD_MEMBERS_CHUNK dispatches
	OpInvalidSession          Op = 9  // receive: the session is invalid; "d" says if it may resume
	OpHello                   Op = 10 // receive: first frame, carries the heartbeat interval
	OpHeartbeatACK            Op = 11 // receive: answer to a heartbeat
	OpRequestSoundboardSounds Op = 31 // send: ask for SOUNDBOARD_SOUNDS dispatches
	OpRequestChannelInfo      Op = 43 // send: ask for a CHANNEL_INFO dispatch
)

var opNames = map[Op]string{
	OpDispatch:                "Dispatch",
	OpHeartbeat:               "Heartbeat",
	OpIdentify:                "Identify",
	OpPresenceUpdate:          "PresenceUpdate",
	OpVoiceStateUpdate:        "VoiceStateUpdate",
	OpResume:                  "Resume",
	OpReconnect:               "Reconnect",
	OpRequestGuildMembers:     "RequestGuildMembers",
	OpInvalidSession:          "InvalidSession",
	OpHello:                   "Hello",
	OpHeartbeatACK:            "HeartbeatACK",
	OpRequestSoundboardSounds: "RequestSoundboardSounds",
	OpRequestChannelInfo:      "RequestChannelInfo",
}

// String returns the opcode's name, or "Op(N)" for an opcode Discord does not document.
func (o Op) String() string {
	if n, ok := opNames[o]; ok {
		return n
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// Known reports whether o is a documented gateway opcode.
func (o Op) Known() bool {
	_, ok := opNames[o]
	return ok
}

// ClientSends reports whether a client may send o to the gateway.
func (o Op) ClientSends() bool {
	switch o {
	case OpHeartbeat, OpIdentify, OpPresenceUpdate, OpVoiceStateUpdate, OpResume,
		OpRequestGuildMembers, OpRequestSoundboardSounds, OpRequestChannelInfo:
		return true
	}
	return false
}
