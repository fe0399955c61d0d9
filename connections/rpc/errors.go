package rpc

import (
	"errors"
	"fmt"
	"strconv"
)

var (
	// ErrClosed is returned by calls made after Close, or after the client stopped for good.
	ErrClosed = errors.New("rpc: client closed")
	// ErrInvalidOption wraps every error Dial returns for a bad option or client id.
	ErrInvalidOption = errors.New("rpc: invalid option")
	// ErrInvalidArgument wraps every error a command returns before it is sent, for arguments
	// that the app would reject anyway (a subscription without its channel id, three buttons).
	ErrInvalidArgument = errors.New("rpc: invalid argument")
	// ErrNoDiscord is returned when no endpoint answered: the desktop app is not running, or
	// runs as another user, or its sockets are somewhere the client was not told to look.
	ErrNoDiscord = errors.New("rpc: no discord app answered")
	// ErrConnectionLost is returned by a command whose connection dropped before its answer
	// arrived. The command may or may not have run; the client does not resend it.
	ErrConnectionLost = errors.New("rpc: connection lost before the answer arrived")
	// ErrBadPayload is returned for a frame that is not an RPC payload (not a JSON object with a
	// "cmd" string).
	ErrBadPayload = errors.New("rpc: malformed payload")
	// ErrGaveUp is the client's final error when WithMaxReconnects attempts in a row failed.
	ErrGaveUp = errors.New("rpc: gave up reconnecting")
)

// ErrorCode is the code of an RPC ERROR payload: the app's answer to a command it refused.
type ErrorCode int

// RPC error codes, as the desktop app sends them in {"evt":"ERROR","data":{"code":…}}.
const (
	CodeUnknownError                    ErrorCode = 1000 // something went wrong in the app
	CodeInvalidPayload                  ErrorCode = 4000 // the payload or its args did not make sense
	CodeInvalidCommand                  ErrorCode = 4002 // no such command
	CodeInvalidGuild                    ErrorCode = 4003 // no such guild, or not visible to the user
	CodeInvalidEvent                    ErrorCode = 4004 // no such event to (un)subscribe
	CodeInvalidChannel                  ErrorCode = 4005 // no such channel, or not visible to the user
	CodeInvalidPermissions              ErrorCode = 4006 // not authenticated, or the token lacks the scope
	CodeInvalidClientID                 ErrorCode = 4007 // AUTHORIZE/AUTHENTICATE named another application
	CodeInvalidOrigin                   ErrorCode = 4008 // the application does not allow this origin
	CodeInvalidToken                    ErrorCode = 4009 // AUTHENTICATE with an unknown or expired token
	CodeInvalidUser                     ErrorCode = 4010 // no such user
	CodeOAuth2Error                     ErrorCode = 5000 // the authorization failed (e.g. the user declined)
	CodeSelectChannelTimedOut           ErrorCode = 5001 // SELECT_VOICE_CHANNEL with a timeout ran out
	CodeGetGuildTimedOut                ErrorCode = 5002 // GET_GUILD with a timeout ran out
	CodeSelectVoiceForceRequired        ErrorCode = 5003 // the user is in another voice channel: ask, then force
	CodeCaptureShortcutAlreadyListening ErrorCode = 5004
)

var errorCodeNames = map[ErrorCode]string{
	CodeUnknownError:                    "unknown error",
	CodeInvalidPayload:                  "invalid payload",
	CodeInvalidCommand:                  "invalid command",
	CodeInvalidGuild:                    "invalid guild",
	CodeInvalidEvent:                    "invalid event",
	CodeInvalidChannel:                  "invalid channel",
	CodeInvalidPermissions:              "invalid permissions",
	CodeInvalidClientID:                 "invalid client id",
	CodeInvalidOrigin:                   "invalid origin",
	CodeInvalidToken:                    "invalid token",
	CodeInvalidUser:                     "invalid user",
	CodeOAuth2Error:                     "oauth2 error",
	CodeSelectChannelTimedOut:           "select channel timed out",
	CodeGetGuildTimedOut:                "get guild timed out",
	CodeSelectVoiceForceRequired:        "select voice force required",
	CodeCaptureShortcutAlreadyListening: "capture shortcut already listening",
}

