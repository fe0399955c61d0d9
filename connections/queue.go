package connections

import (
	"sync"

	"github.com/cordage/cordage/events"
)

// queue sits between the shards (which push from their readers and loops, and must never
// block) and the caller's out channel (which may be slow). One deliver goroutine drains it in
// push order, so events of one shard stay in order, and runtime events stay in order with the
// dispatches around them.
//
// Under the default policy the queue never drops: it grows while the consumer is away and
// shrinks when it reads again. Under OverflowDrop it refuses dispatches beyond the limit and
// counts them per shard; the count is reported as an EventsDropped event once there is room.
type queue struct {
	out      chan<- Event
	quit     <-chan struct{}
	limit    int
	observer Observer

	mu      sync.Mutex
	items   []Event
	spare   []Event
	pending int // pushed, not yet handed to out
	dropped map[int]int64
	signal  chan struct{} // capacity 1: "items is not empty"
	empty   chan struct{} // closed (and replaced) each time pending drops to 0
}

func newQueue(out chan<- Event, quit <-chan struct{}, o Overflow, obs Observer) *queue {
	return &queue{
		out: out, quit: quit, limit: o.limit, observer: obs,
		dropped: make(map[int]int64),
		signal:  make(chan struct{}, 1),
		empty:   make(chan struct{}),
	}
}

// push appends ev. It never blocks.
func (q *queue) push(ev Event) {
	q.mu.Lock()
	if q.limit > 0 && ev.Kind == KindDispatch {
		if q.pending >= q.limit {
			q.dropped[ev.Shard]++
			q.mu.Unlock()
			q.observer.Dropped(ev.Shard, 1)
			return
		}
		if n := q.dropped[ev.Shard]; n > 0 {
			delete(q.dropped, ev.Shard)
			q.appendLocked(runtimeEvent(ev.Shard, KindEventsDropped, events.EventsDropped{Shard: ev.Shard, Count: n}))
		}
	}
	q.appendLocked(ev)
	q.mu.Unlock()
}

func (q *queue) appendLocked(ev Event) {
	q.items = append(q.items, ev)
	q.pending++
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take swaps out everything queued. When the queue is empty it reports drops still owed.
func (q *queue) take() []Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		for shard, n := range q.dropped {
			delete(q.dropped, shard)
			q.appendLocked(runtimeEvent(shard, KindEventsDropped, events.EventsDropped{Shard: shard, Count: n}))
		}
	}
	batch := q.items
	q.items = q.spare[:0]
	q.spare = nil
	return batch
}

func (q *queue) recycle(batch []Event) {
	clear(batch) // drop references to delivered data
	q.mu.Lock()
	if q.spare == nil && cap(batch) <= 1<<16 {
		q.spare = batch[:0]
	}
	q.mu.Unlock()
}

func (q *queue) delivered(n int) {
	q.mu.Lock()
	q.pending -= n
	depth := q.pending
	if depth == 0 {
		close(q.empty)
		q.empty = make(chan struct{})
	}
	q.mu.Unlock()
	q.observer.OutQueue(depth)
}

// drained returns a channel closed once nothing waits for the out channel (at once if nothing
// waits now).
func (q *queue) drained() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	return q.empty
}

// depth returns how many events wait for the out channel.
func (q *queue) depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pending
}

// run delivers until quit. Events still queued at quit are discarded: the connection is over.
func (q *queue) run() {
	for {
		batch := q.take()
		if len(batch) == 0 {
			select {
			case <-q.signal:
				continue
			case <-q.quit:
				return
			}
		}
		for i := range batch {
			select {
			case q.out <- batch[i]:
			case <-q.quit:
				return
			}
			// Account per event so that a consumer that stalls mid-batch shows its lag.
			q.delivered(1)
		}
		q.recycle(batch)
	}
}
