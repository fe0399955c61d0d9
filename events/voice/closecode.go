package voice

import (
	"errors"
	"strconv"
)

// CloseCode is a websocket close code as the voice gateway uses it: Discord's 4001–4022 and the
// standard 1000-range codes.
type CloseCode int

// Voice gateway close codes. See [CloseCode.Policy] for what a client does after each.
const (
	CloseNormal                CloseCode = 1000
	CloseGoingAway             CloseCode = 1001
	CloseAbnormal              CloseCode = 1006 // no close frame: the connection dropped
	CloseUnknownOpcode         CloseCode = 4001
	CloseDecodeError           CloseCode = 4002
	CloseNotAuthenticated      CloseCode = 4003
	CloseAuthenticationFailed  CloseCode = 4004
	CloseAlreadyAuthenticated  CloseCode = 4005
	CloseSessionInvalid        CloseCode = 4006
	CloseSessionTimeout        CloseCode = 4009
	CloseServerNotFound        CloseCode = 4011
	CloseUnknownProtocol       CloseCode = 4012
	CloseDisconnected          CloseCode = 4014
	CloseServerCrashed         CloseCode = 4015
	CloseUnknownEncryptionMode CloseCode = 4016
	CloseDAVERequired          CloseCode = 4017
	CloseBadRequest            CloseCode = 4020
	CloseRateLimited           CloseCode = 4021
	CloseCallTerminated        CloseCode = 4022
)

// ClosePolicy is what a client does after the voice gateway closed its connection with a code.
type ClosePolicy int

const (
	// PolicyResume: reconnect to the same endpoint and resume (op 7) with the last seq.
	PolicyResume ClosePolicy = iota
	// PolicyNewSession: reconnect and identify afresh (op 0); the old session is gone.
	PolicyNewSession
	// PolicyWaitServerUpdate: do not reconnect. The user was disconnected, moved, or the main
	// session dropped; a new voice session starts only if a new VOICE_SERVER_UPDATE arrives.
	PolicyWaitServerUpdate
	// PolicyFatal: no retry can succeed; stop and return a typed error.
	PolicyFatal
)

func (p ClosePolicy) String() string {
	switch p {
	case PolicyResume:
		return "resume"
	case PolicyNewSession:
		return "new-session"
	case PolicyWaitServerUpdate:
		return "wait-server-update"
	case PolicyFatal:
		return "fatal"
	}
	return "ClosePolicy(" + strconv.Itoa(int(p)) + ")"
}

// CloseCodeInfo describes one voice gateway close code.
type CloseCodeInfo struct {
	Code   CloseCode
	Name   string // Discord's name for the code
	Cause  string // what makes the voice gateway send it
	Policy ClosePolicy
	// Retries caps how many times in a row the policy may be applied for this code before the
	// client gives up with a typed error; 0 means the runtime's general cap. Codes that point at
	// a client bug get one fresh session, in case the bug was a state the session got into.
	Retries     int
	ClientError bool // the code points at a bug or a mistake on the client side
}

