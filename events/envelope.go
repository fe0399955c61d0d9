package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Envelope is the frame every gateway message travels in, in both directions:
// {"op": …, "d": …, "s": …, "t": …}. D is kept as raw JSON so that unknown events pass
// through untouched and only what someone reads gets decoded.
type Envelope struct {
	Op Op              `json:"op"`
	D  json.RawMessage `json:"d"`
	// S is the sequence number of a dispatch; 0 means none (sequences start at 1).
	S int64 `json:"s"`
	// T is the event name of a dispatch, e.g. "MESSAGE_CREATE"; empty for other opcodes.
	T string `json:"t"`
}

// ErrNotEnvelope is returned when a frame is not a JSON object with an integer "op".
var ErrNotEnvelope = errors.New("events: frame is not a gateway envelope")

type wireEnvelope struct {
	Op *int            `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s"`
	T  *string         `json:"t"`
}

// UnmarshalJSON decodes a frame. A missing or non-integer "op" is an error wrapping
// ErrNotEnvelope; a null "s" or "t" becomes the zero value.
func (e *Envelope) UnmarshalJSON(b []byte) error {
	var w wireEnvelope
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("%w: %v", ErrNotEnvelope, err)
	}
	if w.Op == nil {
		return fmt.Errorf("%w: no op", ErrNotEnvelope)
	}
	*e = Envelope{Op: Op(*w.Op), D: w.D}
	if string(e.D) == "null" {
		e.D = nil
	}
	if w.S != nil {
		e.S = *w.S
	}
	if w.T != nil {
		e.T = *w.T
	}
	return nil
}

// MarshalJSON encodes the frame as Discord does: "s" and "t" are null unless set, and a nil D
// is null.
func (e Envelope) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(make([]byte, 0, 32+len(e.D)+len(e.T))), nil
}

// AppendJSON appends the encoded frame to buf. D must already be valid JSON (or nil).
func (e Envelope) AppendJSON(buf []byte) []byte {
	buf = append(buf, `{"op":`...)
	buf = strconv.AppendInt(buf, int64(e.Op), 10)
	buf = append(buf, `,"d":`...)
	if len(e.D) == 0 {
		buf = append(buf, "null"...)
	} else {
		buf = append(buf, e.D...)
	}
	buf = append(buf, `,"s":`...)
	if e.S == 0 {
		buf = append(buf, "null"...)
	} else {
		buf = strconv.AppendInt(buf, e.S, 10)
	}
	buf = append(buf, `,"t":`...)
	if e.T == "" {
		buf = append(buf, "null"...)
	} else {
		buf = appendJSONString(buf, e.T)
	}
	return append(buf, '}')
}

// NewEnvelope encodes d and wraps it in an envelope with opcode op.
func NewEnvelope(op Op, d any) (Envelope, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return Envelope{}, fmt.Errorf("events: encode %v payload: %w", op, err)
	}
	return Envelope{Op: op, D: raw}, nil
}

// Decode decodes the envelope's data into v.
func (e Envelope) Decode(v any) error {
	if len(e.D) == 0 {
		return fmt.Errorf("events: %v %s has no data", e.Op, e.T)
	}
	if err := json.Unmarshal(e.D, v); err != nil {
		if e.T != "" {
			return fmt.Errorf("events: decode %s: %w", e.T, err)
		}
		return fmt.Errorf("events: decode %v: %w", e.Op, err)
	}
	return nil
}