func (c ErrorCode) String() string {
	if n, ok := errorCodeNames[c]; ok {
		return n
	}
	return "ErrorCode(" + strconv.Itoa(int(c)) + ")"
}

// Error is an RPC ERROR payload: the app refused a command. Compare codes with ErrorCodeOf or
// errors.Is(err, &rpc.Error{Code: rpc.CodeInvalidToken}).
type Error struct {
	Cmd     string    // the command that was refused, e.g. "AUTHENTICATE"; empty for an unsolicited error
	Code    ErrorCode // the app's code
	Message string    // the app's description
}

func (e *Error) Error() string {
	if e.Cmd == "" {
		return fmt.Sprintf("rpc: error %d (%v): %s", int(e.Code), e.Code, e.Message)
	}
	return fmt.Sprintf("rpc: %s refused: %d (%v): %s", e.Cmd, int(e.Code), e.Code, e.Message)
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// ErrorCodeOf returns the RPC error code in err's chain, or 0 if there is none.
func ErrorCodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// CloseCode is why the app closed a connection: a websocket close code, or the code in an IPC
// close frame (the app uses the same numbers on both transports).
type CloseCode int

// Close codes.
const (
	CloseNormal          CloseCode = 1000 // a deliberate close (the app is quitting)
	CloseUnsupported     CloseCode = 1003 // the first IPC frame was not a handshake
	CloseAbnormal        CloseCode = 1006 // no close frame: the socket just dropped (the app crashed or restarted)
	CloseInvalidClientID CloseCode = 4000 // the client id is not a known application
	CloseInvalidOrigin   CloseCode = 4001 // websocket only: the Origin header is not one the application allows
	CloseRateLimited     CloseCode = 4002 // too many connections; reconnecting later works
	CloseTokenRevoked    CloseCode = 4003 // the OAuth2 token this connection authenticated with was revoked
	CloseInvalidVersion  CloseCode = 4004 // the RPC version asked for is not 1
	CloseInvalidEncoding CloseCode = 4005 // websocket only: the encoding asked for is not supported
)

var closeCodeNames = map[CloseCode]string{
	CloseNormal:          "normal",
	CloseUnsupported:     "unsupported",
	CloseAbnormal:        "abnormal",
	CloseInvalidClientID: "invalid client id",
	CloseInvalidOrigin:   "invalid origin",
	CloseRateLimited:     "rate limited",
	CloseTokenRevoked:    "token revoked",
	CloseInvalidVersion:  "invalid version",
	CloseInvalidEncoding: "invalid encoding",
}

func (c CloseCode) String() string {
	if n, ok := closeCodeNames[c]; ok {
		return n
	}
	return "CloseCode(" + strconv.Itoa(int(c)) + ")"
}

// Fatal reports whether no reconnect can fix the cause: the client id, origin, version or
// encoding is wrong, or the token was revoked (a new one needs the user, through Login). The
// client stops on a fatal code; on any other code it reconnects.
func (c CloseCode) Fatal() bool {
	switch c {
	case CloseInvalidClientID, CloseInvalidOrigin, CloseTokenRevoked, CloseInvalidVersion, CloseInvalidEncoding, CloseUnsupported:
		return true
	}
	return false
}

// CloseError is a connection the app closed with a code.
type CloseError struct {
	Code      CloseCode
	Reason    string // the app's text: the websocket close reason, or the IPC close frame's message
	Transport Transport
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("rpc: %v connection closed: %d (%v): %s", e.Transport, int(e.Code), e.Code, e.Reason)
}

// Fatal reports whether the code is one no reconnect can fix; see CloseCode.Fatal.
func (e *CloseError) Fatal() bool { return e.Code.Fatal() }

// CloseCodeOf returns the close code in err's chain, or -1 if there is none.
func CloseCodeOf(err error) CloseCode {
	var e *CloseError
	if errors.As(err, &e) {
		return e.Code
	}
	return -1
}
