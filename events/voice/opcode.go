package voice

import "strconv"

// Op is a voice gateway opcode: the "op" field of a JSON message, or the opcode byte of a binary
// DAVE message.
type Op int

// Voice gateway opcodes (v8). Ops 12, 14–16, 18 and 20 are sent by Discord but not documented;
// they have names here so that logs read well, and a client ignores them.
const (
	OpIdentify                    Op = 0  // send: start a voice session
	OpSelectProtocol              Op = 1  // send: the UDP address found by IP discovery, and the mode
	OpReady                       Op = 2  // receive: ssrc, UDP address, offered modes
	OpHeartbeat                   Op = 3  // send: keep-alive carrying seq_ack
	OpSessionDescription          Op = 4  // receive: the mode, the transport key, the DAVE version
	OpSpeaking                    Op = 5  // send and receive: speaking flags; maps SSRC to user
	OpHeartbeatACK                Op = 6  // receive: echo of a heartbeat
	OpResume                      Op = 7  // send: resume a session
	OpHello                       Op = 8  // receive: first message, carries the heartbeat interval
	OpResumed                     Op = 9  // receive: the resume worked; missed messages follow
	OpClientsConnect              Op = 11 // receive: users that joined the call
	OpVideo                       Op = 12 // receive: undocumented (video state)
	OpClientDisconnect            Op = 13 // receive: a user left the call
	OpCodecs                      Op = 14 // receive: undocumented
	OpMediaSinkWants              Op = 15 // receive: undocumented
	OpVoiceBackendVersion         Op = 16 // receive: undocumented
	OpClientFlags                 Op = 18 // receive: undocumented
	OpClientPlatform              Op = 20 // receive: undocumented
	OpDAVEPrepareTransition       Op = 21 // receive, JSON: a protocol transition is coming
	OpDAVEExecuteTransition       Op = 22 // receive, JSON: switch to the prepared transition
	OpDAVEReadyForTransition      Op = 23 // send, JSON: this client is ready for a transition
	OpDAVEPrepareEpoch            Op = 24 // receive, JSON: a new MLS epoch (1 = new group)
	OpDAVEMLSExternalSender       Op = 25 // receive, binary: the external sender's credential and key
	OpDAVEMLSKeyPackage           Op = 26 // send, binary: this client's MLS KeyPackage
	OpDAVEMLSProposals            Op = 27 // receive, binary: proposals to append or revoke
	OpDAVEMLSCommitWelcome        Op = 28 // send, binary: a commit and an optional welcome
	OpDAVEMLSAnnounceCommit       Op = 29 // receive, binary: the winning commit for a transition
	OpDAVEMLSWelcome              Op = 30 // receive, binary: a welcome into the group
	OpDAVEMLSInvalidCommitWelcome Op = 31 // send, JSON: the commit or welcome could not be used
)

var opNames = map[Op]string{
	OpIdentify:                    "Identify",
	OpSelectProtocol:              "SelectProtocol",
	OpReady:                       "Ready",
	OpHeartbeat:                   "Heartbeat",
	OpSessionDescription:          "SessionDescription",
	OpSpeaking:                    "Speaking",
	OpHeartbeatACK:                "HeartbeatACK",
	OpResume:                      "Resume",
	OpHello:                       "Hello",
	OpResumed:                     "Resumed",
	OpClientsConnect:              "ClientsConnect",
	OpVideo:                       "Video",
	OpClientDisconnect:            "ClientDisconnect",
	OpCodecs:                      "Codecs",
	OpMediaSinkWants:              "MediaSinkWants",
	OpVoiceBackendVersion:         "VoiceBackendVersion",
	OpClientFlags:                 "ClientFlags",
	OpClientPlatform:              "ClientPlatform",
	OpDAVEPrepareTransition:       "DAVEPrepareTransition",
	OpDAVEExecuteTransition:       "DAVEExecuteTransition",
	OpDAVEReadyForTransition:      "DAVEReadyForTransition",
	OpDAVEPrepareEpoch:            "DAVEPrepareEpoch",
	OpDAVEMLSExternalSender:       "DAVEMLSExternalSender",
	OpDAVEMLSKeyPackage:           "DAVEMLSKeyPackage",
	OpDAVEMLSProposals:            "DAVEMLSProposals",
	OpDAVEMLSCommitWelcome:        "DAVEMLSCommitWelcome",
	OpDAVEMLSAnnounceCommit:       "DAVEMLSAnnounceCommit",
	OpDAVEMLSWelcome:              "DAVEMLSWelcome",
	OpDAVEMLSInvalidCommitWelcome: "DAVEMLSInvalidCommitWelcome",
}

// String returns the opcode's name, or "Op(N)" for an opcode with no name.
func (o Op) String() string {
	if n, ok := opNames[o]; ok {
		return n
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// Known reports whether o has a name here (documented, or seen and named).
func (o Op) Known() bool {
	_, ok := opNames[o]
	return ok
}

// Documented reports whether o is in Discord's voice opcode table; a client acts on these and
// ignores the rest.
func (o Op) Documented() bool {
	switch o {
	case OpVideo, OpCodecs, OpMediaSinkWants, OpVoiceBackendVersion, OpClientFlags, OpClientPlatform:
		return false
	}
	return o.Known()
}

// Binary reports whether o travels as a binary websocket message (DAVE MLS ops 25–30). All other
// ops are JSON.
func (o Op) Binary() bool { return o >= OpDAVEMLSExternalSender && o <= OpDAVEMLSWelcome }

// ClientSends reports whether a client sends o to the voice gateway.
func (o Op) ClientSends() bool {
	switch o {
	case OpIdentify, OpSelectProtocol, OpHeartbeat, OpSpeaking, OpResume,
		OpDAVEReadyForTransition, OpDAVEMLSKeyPackage, OpDAVEMLSCommitWelcome,
		OpDAVEMLSInvalidCommitWelcome:
		return true
	}
	return false
}

// ServerSends reports whether the voice gateway sends o to a client.
func (o Op) ServerSends() bool {
	switch o {
	case OpIdentify, OpSelectProtocol, OpHeartbeat, OpResume, OpDAVEReadyForTransition,
		OpDAVEMLSKeyPackage, OpDAVEMLSCommitWelcome, OpDAVEMLSInvalidCommitWelcome:
		return false
	}
	return o.Known()
}
