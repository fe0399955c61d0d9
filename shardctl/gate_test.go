package shardctl

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/cordage/cordage/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testTimeout = 5 * time.Second

type grant struct {
	shard   int
	release func()
	err     error
}

func waitAsync(ctx context.Context, g Gate, shard int) <-chan grant {
	ch := make(chan grant, 1)
	go func() {
		rel, err := g.Wait(ctx, shard)
		ch <- grant{shard, rel, err}
	}()
	return ch
}

func recv(t *testing.T, ch <-chan grant) grant {
	t.Helper()
	select {
	case g := <-ch:
		return g
	case <-time.After(testTimeout):
		t.Fatal("gate did not answer")
		return grant{}
	}
}

func notYet(t *testing.T, ch <-chan grant) {
	t.Helper()
	select {
	case g := <-ch:
		t.Fatalf("shard %d was granted too early (err %v)", g.shard, g.err)
	case <-time.After(20 * time.Millisecond):
	}
}

// waitTimers waits until the manual clock has n armed timers, so Advance hits them.
func waitTimers(t *testing.T, m *clock.Manual, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := m.AwaitWaiters(ctx, n); err != nil {
		t.Fatalf("want %d timers armed, have %d", n, m.Waiters())
	}
}

func TestLocalGateSpacesOneKey(t *testing.T) {
	m := clock.NewManual(time.Unix(0, 0))
	g := NewLocalGate(2, WithGateClock(m))
	ctx := t.Context()

	first := recv(t, waitAsync(ctx, g, 0))
	if first.err != nil {
		t.Fatal(first.err)
	}
	// Shard 1 has another key and goes at once, even while key 0 is held.
	other := recv(t, waitAsync(ctx, g, 1))
	if other.err != nil {
		t.Fatal(other.err)
	}
	other.release()

	second := waitAsync(ctx, g, 2) // key 0 again
	notYet(t, second)
	first.release()
	first.release() // a second release is a no-op
	waitTimers(t, m, 1)
	m.Advance(IdentifyInterval - time.Millisecond)
	notYet(t, second)
	m.Advance(time.Millisecond)
	if gr := recv(t, second); gr.err != nil {
		t.Fatal(gr.err)
	} else {
		gr.release()
	}
	if got := g.Granted(); got != 3 {
		t.Fatalf("granted %d, want 3", got)
	}
}

func TestLocalGateFIFOWithinKey(t *testing.T) {
	m := clock.NewManual(time.Unix(0, 0))
	g := NewLocalGate(1, WithGateClock(m))
	ctx := t.Context()
	hold := recv(t, waitAsync(ctx, g, 0))
	var chans []<-chan grant
	for _, id := range []int{3, 1, 2} {
		ch := waitAsync(ctx, g, id)
		chans = append(chans, ch)
		notYet(t, ch) // makes sure each waiter queued before the next
	}
	hold.release()
	for i, want := range []int{3, 1, 2} {
		waitTimers(t, m, 1)
		m.Advance(IdentifyInterval)
		gr := recv(t, chans[i])
		if gr.err != nil || gr.shard != want {
			t.Fatalf("grant %d: shard %d err %v, want shard %d", i, gr.shard, gr.err, want)
		}
		gr.release()
	}
}

func TestLocalGateCancelReturnsKey(t *testing.T) {
	m := clock.NewManual(time.Unix(0, 0))
	g := NewLocalGate(1, WithGateClock(m))
	hold := recv(t, waitAsync(t.Context(), g, 0))
	ctx, cancel := context.WithCancel(t.Context())
	queued := waitAsync(ctx, g, 1)
	notYet(t, queued)
	cancel()
	if gr := recv(t, queued); !errors.Is(gr.err, context.Canceled) || gr.release != nil {
		t.Fatalf("cancelled wait: %v", gr.err)
	}
	hold.release()
	// Cancel during the spacing sleep also hands the key back.
	ctx2, cancel2 := context.WithCancel(t.Context())
	sleeping := waitAsync(ctx2, g, 2)
	waitTimers(t, m, 1)
	cancel2()
	if gr := recv(t, sleeping); !errors.Is(gr.err, context.Canceled) {
		t.Fatalf("cancelled sleep: %v", gr.err)
	}
	m.Advance(IdentifyInterval)
	if gr := recv(t, waitAsync(t.Context(), g, 3)); gr.err != nil {
		t.Fatal(gr.err)
	} else {
		gr.release()
	}
}

func TestLocalGateBudget(t *testing.T) {
	g := NewLocalGate(4, WithBudget(2))
	for i := range 2 {
		rel, err := g.Wait(t.Context(), i)
		if err != nil {
			t.Fatal(err)
		}
		rel()
	}
	if _, err := g.Wait(t.Context(), 2); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("third identify: %v, want ErrBudgetExhausted", err)
	}
	if left, limited := g.Remaining(); left != 0 || !limited {
		t.Fatalf("remaining %d %v", left, limited)
	}
	if _, err := g.Wait(t.Context(), -1); !errors.Is(err, ErrInvalidShard) {
		t.Fatalf("negative shard: %v", err)
	}
}

func TestLocalGateGrantHook(t *testing.T) {
	var got []int
	g := NewLocalGate(1, WithGrantHook(func(id int, _ time.Duration) { got = append(got, id) }))
	rel, err := g.Wait(t.Context(), 7)
	if err != nil {
		t.Fatal(err)
	}
	rel()
	if len(got) != 1 || got[0] != 7 {
		t.Fatalf("hook saw %v", got)
	}
}

func TestLocalGateFailsFastOnDeadline(t *testing.T) {
	m := clock.NewManual(time.Unix(0, 0))
	g := NewLocalGate(1, WithGateClock(m))
	rel, err := g.Wait(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	rel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	if _, err := g.Wait(ctx, 1); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("got %v after %v, want an immediate DeadlineExceeded", err, time.Since(start))
	}
	// The key was handed back: with enough time the next waiter gets it.
	next := waitAsync(t.Context(), g, 2)
	waitTimers(t, m, 1)
	m.Advance(IdentifyInterval)
	if gr := recv(t, next); gr.err != nil {
		t.Fatal(gr.err)
	}
}
