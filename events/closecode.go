package events

import "strconv"

// CloseCode is a websocket close code as the gateway uses it: Discord's own 4000–4014 and the
// standard 1000-range codes.
type CloseCode int

// Gateway close codes. See [ClosePolicyOf] for what a client does after each.
const (
	CloseNormal               CloseCode = 1000 // a deliberate end: the session cannot be resumed
	CloseGoingAway            CloseCode = 1001 // like 1000
	CloseAbnormal             CloseCode = 1006 // no close frame: the connection just dropped
	CloseUnknownError         CloseCode = 4000
	CloseUnknownOpcode        CloseCode = 4001
	CloseDecodeError          CloseCode = 4002
	CloseNotAuthenticated     CloseCode = 4003
	CloseAuthenticationFailed CloseCode = 4004
	CloseAlreadyAuthenticated CloseCode = 4005
	CloseInvalidSessionLegacy CloseCode = 4006 // undocumented; seen after a malformed Resume
	CloseInvalidSeq           CloseCode = 4007
	CloseRateLimited          CloseCode = 4008
	CloseSessionTimedOut      CloseCode = 4009
	CloseInvalidShard         CloseCode = 4010
	CloseShardingRequired     CloseCode = 4011
	CloseInvalidAPIVersion    CloseCode = 4012
	CloseInvalidIntents       CloseCode = 4013
	CloseDisallowedIntents    CloseCode = 4014
)

// ClosePolicy is what a client does after the gateway closed its connection with a code.
// The simulator reads the same table: after a close with PolicyResume the session stays
// resumable; after any other policy it is gone.
type ClosePolicy int

const (
	// PolicyResume: reconnect to the resume URL and resume the session.
	PolicyResume ClosePolicy = iota
	// PolicyNewSession: reconnect to the gateway URL and identify afresh.
	PolicyNewSession
	// PolicyReShard: the shard count is too low; fetch a new count and start over.
	PolicyReShard
	// PolicyFatal: no retry can succeed (bad token, bad shard, bad intents, bad version); stop.
	PolicyFatal
)

func (p ClosePolicy) String() string {
	switch p {
	case PolicyResume:
		return "resume"
	case PolicyNewSession:
		return "new-session"
	case PolicyReShard:
		return "re-shard"
	case PolicyFatal:
		return "fatal"
	}
	return "ClosePolicy(" + strconv.Itoa(int(p)) + ")"
}

// CloseCodeInfo describes one gateway close code.
type CloseCodeInfo struct {
	Code        CloseCode
	Name        string // Discord's name for the code, e.g. "Authentication failed"
	Cause       string // what makes the gateway send it
	Policy      ClosePolicy
	ClientError bool // the code points at a bug or a mistake on the client side
}

// CloseCodes is the table of every documented gateway close code (and 4006, seen in the wild),
// in code order. Both the runtime and the simulator use it.
//
// Two choices here go beyond the docs' "Reconnect" column, each explained in docs/protocol:
// 4009 resumes (a failed resume costs one round trip and ends in op 9, while an identify costs
// session budget), and 4003/4005/4006/4007 start a new session.
var CloseCodes = []CloseCodeInfo{
	{CloseUnknownError, "Unknown error", "the gateway is not sure what went wrong", PolicyResume, false},
	{CloseUnknownOpcode, "Unknown opcode", "an invalid opcode, or an invalid payload for an opcode", PolicyResume, true},
	{CloseDecodeError, "Decode error", "a payload that does not decode, or one over 4096 bytes", PolicyResume, true},
	{CloseNotAuthenticated, "Not authenticated", "a payload before Identify, or a session that was invalidated", PolicyNewSession, false},
	{CloseAuthenticationFailed, "Authentication failed", "the token in Identify is wrong", PolicyFatal, true},
	{CloseAlreadyAuthenticated, "Already authenticated", "a second Identify on one connection", PolicyNewSession, true},
	{CloseInvalidSessionLegacy, "Invalid session", "a malformed Resume (undocumented)", PolicyNewSession, true},
	{CloseInvalidSeq, "Invalid seq", "a Resume with a sequence number the session never had", PolicyNewSession, true},
	{CloseRateLimited, "Rate limited", "more than 120 sends in 60 seconds", PolicyResume, true},
	{CloseSessionTimedOut, "Session timed out", "no heartbeat before the deadline", PolicyResume, false},
	{CloseInvalidShard, "Invalid shard", "a shard id not below the shard count, or a count the bot may not use", PolicyFatal, true},
	{CloseShardingRequired, "Sharding required", "a shard would hold more than 2500 guilds", PolicyReShard, false},
	{CloseInvalidAPIVersion, "Invalid API version", "a gateway version Discord does not serve", PolicyFatal, true},
	{CloseInvalidIntents, "Invalid intent(s)", "an intent bit that does not exist", PolicyFatal, true},
	{CloseDisallowedIntents, "Disallowed intent(s)", "a privileged intent the bot has not been granted", PolicyFatal, true},
}

var closeIndex = func() map[CloseCode]*CloseCodeInfo {
	m := make(map[CloseCode]*CloseCodeInfo, len(CloseCodes))
	for i := range CloseCodes {
		m[CloseCodes[i].Code] = &CloseCodes[i]
	}
	return m
}()

// Info returns the table entry for c, if c is a gateway close code.
func (c CloseCode) Info() (CloseCodeInfo, bool) {
	if i, ok := closeIndex[c]; ok {
		return *i, true
	}
	return CloseCodeInfo{}, false
}

// String returns "4004 Authentication failed" style text, or just the number for other codes.
func (c CloseCode) String() string {
	if i, ok := closeIndex[c]; ok {
		return strconv.Itoa(int(c)) + " " + i.Name
	}
	switch c {
	case CloseNormal:
		return "1000 Normal closure"
	case CloseGoingAway:
		return "1001 Going away"
	case CloseAbnormal:
		return "1006 Abnormal closure"
	}
	return strconv.Itoa(int(c))
}

// Policy returns what a client does after the gateway closed with c.
//
// Codes outside the table resume: the docs list a connection dropped without a close code as a
// resume case, Discord has been seen to send 1000 for no reason, and a resume that cannot work
// is answered by op 9 with d=false, which then leads to a fresh identify.
func (c CloseCode) Policy() ClosePolicy {
	if i, ok := closeIndex[c]; ok {
		return i.Policy
	}
	return PolicyResume
}
