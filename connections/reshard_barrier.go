package connections

import "github.com/gorilla/websocket"

// flusher proves that a shard has read everything Discord sent it up to now: it writes a
// heartbeat and waits for that heartbeat's ACK. The gateway answers heartbeats in order on the
// same connection as the dispatches, and the reader pushes every dispatch before it passes the
// ACK on, so when the ACK arrives every dispatch queued for the session before Discord handled
// the heartbeat has been delivered. A re-shard uses it on each old shard once the new sessions
// exist, before it stops the old set (see mixer). Only the shard's run goroutine touches it.
type flusher struct {
	beats, acks int64 // heartbeats written and ACKs read on the current connection
	pending     []flushReq
}

type flushReq struct {
	done   func()
	target int64 // the ACK count that answers it; 0 while its heartbeat is not written yet
}

// reset starts a new connection: heartbeats written on the old one will never be answered.
func (f *flusher) reset() {
	f.beats, f.acks = 0, 0
	for i := range f.pending {
		f.pending[i].target = 0
	}
}

// request asks for a flush; the heartbeat goes at once on a ready connection, else when the
// connection becomes ready.
func (f *flusher) request(s *shard, ws *websocket.Conn, ready bool, done func()) error {
	f.pending = append(f.pending, flushReq{done: done})
	if !ready {
		return nil
	}
	return f.send(s, ws)
}

// send writes one heartbeat for every request that has none on this connection yet.
func (f *flusher) send(s *shard, ws *websocket.Conn) error {
	unsent := false
	for _, r := range f.pending {
		unsent = unsent || r.target == 0
	}
	if !unsent {
		return nil
	}
	if err := s.heartbeat(ws); err != nil {
		return err
	}
	for i := range f.pending {
		if f.pending[i].target == 0 {
			f.pending[i].target = f.beats
		}
	}
	return nil
}

// acked counts an ACK and answers the requests it covers.
func (f *flusher) acked() {
	f.acks++
	kept := f.pending[:0]
	for _, r := range f.pending {
		if r.target > 0 && r.target <= f.acks {
			r.done()
		} else {
			kept = append(kept, r)
		}
	}
	clear(f.pending[len(kept):])
	f.pending = kept
}
