package connections

import "sync/atomic"

// shardSet is the shards started together with one shard count. While a re-shard runs, the
// events of the old and the new set are routed through a tap that merges the two streams;
// otherwise they go straight to the queue.
type shardSet struct {
	tap atomic.Pointer[tap]
}

// tap is one set's side of a re-shard's merge.
type tap struct{}

func (t *tap) push(q *queue, ev Event) { q.push(ev) }

// push hands one of the shard's events to the consumer's queue, through its set's tap while a
// re-shard runs.
func (s *shard) push(ev Event) {
	if s.set != nil {
		if t := s.set.tap.Load(); t != nil {
			t.push(s.c.q, ev)
			return
		}
	}
	s.c.q.push(ev)
}
