// Package outbox is the outgoing queue of one simulated websocket connection: any goroutine
// may push without ever blocking, and one writer goroutine takes the items in order.
//
// Both simulators (the gateway in test/fakediscord and the voice gateway in
// test/fakediscord/voice) need the same three guarantees from it:
//   - pushing never waits for the writer, because pushes happen under the server's mutex and a
//     slow or stalled client must not hold up the rest of the simulator;
//   - once the final item (a close frame) is accepted nothing more is, so a close is always the
//     last frame a client sees;
//   - Kill is idempotent and tells everyone waiting on the connection that it is gone.
package outbox

import "sync"

// Box is a connection's outgoing queue. Create it with New; all methods are safe for concurrent
// use, and only one goroutine (the writer) should call Pop or Drain.
//
// The queue is unbounded in items, as a real server's kernel buffer would be to a client that
// reads slowly, but its memory follows what is pending, not what was ever pushed: taken items
// are released and the backing array is reused.
type Box[T any] struct {
	mu     sync.Mutex
	queue  []T // pending items are queue[head:]
	head   int
	sealed bool // the final item was accepted

	ready    chan struct{} // capacity 1: a token means "there may be items"
	killed   chan struct{}
	killOnce sync.Once
	onKill   func()
}

// New returns an empty Box. onKill, if not nil, runs once, on the first Kill, after Killed is
// closed; the simulators cut the TCP connection there.
func New[T any](onKill func()) *Box[T] {
	return &Box[T]{
		ready:  make(chan struct{}, 1),
		killed: make(chan struct{}),
		onKill: onKill,
	}
}

// Push queues it and wakes the writer. It reports false, and drops it, if the final item has
// been pushed already. It never blocks.
func (b *Box[T]) Push(it T) bool {
	return b.push(it, false)
}

// PushFinal queues it as the last item: every later Push and PushFinal is refused. It reports
// false if a final item was pushed before.
func (b *Box[T]) PushFinal(it T) bool {
	return b.push(it, true)
}

func (b *Box[T]) push(it T, final bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sealed {
		return false
	}
	b.sealed = final
	if b.head > 0 && len(b.queue) == cap(b.queue) {
		// Move the pending items to the front rather than let append copy the taken slots too.
		n := copy(b.queue, b.queue[b.head:])
		clear(b.queue[n:])
		b.queue, b.head = b.queue[:n], 0
	}
	b.queue = append(b.queue, it)
	select {
	case b.ready <- struct{}{}:
	default: // a wake-up is pending already: the writer will see this item too
	}
	return true
}

// Pop takes the oldest pending item. ok is false if there is none.
func (b *Box[T]) Pop() (it T, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.head == len(b.queue) {
		return it, false
	}
	it = b.queue[b.head]
	var zero T
	b.queue[b.head] = zero // the writer may hold it; the box must not keep it alive
	b.head++
	if b.head == len(b.queue) {
		b.queue, b.head = b.queue[:0], 0
	}
	return it, true
}

// Drain appends every pending item, oldest first, to dst and returns it.
func (b *Box[T]) Drain(dst []T) []T {
	b.mu.Lock()
	defer b.mu.Unlock()
	dst = append(dst, b.queue[b.head:]...)
	clear(b.queue)
	b.queue, b.head = b.queue[:0], 0
	return dst
}

// Ready receives a value after a Push when the writer may have items to take. Several pushes
// may share one wake-up, so the writer takes everything pending each time it wakes.
func (b *Box[T]) Ready() <-chan struct{} { return b.ready }

// Sealed reports whether the final item has been pushed.
func (b *Box[T]) Sealed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sealed
}

// Kill marks the connection dead: Killed is closed and onKill runs, once however often Kill is
// called. It does not seal the box or drop what is queued; a killed connection's writer simply
// stops taking items.
func (b *Box[T]) Kill() {
	b.killOnce.Do(func() {
		close(b.killed)
		if b.onKill != nil {
			b.onKill()
		}
	})
}

// Killed is closed by the first Kill.
func (b *Box[T]) Killed() <-chan struct{} { return b.killed }
