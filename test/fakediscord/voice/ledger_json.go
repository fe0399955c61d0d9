package voicesim

import (
	"encoding/json"
	"time"
)

// MarshalJSON writes Closed as null while the connection is open, as the gateway simulator's
// ledger does for its connections' end time, rather than Go's zero time.
func (c ConnRecord) MarshalJSON() ([]byte, error) {
	type plain ConnRecord // no methods: no recursion
	v := struct {
		plain
		Closed *time.Time `json:"closed"` // shadows plain.Closed
	}{plain: plain(c)}
	if !c.Closed.IsZero() {
		v.Closed = &c.Closed
	}
	return json.Marshal(v)
}

// fillEmpty gives every nil list of l an empty one, so that GET /ledger answers [] where the
// gateway's ledger does and a reader in another language can iterate without a null check. l
// must be a snapshot nobody else holds: the lists are replaced in place.
func (l *Ledger) fillEmpty() {
	orEmpty(&l.Sessions)
	orEmpty(&l.Relays)
	orEmpty(&l.Refused)
	orEmpty(&l.Calls)
	for i := range l.Sessions {
		s := &l.Sessions[i]
		orEmpty(&s.Sent)
		orEmpty(&s.Received)
		orEmpty(&s.Resumes)
		orEmpty(&s.Connections)
		orEmpty(&s.DAVERejected)
		for j := range s.Resumes {
			orEmpty(&s.Resumes[j].Replayed)
		}
	}
	for i := range l.Calls {
		c := &l.Calls[i]
		orEmpty(&c.Members)
		if c.DAVE != nil {
			orEmpty(&c.DAVE.Members)
		}
	}
}

func orEmpty[T any](s *[]T) {
	if *s == nil {
		*s = []T{}
	}
}