// CloseCodes is the table of every voice close code Discord documents, in code order. The
// runtime and the simulator both read it.
//
// The policies follow Discord's docs and what discord.js does; where the docs are silent (4001,
// 4002, 4020: our own bug) the client tries one new session, then stops.
var CloseCodes = []CloseCodeInfo{
	{CloseUnknownOpcode, "Unknown opcode", "an opcode the voice gateway does not accept", PolicyNewSession, 1, true},
	{CloseDecodeError, "Failed to decode payload", "a payload that does not decode", PolicyNewSession, 1, true},
	{CloseNotAuthenticated, "Not authenticated", "a payload before Identify", PolicyNewSession, 0, true},
	{CloseAuthenticationFailed, "Authentication failed", "a wrong voice token in Identify", PolicyNewSession, 3, true},
	{CloseAlreadyAuthenticated, "Already authenticated", "a second Identify on one connection", PolicyNewSession, 0, true},
	{CloseSessionInvalid, "Session no longer valid", "the voice session expired or was replaced", PolicyNewSession, 0, false},
	{CloseSessionTimeout, "Session timeout", "no heartbeat in time", PolicyNewSession, 0, false},
	{CloseServerNotFound, "Server not found", "the voice server for this guild could not be found", PolicyFatal, 0, false},
	{CloseUnknownProtocol, "Unknown protocol", "a protocol in Select Protocol other than udp", PolicyFatal, 0, true},
	{CloseDisconnected, "Disconnected", "kicked, moved, channel deleted, or the main session dropped", PolicyWaitServerUpdate, 0, false},
	{CloseServerCrashed, "Voice server crashed", "the voice server went down", PolicyResume, 0, false},
	{CloseUnknownEncryptionMode, "Unknown encryption mode", "a mode in Select Protocol the server does not offer", PolicyFatal, 0, true},
	{CloseDAVERequired, "E2EE/DAVE protocol required", "identify without max_dave_protocol_version on a call that requires DAVE", PolicyFatal, 0, true},
	{CloseBadRequest, "Bad request", "a malformed request", PolicyNewSession, 1, true},
	{CloseRateLimited, "Disconnected: rate limited", "too many requests", PolicyFatal, 0, true},
	{CloseCallTerminated, "Disconnected: call terminated", "the call ended (channel deleted, guild unavailable)", PolicyFatal, 0, false},
}

var closeIndex = func() map[CloseCode]*CloseCodeInfo {
	m := make(map[CloseCode]*CloseCodeInfo, len(CloseCodes))
	for i := range CloseCodes {
		m[CloseCodes[i].Code] = &CloseCodes[i]
	}
	return m
}()

// Info returns the table entry for c, if c is a voice close code.
func (c CloseCode) Info() (CloseCodeInfo, bool) {
	if i, ok := closeIndex[c]; ok {
		return *i, true
	}
	return CloseCodeInfo{}, false
}

// String returns "4017 E2EE/DAVE protocol required" style text, or the number for other codes.
func (c CloseCode) String() string {
	if i, ok := closeIndex[c]; ok {
		return strconv.Itoa(int(c)) + " " + i.Name
	}
	return strconv.Itoa(int(c))
}

// Policy returns what a client does after the voice gateway closed with c. Codes outside the
// table (1000-range, a dropped connection, codes Discord adds later) resume: a resume that cannot
// work is answered with a close the table does cover.
func (c CloseCode) Policy() ClosePolicy {
	if i, ok := closeIndex[c]; ok {
		return i.Policy
	}
	return PolicyResume
}

// ErrDAVERequired matches a [*CloseError] with code 4017: the call requires end-to-end
// encryption and the client did not offer it.
var ErrDAVERequired = errors.New("voice: E2EE/DAVE protocol required")

// ErrClosedFatal matches any [*CloseError] whose code has [PolicyFatal].
var ErrClosedFatal = errors.New("voice: closed with a code no retry can fix")

// CloseError is the error a voice connection ends with after a close it cannot recover from.
type CloseError struct {
	Code   CloseCode
	Reason string // the close frame's reason text, as the server sent it
}

func (e *CloseError) Error() string {
	s := "voice: closed with " + e.Code.String()
	if e.Reason != "" {
		s += ": " + strconv.Quote(e.Reason)
	}
	return s
}

// Is makes errors.Is(err, ErrDAVERequired) and errors.Is(err, ErrClosedFatal) work.
func (e *CloseError) Is(target error) bool {
	switch target {
	case ErrDAVERequired:
		return e.Code == CloseDAVERequired
	case ErrClosedFatal:
		return e.Code.Policy() == PolicyFatal
	}
	return false
}

// CloseCodeOf returns the close code inside err, if err wraps a [*CloseError].
func CloseCodeOf(err error) (CloseCode, bool) {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code, true
	}
	return 0, false
}
