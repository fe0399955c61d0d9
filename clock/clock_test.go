package clock

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestManualFiresInOrder(t *testing.T) {
	start := time.Unix(1000, 0)
	m := NewManual(start)
	a := m.NewTimer(2 * time.Second)
	b := m.NewTimer(1 * time.Second)
	tick := m.NewTicker(3 * time.Second)
	if got := m.Waiters(); got != 3 {
		t.Fatalf("Waiters = %d, want 3", got)
	}
	m.Advance(1500 * time.Millisecond)
	select {
	case at := <-b.C():
		if !at.Equal(start.Add(time.Second)) {
			t.Fatalf("b fired at %v", at)
		}
	default:
		t.Fatal("b did not fire")
	}
	select {
	case <-a.C():
		t.Fatal("a fired early")
	default:
	}
	m.Advance(5 * time.Second)
	<-a.C()
	<-tick.C()
	if a.Stop() {
		t.Fatal("Stop of a fired timer reported active")
	}
	if !m.Now().Equal(start.Add(6500 * time.Millisecond)) {
		t.Fatalf("Now = %v", m.Now())
	}
}

func TestScaledRunsFaster(t *testing.T) {
	c := Scaled(1000)
	begin := time.Now()
	tm := c.NewTimer(5 * time.Second) // 5 ms of wall time
	<-tm.C()
	if wall := time.Since(begin); wall > 2*time.Second {
		t.Fatalf("a 5 s timer at factor 1000 took %v of wall time", wall)
	}
	if Factor(c) != 1000 || Factor(Real()) != 1 {
		t.Fatal("Factor is wrong")
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Spent and stopped timers leave the armed set, and Reset puts them back: a timer re-armed
// after it fired fires again, and a stopped one does not.
func TestManualDropsSpentTimers(t *testing.T) {
	m := NewManual(time.Unix(0, 0))
	for range 1000 {
		tm := m.NewTimer(time.Second)
		m.Advance(time.Second)
		<-tm.C()
	}
	if n := m.Waiters(); n != 0 {
		t.Fatalf("%d timers still armed after all fired", n)
	}
	if n := cap(m.armed); n > 8 {
		t.Fatalf("the armed set grew to capacity %d for one live timer at a time", n)
	}
	a := m.NewTimer(time.Second)
	b := m.NewTimer(2 * time.Second)
	tick := m.NewTicker(time.Second)
	if !b.Stop() || b.Stop() {
		t.Fatal("Stop must report active once")
	}
	m.Advance(time.Second)
	<-a.C()
	<-tick.C()
	if n := m.Waiters(); n != 1 {
		t.Fatalf("Waiters = %d after a fired and b stopped, want 1 (the ticker)", n)
	}
	if a.Reset(time.Second) {
		t.Fatal("Reset of a fired timer reported it active")
	}
	m.Advance(3 * time.Second)
	select {
	case <-a.C():
	default:
		t.Fatal("a re-armed timer did not fire")
	}
	select {
	case <-b.C():
		t.Fatal("a stopped timer fired")
	default:
	}
	tick.Stop()
	if n := m.Waiters(); n != 0 {
		t.Fatalf("Waiters = %d after everything stopped", n)
	}
}

// AwaitWaiters returns once a goroutine has armed its timer, and gives up with ctx.
func TestManualAwaitWaiters(t *testing.T) {
	m := NewManual(time.Unix(0, 0))
	ready := make(chan struct{})
	fired := make(chan time.Time)
	go func() {
		<-ready
		tm := m.NewTimer(time.Minute)
		fired <- <-tm.C()
	}()
	errc := make(chan error, 1)
	go func() { errc <- m.AwaitWaiters(context.Background(), 1) }()
	select {
	case err := <-errc:
		t.Fatalf("AwaitWaiters returned %v before any timer was armed", err)
	default:
	}
	close(ready)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	m.Advance(time.Minute)
	if at := <-fired; !at.Equal(time.Unix(60, 0)) {
		t.Fatalf("fired at %v", at)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.AwaitWaiters(ctx, 1); err != context.Canceled {
		t.Fatalf("AwaitWaiters with a cancelled ctx = %v", err)
	}
}

// A test drives a goroutine that waits on the clock: it waits for the goroutine to arm its
// timer, then moves time instead of sleeping through it.
func ExampleManual_AwaitWaiters() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewManual(start)
	done := make(chan struct{})
	go func() {
		defer close(done)
		beat := m.NewTimer(41250 * time.Millisecond) // a heartbeat interval
		at := <-beat.C()
		fmt.Println("heartbeat due after", at.Sub(start))
	}()
	if err := m.AwaitWaiters(context.Background(), 1); err != nil {
		panic(err)
	}
	m.Advance(time.Minute)
	<-done
	// Output: heartbeat due after 41.25s
}
