package voice

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/cordage/cordage/events"
)

// DAVEProtocolVersion is the highest DAVE protocol version this vocabulary describes; a client
// sends it as max_dave_protocol_version.
const DAVEProtocolVersion = 1

// Token is a voice session token. It prints as "[redacted]" under every fmt verb, so an Identify
// or Resume can be logged or wrapped in an error without leaking it.
type Token string

func (Token) String() string   { return "[redacted]" }
func (Token) GoString() string { return `"[redacted]"` }

// Identify (op 0) starts a voice session.
type Identify struct {
	ServerID               events.Snowflake `json:"server_id"`
	UserID                 events.Snowflake `json:"user_id"`
	SessionID              string           `json:"session_id"`
	Token                  Token            `json:"token"`
	MaxDAVEProtocolVersion int              `json:"max_dave_protocol_version"`
}

// SelectProtocol (op 1) tells the voice server our external UDP address and the chosen mode.
type SelectProtocol struct {
	Protocol string             `json:"protocol"` // always "udp"
	Data     SelectProtocolData `json:"data"`
}

// SelectProtocolData is the "data" object of [SelectProtocol].
type SelectProtocolData struct {
	Address string `json:"address"`
	Port    uint16 `json:"port"`
	Mode    Mode   `json:"mode"`
}

// Ready (op 2) gives the client its SSRC, the voice server's UDP address and the offered modes.
// Its heartbeat_interval is ignored: Hello's is the one that counts.
type Ready struct {
	SSRC  uint32 `json:"ssrc"`
	IP    string `json:"ip"`
	Port  uint16 `json:"port"`
	Modes []Mode `json:"modes"`
}

// Heartbeat (op 3), v8 form: a nonce (milliseconds) and the last seq seen, or -1.
type Heartbeat struct {
	T      int64 `json:"t"`
	SeqAck int64 `json:"seq_ack"`
}

// HeartbeatACK (op 6) echoes the heartbeat's nonce.
type HeartbeatACK struct {
	T int64 `json:"t"`
}

// SessionDescription (op 4) carries the transport key and the negotiated DAVE version. Other
// fields Discord sends (codecs, media session id) are ignored.
type SessionDescription struct {
	Mode                Mode      `json:"mode"`
	SecretKey           SecretKey `json:"secret_key"`
	DAVEProtocolVersion int       `json:"dave_protocol_version"`
}

// SecretKey is the 32-byte transport key, sent as a JSON array of 32 integers. It prints as
// "[redacted]".
type SecretKey [32]byte

func (SecretKey) String() string   { return "[redacted]" }
func (SecretKey) GoString() string { return "voice.SecretKey{[redacted]}" }

// MarshalJSON writes the key as an array of numbers, as Discord does.
func (k SecretKey) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 32*4+2)
	b = append(b, '[')
	for i, v := range k {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	return append(b, ']'), nil
}

var errSecretKey = errors.New("voice: secret_key must be an array of 32 integers 0-255")

// UnmarshalJSON accepts exactly 32 integers in 0..255; anything else is an error, so a short key
// never silently becomes a zero-padded one.
func (k *SecretKey) UnmarshalJSON(b []byte) error {
	var v []int
	if err := json.Unmarshal(b, &v); err != nil || len(v) != len(k) {
		return errSecretKey
	}
	for i, x := range v {
		if x < 0 || x > 255 {
			return errSecretKey
		}
		k[i] = byte(x)
	}
	return nil
}

// SpeakingFlags is the bitmask of op 5. A client must send a non-zero value before audio.
type SpeakingFlags int

// Speaking flags.
const (
	SpeakingMicrophone SpeakingFlags = 1 << 0 // normal audio
	SpeakingSoundshare SpeakingFlags = 1 << 1 // audio from a shared screen or app; no indicator
	SpeakingPriority   SpeakingFlags = 1 << 2 // priority speaker: lowers others' volume
)

// Speaking (op 5). The client sends Speaking, Delay (0) and SSRC; the server adds UserID, which
// is how a receiver maps an SSRC to a user.
type Speaking struct {
	Speaking SpeakingFlags    `json:"speaking"`
	Delay    int              `json:"delay"`
	SSRC     uint32           `json:"ssrc"`
	UserID   events.Snowflake `json:"user_id,omitempty"`
}

// Resume (op 7) resumes a session after a dropped connection.
type Resume struct {
	ServerID  events.Snowflake `json:"server_id"`
	SessionID string           `json:"session_id"`
	Token     Token            `json:"token"`
	SeqAck    int64            `json:"seq_ack"`
}

// Hello (op 8) is the first message on a voice connection.
type Hello struct {
	V                 int     `json:"v"`
	HeartbeatInterval float64 `json:"heartbeat_interval"` // milliseconds, may be fractional
}

// ClientsConnect (op 11) lists users that are in the call; DAVE uses it as the set of users a
// proposal may add.
type ClientsConnect struct {
	UserIDs []events.Snowflake `json:"user_ids"`
}

// ClientDisconnect (op 13) says a user left the call.
type ClientDisconnect struct {
	UserID events.Snowflake `json:"user_id"`
}

// DAVEPrepareTransition (op 21) announces a protocol transition. ProtocolVersion 0 is a downgrade
// to unencrypted media; TransitionID 0 means execute at once.
type DAVEPrepareTransition struct {
	ProtocolVersion int    `json:"protocol_version"`
	TransitionID    uint16 `json:"transition_id"`
}

// DAVEExecuteTransition (op 22) tells senders to switch to the prepared state.
type DAVEExecuteTransition struct {
	TransitionID uint16 `json:"transition_id"`
}

// DAVEReadyForTransition (op 23) says this client is ready for the transition.
type DAVEReadyForTransition struct {
	TransitionID uint16 `json:"transition_id"`
}

// DAVEPrepareEpoch (op 24) announces a new MLS epoch; Epoch 1 means a new group.
type DAVEPrepareEpoch struct {
	ProtocolVersion int    `json:"protocol_version"`
	Epoch           uint64 `json:"epoch"`
	TransitionID    uint16 `json:"transition_id"`
}

// DAVEInvalidCommitWelcome (op 31) says the announced commit or the welcome could not be used;
// the client then resets and sends a new key package.
type DAVEInvalidCommitWelcome struct {
	TransitionID uint16 `json:"transition_id"`
}
