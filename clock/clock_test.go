package clock

import (
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
