package voice

import (
	"errors"
	"strconv"
)

// ErrMalformed matches every [*MalformedError].
var ErrMalformed = errors.New("malformed message")

// MalformedError reports binary input that a decoder could not read. It names the decoder and
// the byte offset (from the start of the decoder's input) where reading stopped. It never holds
// the input itself, so it is safe to log whatever the input carried.
type MalformedError struct {
	Decoder string // e.g. "voice.ParseServerBinary", "rtp.ParseHeader"
	Offset  int
	Reason  string
}

func (e *MalformedError) Error() string {
	return e.Decoder + ": malformed at offset " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// Is makes errors.Is(err, ErrMalformed) true.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

// Malformed builds a [*MalformedError]. Decoders in other voice packages use it too, so one
// errors.As covers them all.
func Malformed(decoder string, offset int, reason string) error {
	return &MalformedError{Decoder: decoder, Offset: offset, Reason: reason}
}
