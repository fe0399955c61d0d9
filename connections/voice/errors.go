package voice

import (
	"encoding/json"
	"errors"
	"fmt"

	vgw "github.com/cordage/cordage/events/voice"
)

// Conditions a voice connection reports. Close codes come as *voice.CloseError from
// events/voice (errors.As), malformed server messages as *voice.MalformedError.
var (
	// ErrClosed: the Conn or Manager was closed.
	ErrClosed = errors.New("voice: closed")
	// ErrJoinTimeout: Discord did not send both VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE in
	// time. A full channel (user limit) looks exactly like this: Discord sends nothing.
	ErrJoinTimeout = errors.New("voice: join timed out waiting for the voice state and server")
	// ErrConnectTimeout: the voice websocket did not reach a session description in time.
	ErrConnectTimeout = errors.New("voice: timed out connecting to the voice server")
	// ErrDiscoveryTimeout: the voice server never answered UDP IP discovery.
	ErrDiscoveryTimeout = errors.New("voice: UDP IP discovery timed out")
	// ErrNoMode: the voice server offered no encryption mode this client supports.
	ErrNoMode = errors.New("voice: no supported encryption mode offered")
	// ErrDisconnected: the bot was removed from the voice channel (kicked, channel deleted, or
	// the main session dropped) and no new voice server came.
	ErrDisconnected = errors.New("voice: disconnected from the voice channel")
	// ErrDAVEUnavailable: the server negotiated DAVE although Config.DisableDAVE is set.
	ErrDAVEUnavailable = errors.New("voice: server negotiated DAVE but DAVE is disabled")
	// ErrSendBusy: Send was called while another Send runs on the same Conn.
	ErrSendBusy = errors.New("voice: another Send is running")
	// ErrUnknownUser: the bot's user id was not known within JoinTimeout (set Config.UserID, or
	// pass the READY dispatch to Manager.Handle).
	ErrUnknownUser = errors.New("voice: bot user id unknown")
	// ErrAlreadyJoined: the Manager already has a connection in that guild.
	ErrAlreadyJoined = errors.New("voice: already joined in this guild")
	// ErrHeartbeatTimeout: the voice server did not acknowledge a heartbeat within one interval.
	ErrHeartbeatTimeout = errors.New("voice: heartbeat not acknowledged")
	// ErrFrameDuration: an Ogg/Opus packet does not hold exactly 20 ms of audio.
	ErrFrameDuration = errors.New("voice: Opus packet is not 20 ms")
)

// RetryError is how a connection ends when it kept failing: the same policy was applied
// Attempts times in a row without reaching a working session. Last is the final failure (often a
// *voice.CloseError, reachable with errors.As).
type RetryError struct {
	Attempts int
	Last     error
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("voice: gave up after %d attempts: %v", e.Attempts, e.Last)
}

func (e *RetryError) Unwrap() error { return e.Last }

// malformedJSON turns a JSON decoding failure of a server message into a *voice.MalformedError
// naming the decoder and, where encoding/json knows it, the offset. The input never enters the
// error, so a token or key in it cannot leak.
func malformedJSON(decoder string, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return vgw.Malformed(decoder, int(syn.Offset), "invalid JSON")
	case errors.As(err, &typ):
		return vgw.Malformed(decoder, int(typ.Offset), "field "+typ.Field+" has the wrong type")
	default:
		return vgw.Malformed(decoder, 0, "undecodable JSON")
	}
}
