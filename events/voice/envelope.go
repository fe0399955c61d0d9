package voice

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Envelope is one JSON voice gateway message: {"op": N, "d": {...}, "seq": S}. Seq is present
// (HasSeq) on server messages the v8 buffered resume may replay; the client keeps the last one
// and acknowledges it in every heartbeat and in Resume.
type Envelope struct {
	Op     Op
	D      json.RawMessage
	Seq    int64
	HasSeq bool
}

type wireEnvelope struct {
	Op  Op              `json:"op"`
	D   json.RawMessage `json:"d"`
	Seq *int64          `json:"seq,omitempty"`
}

// MarshalJSON writes the envelope; "seq" appears only when HasSeq is set.
func (e Envelope) MarshalJSON() ([]byte, error) {
	w := wireEnvelope{Op: e.Op, D: e.D}
	if w.D == nil {
		w.D = json.RawMessage("null")
	}
	if e.HasSeq {
		w.Seq = &e.Seq
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads an envelope. A missing "op" is an error: every voice message has one.
func (e *Envelope) UnmarshalJSON(b []byte) error {
	var w struct {
		Op  *Op             `json:"op"`
		D   json.RawMessage `json:"d"`
		Seq *int64          `json:"seq"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.Op == nil {
		return errors.New("voice: message without op")
	}
	*e = Envelope{Op: *w.Op, D: w.D}
	if w.Seq != nil {
		e.Seq, e.HasSeq = *w.Seq, true
	}
	return nil
}

// Decode unmarshals the envelope's "d" into v.
func (e Envelope) Decode(v any) error {
	if err := json.Unmarshal(e.D, v); err != nil {
		return fmt.Errorf("voice: op %s: %w", e.Op, err)
	}
	return nil
}

// Encode builds a client message {"op": op, "d": payload}.
func Encode(op Op, payload any) ([]byte, error) {
	d, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(Envelope{Op: op, D: d})
}

// EncodeSeq builds a server message that carries a seq (the simulator's side of v8 resume).
func EncodeSeq(op Op, payload any, seq int64) ([]byte, error) {
	d, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(Envelope{Op: op, D: d, Seq: seq, HasSeq: true})
}
