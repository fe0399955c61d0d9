package dave

import (
	"errors"
	"strconv"

	"github.com/cordage/cordage/events/voice"
)

// Kinds of DAVE session failure, beside the frame kinds (ErrDecrypt, ErrReplay,
// ErrMissingGeneration, ErrNoKey). A [*SessionError] matches its kind with errors.Is, and also
// the MLS cause it wraps (mls.ErrBadSignature, an *mls.DecodeError, ...).
var (
	// ErrCommit: an announced commit (op 29) could not be used. The session has already sent
	// op 31 and a new key package.
	ErrCommit = errors.New("dave: invalid commit")
	// ErrWelcome: a welcome (op 30) could not be used. The session has already sent op 31 and a
	// new key package.
	ErrWelcome = errors.New("dave: invalid welcome")
	// ErrProposals: an op 27 was refused (a proposal that is not an external Add of a connected
	// user or Remove, a revoke of an unknown reference, or a proposal MLS rejects). Proposals of
	// that message are dropped and no commit is sent.
	ErrProposals = errors.New("dave: proposals refused")
	// ErrUnsupportedVersion: the voice server asked for a DAVE protocol version this package
	// does not speak.
	ErrUnsupportedVersion = errors.New("dave: unsupported protocol version")
)

// SessionError is a failure of the DAVE session state machine on one voice gateway message.
// It never carries key material: only the op, the transition id and the cause.
type SessionError struct {
	Kind         error    // ErrCommit, ErrWelcome, ErrProposals, ErrUnsupportedVersion, ErrNoKey
	Op           voice.Op // the message that failed; 0 when not tied to one
	TransitionID uint16
	Err          error // the underlying cause, may be nil
}

func (e *SessionError) Error() string {
	s := e.Kind.Error()
	if e.Op != 0 {
		s += " (op " + strconv.Itoa(int(e.Op)) + " " + e.Op.String()
		if e.Op == voice.OpDAVEMLSAnnounceCommit || e.Op == voice.OpDAVEMLSWelcome {
			s += ", transition " + strconv.Itoa(int(e.TransitionID))
		}
		s += ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the kind and the cause, so errors.Is and errors.As see both.
func (e *SessionError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// errNotReady is what Encrypt returns while DAVE is negotiated but this member has no sender
// key yet (before its first epoch, or after a reset). Allocated once: the send path calls
// Encrypt 50 times a second.
var errNotReady error = &SessionError{Kind: ErrNoKey, Err: errors.New("no sender key: not in an established group yet")}
