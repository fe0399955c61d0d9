package connections

import (
	"sync"
	"sync/atomic"

	"github.com/cordage/cordage/events"
)

// Ring sizes of the out-queue, in events. The ring starts small, doubles while the consumer
// falls behind, and goes back to queueMinRing once a backlog bigger than queueKeepRing has
// drained, so one long stall does not pin its memory for the life of the connection.
const (
	queueMinRing  = 64
	queueKeepRing = 16 << 10
	queueBatch    = 128 // events the deliver goroutine takes per lock
)

// closedChan is returned by drained when nothing waits; it needs no allocation per call.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// queue sits between the shards (which push from their readers and loops, and must never
// block) and the caller's out channel (which may be slow). One deliver goroutine drains it in
// push order, so events of one shard stay in order, and runtime events stay in order with the
// dispatches around them.
//
// Events wait in a ring that is reused from event to event: once it has grown to the depth the
// consumer lets build up, pushing and delivering allocate nothing.
//
// Under the default policy the queue never drops: it grows while the consumer is away and
// shrinks when it reads again. Under OverflowDrop it refuses dispatches beyond the limit and
// counts them per shard; the count is reported as an EventsDropped event once there is room.
type queue struct {
	out      chan<- Event
	quit     <-chan struct{}
	limit    int
	observer Observer

	// pending counts events pushed and not yet handed to out (queued plus the deliver
	// goroutine's batch in hand). It is atomic so that delivering an event takes no lock.
	pending atomic.Int64
	waiting atomic.Bool // someone holds the channel drained returned

	mu      sync.Mutex
	ring    []Event // len is a power of two
	head    int     // index of the oldest queued event
	n       int     // queued events, in ring[head], ring[head+1], … (mod len)
	dropped map[int]int64
	signal  chan struct{} // capacity 1: "the ring is not empty"
	empty   chan struct{} // closed (and cleared) when pending drops to 0; nil if no one waits
}

func newQueue(out chan<- Event, quit <-chan struct{}, o Overflow, obs Observer) *queue {
	return &queue{
		out: out, quit: quit, limit: o.limit, observer: obs,
		ring:    make([]Event, queueMinRing),
		dropped: make(map[int]int64),
		signal:  make(chan struct{}, 1),
	}
}

// push appends ev. It never blocks.
func (q *queue) push(ev Event) {
	q.mu.Lock()
	if q.limit > 0 && ev.Kind == KindDispatch {
		if q.pending.Load() >= int64(q.limit) {
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
	if q.n == len(q.ring) {
		q.resizeLocked(2 * len(q.ring))
	}
	q.ring[(q.head+q.n)&(len(q.ring)-1)] = ev
	q.n++
	q.pending.Add(1)
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// resizeLocked moves the queued events, oldest first, into a new ring of size events.
func (q *queue) resizeLocked(size int) {
	ring := make([]Event, size)
	first := copy(ring, q.ring[q.head:min(q.head+q.n, len(q.ring))])
	copy(ring[first:], q.ring[:q.n-first])
	q.ring, q.head = ring, 0
}

// take moves up to len(dst) of the oldest queued events into dst and returns how many. When
// the queue is empty it reports drops still owed.
func (q *queue) take(dst []Event) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		for shard, n := range q.dropped {
			delete(q.dropped, shard)
			q.appendLocked(runtimeEvent(shard, KindEventsDropped, events.EventsDropped{Shard: shard, Count: n}))
		}
	}
	k := 0
	for k < len(dst) && q.n > 0 {
		end := min(q.head+q.n, len(q.ring), q.head+len(dst)-k)
		seg := q.ring[q.head:end]
		k += copy(dst[k:], seg)
		clear(seg) // drop references to delivered data
		q.n -= len(seg)
		q.head = end & (len(q.ring) - 1)
	}
	if q.n == 0 {
		q.head = 0
		if len(q.ring) > queueKeepRing {
			q.ring = make([]Event, queueMinRing)
		}
	}
	return k
}

// delivered accounts for one event handed to out.
func (q *queue) delivered() {
	depth := q.pending.Add(-1)
	if depth == 0 && q.waiting.Load() {
		q.wake()
	}
	q.observer.OutQueue(int(depth))
}

// wake closes the channel drained handed out, if pending is still 0.
func (q *queue) wake() {
	q.mu.Lock()
	if q.empty != nil && q.pending.Load() == 0 {
		close(q.empty)
		q.empty = nil
		q.waiting.Store(false)
	}
	q.mu.Unlock()
}

// drained returns a channel closed once nothing waits for the out channel (at once if nothing
// waits now).
func (q *queue) drained() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending.Load() == 0 {
		return closedChan
	}
	if q.empty == nil {
		q.empty = make(chan struct{})
	}
	// Announce the waiter before looking at pending again: delivered decrements before it
	// looks at waiting, so one of the two sides always sees the other.
	q.waiting.Store(true)
	if q.pending.Load() == 0 {
		close(q.empty)
		q.empty = nil
		q.waiting.Store(false)
		return closedChan
	}
	return q.empty
}

// depth returns how many events wait for the out channel.
func (q *queue) depth() int { return int(q.pending.Load()) }

// run delivers until quit. Events still queued at quit are discarded: the connection is over.
func (q *queue) run() {
	batch := make([]Event, queueBatch)
	for {
		k := q.take(batch)
		if k == 0 {
			select {
			case <-q.signal:
				continue
			case <-q.quit:
				return
			}
		}
		for i := range k {
			select {
			case q.out <- batch[i]:
			case <-q.quit:
				return
			}
			batch[i] = Event{}
			// Account per event so that a consumer that stalls mid-batch shows its lag.
			q.delivered()
		}
	}
}
