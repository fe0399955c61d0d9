package voice

import (
	vgw "github.com/cordage/cordage/events/voice"
)

// outMsg is something the DAVE session wants written on the voice websocket: a binary MLS
// message (framed with voice.AppendClientBinary) or a JSON payload.
type outMsg struct {
	Op     vgw.Op
	Binary []byte
	JSON   any
}

// e2ee is the DAVE session as the runtime drives it. Implementations must be safe for
// concurrent use: the session goroutine feeds it protocol messages while Send encrypts and the
// UDP reader decrypts.
type e2ee interface {
	SetProtocolVersion(v int) ([]outMsg, error)
	ClientsConnect(ids []uint64)
	ClientDisconnect(id uint64)
	HandleJSON(op vgw.Op, d []byte) ([]outMsg, error)
	HandleBinary(m vgw.BinaryMessage) ([]outMsg, error)
	Encrypt(dst, opus []byte) ([]byte, error)
	Decrypt(userID uint64, dst, frame []byte) ([]byte, error)
	ProtocolVersion() int
}

// e2eeConfig is what a DAVE session is made from.
type e2eeConfig struct {
	UserID, ChannelID uint64
	conn              *Conn
}

// newE2EE makes the DAVE session for one voice session; nil when this build has none.
var newE2EE func(e2eeConfig) (e2ee, error)
