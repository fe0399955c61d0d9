package outbox

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bound is a wall-time guard for the tests that wait on another goroutine: reaching it means a
// hang, never a slow machine.
const bound = 10 * time.Second

func popAll[T any](b *Box[T]) []T {
	var out []T
	for {
		it, ok := b.Pop()
		if !ok {
			return out
		}
		out = append(out, it)
	}
}

func TestPopKeepsPushOrder(t *testing.T) {
	b := New[int](nil)
	if _, ok := b.Pop(); ok {
		t.Fatal("Pop on an empty box reported an item")
	}
	for i := range 5 {
		b.Push(i)
	}
	if it, ok := b.Pop(); !ok || it != 0 {
		t.Fatalf("Pop = %d, %v; want 0, true", it, ok)
	}
	b.Push(5) // pushed while items are pending: still after them
	got := popAll(b)
	want := []int{1, 2, 3, 4, 5}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("popped %v, want %v", got, want)
	}
}

func TestDrainTakesEverythingInOrder(t *testing.T) {
	b := New[string](nil)
	b.Push("a")
	b.Push("b")
	b.Pop()
	b.Push("c")
	dst := b.Drain([]string{"kept"})
	if fmt.Sprint(dst) != "[kept b c]" {
		t.Fatalf("Drain = %v, want [kept b c]", dst)
	}
	if got := b.Drain(nil); len(got) != 0 {
		t.Fatalf("second Drain = %v, want nothing", got)
	}
	b.Push("d")
	if it, ok := b.Pop(); !ok || it != "d" {
		t.Fatalf("Pop after Drain = %q, %v; want d, true", it, ok)
	}
}

func TestFinalItemIsLast(t *testing.T) {
	b := New[string](nil)
	if b.Sealed() {
		t.Fatal("a new box is sealed")
	}
	b.Push("frame")
	if !b.PushFinal("close") {
		t.Fatal("the first final item was refused")
	}
	if !b.Sealed() {
		t.Fatal("not sealed after PushFinal")
	}
	if b.Push("late") {
		t.Fatal("Push after the final item was accepted")
	}
	if b.PushFinal("second close") {
		t.Fatal("a second final item was accepted")
	}
	if got := popAll(b); fmt.Sprint(got) != "[frame close]" {
		t.Fatalf("popped %v, want [frame close]", got)
	}
	if !b.Sealed() {
		t.Fatal("taking the final item unsealed the box")
	}
}

func TestReadyCoalescesWakeups(t *testing.T) {
	b := New[int](nil)
	select {
	case <-b.Ready():
		t.Fatal("an empty box is ready")
	default:
	}
	for i := range 100 {
		b.Push(i)
	}
	<-b.Ready()
	select {
	case <-b.Ready():
		t.Fatal("100 pushes left more than one wake-up")
	default:
	}
	b.Drain(nil)
	b.Push(100)
	select {
	case <-b.Ready():
	default:
		t.Fatal("a push after the writer woke left no wake-up")
	}
	// A refused push must not wake the writer for nothing.
	b.PushFinal(101)
	<-b.Ready()
	b.Push(102)
	select {
	case <-b.Ready():
		t.Fatal("a refused push woke the writer")
	default:
	}
}

func TestKillRunsOnceAndKeepsTheQueue(t *testing.T) {
	var kills atomic.Int32
	b := New[int](func() { kills.Add(1) })
	b.Push(1)
	select {
	case <-b.Killed():
		t.Fatal("Killed closed before Kill")
	default:
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(b.Kill)
	}
	wg.Wait()
	<-b.Killed()
	if n := kills.Load(); n != 1 {
		t.Fatalf("onKill ran %d times, want 1", n)
	}
	// Kill is about the socket, not the queue: both simulators rely on a push to a killed
	// connection still being accepted (its reader decides the connection's end afterwards).
	if b.Sealed() {
		t.Fatal("Kill sealed the box")
	}
	if !b.Push(2) {
		t.Fatal("Push after Kill was refused")
	}
	if got := popAll(b); fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("popped %v after Kill, want [1 2]", got)
	}
	New[int](nil).Kill() // a nil onKill is allowed
}

func TestKillSeesKilledClosedFirst(t *testing.T) {
	var b *Box[int]
	closed := make(chan bool, 1)
	b = New[int](func() {
		select {
		case <-b.Killed():
			closed <- true
		default:
			closed <- false
		}
	})
	b.Kill()
	if !<-closed {
		t.Fatal("onKill ran before Killed was closed")
	}
}

