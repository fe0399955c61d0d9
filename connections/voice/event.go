package voice

import (
	"time"

	"github.com/cordage/cordage/events"
	vgw "github.com/cordage/cordage/events/voice"
)

// SpeakingFlags is the op 5 bitmask (microphone, soundshare, priority).
type SpeakingFlags = vgw.SpeakingFlags

// Speaking flags, re-exported from events/voice for convenience.
const (
	SpeakingMicrophone = vgw.SpeakingMicrophone
	SpeakingSoundshare = vgw.SpeakingSoundshare
	SpeakingPriority   = vgw.SpeakingPriority
)

// Packet is one received Opus frame, with transport and DAVE encryption removed. Opus is owned
// by the receiver. Packets arrive in the order the network delivered them; there is no jitter
// buffer, so use Seq and Timestamp to reorder or to detect loss.
type Packet struct {
	UserID    events.Snowflake
	SSRC      uint32
	Seq       uint16
	Timestamp uint32
	Opus      []byte
}

// Event is something that happened on a voice connection, other than audio: one of
// Connected, Reconnecting, SpeakingUpdate, UsersConnected, UserDisconnected, DAVEChanged.
type Event interface{ voiceEvent() }

// Connected says a voice session is up: after the first join, after each new session
// (Resumed false) and after each resume (Resumed true).
type Connected struct {
	Resumed             bool
	SSRC                uint32
	Mode                vgw.Mode
	DAVEProtocolVersion int
}

// Reconnecting says the voice session ended with Err and the connection will Action after
// Delay.
type Reconnecting struct {
	Err    error
	Action string // "resume", "identify", "rejoin", "wait for server update"
	Delay  time.Duration
}

// SpeakingUpdate is op 5 from the server: UserID speaks (or stopped, Flags 0) on SSRC. It is
// also how packets get their UserID.
type SpeakingUpdate struct {
	UserID events.Snowflake
	SSRC   uint32
	Flags  SpeakingFlags
}

// UsersConnected is op 11: these users are in the call.
type UsersConnected struct{ UserIDs []events.Snowflake }

// UserDisconnected is op 13: the user left the call.
type UserDisconnected struct{ UserID events.Snowflake }

// DAVEChanged says the DAVE protocol version or the MLS epoch changed: a group was formed or
// re-formed, a member was added or removed, or the call was downgraded to plain Opus
// (ProtocolVersion 0) or upgraded. PrivacyCode is the call's voice privacy code in the new
// epoch (empty while no group exists); show it to users who compare codes out of band.
type DAVEChanged struct {
	ProtocolVersion int
	PrivacyCode     string
}

func (DAVEChanged) voiceEvent()      {}
func (Connected) voiceEvent()        {}
func (Reconnecting) voiceEvent()     {}
func (SpeakingUpdate) voiceEvent()   {}
func (UsersConnected) voiceEvent()   {}
func (UserDisconnected) voiceEvent() {}

// Stats are a Conn's counters since it started.
type Stats struct {
	PacketsSent        uint64 // RTP packets written, silence included
	FramesDropped      uint64 // frames Send could not send (no session, encryption or write failure)
	PacketsReceived    uint64 // packets delivered on Packets
	PacketsDropped     uint64 // packets dropped because Packets was full
	PacketsUndecrypt   uint64 // datagrams that failed transport or DAVE decryption, or were malformed
	PacketsUnknownSSRC uint64 // packets from an SSRC no speaking event has mapped yet
	EventsDropped      uint64 // events dropped because Events was full
	Reconnects         uint64 // sessions after the first
	KeepAlivesSent     uint64 // UDP keepalives sent while no audio went out (one per 5 s)
}