// TestSlowWriter holds the writer while the producer pushes a large backlog: no push may wait
// for it, and once released it gets everything in order, ending with the final item.
func TestSlowWriter(t *testing.T) {
	const n = 20000
	b := New[int](nil)
	release := make(chan struct{})
	written := make(chan []int, 1)
	go func() {
		var got []int
		<-release // the writer is stuck, as on a client that does not read
		for {
			select {
			case <-b.Ready():
			case <-b.Killed():
				written <- got
				return
			}
			for {
				it, ok := b.Pop()
				if !ok {
					break
				}
				got = append(got, it)
				if it == -1 {
					written <- got
					return
				}
			}
		}
	}()

	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		for i := range n {
			if !b.Push(i) {
				t.Errorf("push %d refused before the final item", i)
				return
			}
		}
		b.PushFinal(-1)
	}()
	select {
	case <-pushed:
	case <-time.After(bound):
		b.Kill()
		close(release)
		<-written
		t.Fatal("pushes blocked behind a writer that does not take items")
	}
	close(release)
	var got []int
	select {
	case got = <-written:
	case <-time.After(bound):
		b.Kill()
		<-written
		t.Fatal("the writer did not get the final item")
	}
	if len(got) != n+1 || got[n] != -1 {
		t.Fatalf("writer got %d items ending %d, want %d ending -1", len(got), got[len(got)-1], n+1)
	}
	for i := range n {
		if got[i] != i {
			t.Fatalf("item %d is %d: order lost", i, got[i])
		}
	}
}

// TestMemoryFollowsBacklog keeps a backlog of a few items for a long run: the backing array must
// stay near the backlog's size, not grow with the number of items ever pushed.
func TestMemoryFollowsBacklog(t *testing.T) {
	b := New[*int](nil)
	const backlog = 16
	for i := range backlog {
		b.Push(&i)
	}
	for i := range 100_000 {
		b.Push(&i)
		it, ok := b.Pop()
		if !ok || it == nil {
			t.Fatal("Pop found nothing with a backlog")
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := cap(b.queue); c > 4*backlog {
		t.Fatalf("backing array holds %d slots for a backlog of %d", c, backlog)
	}
	if len(b.queue)-b.head != backlog {
		t.Fatalf("pending %d, want %d", len(b.queue)-b.head, backlog)
	}
	// Taken slots must not keep items alive.
	for i, p := range b.queue[:b.head] {
		if p != nil {
			t.Fatalf("taken slot %d still holds an item", i)
		}
	}
	for i, p := range b.queue[len(b.queue):cap(b.queue)] {
		if p != nil {
			t.Fatalf("spare slot %d still holds an item", i)
		}
	}
}

// TestConcurrentProducers checks that each producer's items arrive in its own order and none is
// lost, with the writer taking items while they are pushed.
func TestConcurrentProducers(t *testing.T) {
	const producers, each = 4, 5000
	type item struct{ p, seq int }
	b := New[item](nil)
	done := make(chan map[int][]int, 1)
	go func() {
		got := map[int][]int{}
		total := 0
		var batch []item
		for total < producers*each {
			select {
			case <-b.Ready():
			case <-b.Killed():
				done <- got
				return
			}
			batch = b.Drain(batch[:0])
			for _, it := range batch {
				got[it.p] = append(got[it.p], it.seq)
			}
			total += len(batch)
		}
		done <- got
	}()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				b.Push(item{p, i})
			}
		})
	}
	wg.Wait()
	var got map[int][]int
	select {
	case got = <-done:
	case <-time.After(bound):
		b.Kill()
		<-done
		t.Fatal("the writer did not get every item")
	}
	for p := range producers {
		seqs := got[p]
		if len(seqs) != each {
			t.Fatalf("producer %d: %d items arrived, want %d", p, len(seqs), each)
		}
		for i, s := range seqs {
			if s != i {
				t.Fatalf("producer %d: item %d is %d", p, i, s)
			}
		}
	}
}

// TestWriterEndsOnKill is the shape both simulators' writers have: it must end once the box is
// killed, even with nothing queued (goleak in TestMain catches a writer that does not).
func TestWriterEndsOnKill(t *testing.T) {
	b := New[int](nil)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for {
			select {
			case <-b.Ready():
				b.Drain(nil)
			case <-b.Killed():
				return
			}
		}
	}()
	b.Push(1)
	b.Kill()
	select {
	case <-ended:
	case <-time.After(bound):
		t.Fatal("the writer did not end after Kill")
	}
}

func Example() {
	b := New[string](func() { fmt.Println("socket cut") })
	b.Push("hello")
	b.Push("dispatch")
	b.PushFinal("close 4000")
	fmt.Println(b.Push("too late"))

	<-b.Ready()
	for {
		frame, ok := b.Pop()
		if !ok {
			break
		}
		fmt.Println("write", frame)
	}
	b.Kill()
	b.Kill()
	// Output:
	// false
	// write hello
	// write dispatch
	// write close 4000
	// socket cut
}
