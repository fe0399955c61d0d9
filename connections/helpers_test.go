package connections_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout bounds every wait for something that must happen.
const testTimeout = 20 * time.Second

// scale is how much faster than the wall clock tests run. It is modest on purpose: on a busy
// two-core machine goroutines can wait 100 ms or more for a CPU, which at 1000× would be
// minutes of protocol time and make the simulator see missed heartbeats that never happened.
const scale = 20

func newServer(t *testing.T, clk clock.Clock, opts ...fakediscord.Option) *fakediscord.Server {
	t.Helper()
	opts = append([]fakediscord.Option{fakediscord.WithClock(clk), fakediscord.WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Named("fakediscord"))}, opts...)
	srv, err := fakediscord.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// recorder reads the out channel for the whole test, so a test can wait for conditions on
// everything delivered so far.
type recorder struct {
	mu      sync.Mutex
	events  []connections.Event
	changed chan struct{}
	hold    chan struct{} // non-nil while paused: the reader waits for it to close
}

func record(t *testing.T, out <-chan connections.Event) *recorder {
	r := &recorder{changed: make(chan struct{})}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			r.mu.Lock()
			hold := r.hold
			r.mu.Unlock()
			if hold != nil {
				select {
				case <-hold:
				case <-stop:
					return
				}
			}
			select {
			case ev := <-out:
				r.mu.Lock()
				r.events = append(r.events, ev)
				close(r.changed)
				r.changed = make(chan struct{})
				r.mu.Unlock()
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	return r
}

// pause stops reading out (after at most one more event) until resume.
func (r *recorder) pause() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hold == nil {
		r.hold = make(chan struct{})
	}
}

func (r *recorder) resume() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hold != nil {
		close(r.hold)
		r.hold = nil
	}
}

func (r *recorder) snapshot() []connections.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]connections.Event(nil), r.events...)
}

// wait blocks until pred holds for everything recorded so far.
func (r *recorder) wait(t *testing.T, what string, pred func([]connections.Event) bool) []connections.Event {
	t.Helper()
	deadline := time.NewTimer(testTimeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		evs := r.events
		ch := r.changed
		r.mu.Unlock()
		if pred(evs) {
			return append([]connections.Event(nil), evs...)
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; got %d events: %s", what, len(evs), summary(evs))
		}
	}
}

func summary(evs []connections.Event) string {
	s := ""
	for i, ev := range evs {
		if ev.Kind == connections.KindDispatch && ev.Type != "READY" && ev.Type != "RESUMED" {
			continue
		}
		if i > 0 && len(s) > 0 {
			s += ", "
		}
		s += ev.Type
		if ev.Kind != connections.KindDispatch {
			s += "(" + fmtAny(ev.Runtime) + ")"
		}
		if len(s) > 3000 {
			return s + " …"
		}
	}
	return s
}

func count(evs []connections.Event, k connections.Kind) int {
	n := 0
	for _, ev := range evs {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

func countType(evs []connections.Event, typ string) int {
	n := 0
	for _, ev := range evs {
		if ev.Kind == connections.KindDispatch && ev.Type == typ {
			n++
		}
	}
	return n
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// connectBot starts a runtime against srv and closes it at the end of the test.
func connectBot(t *testing.T, srv *fakediscord.Server, clk clock.Clock, opts ...connections.Option) (*connections.Conn, *recorder) {
	t.Helper()
	return connectBotOut(t, srv, clk, make(chan connections.Event, 256), opts...)
}

func connectBotOut(t *testing.T, srv *fakediscord.Server, clk clock.Clock, out chan connections.Event, opts ...connections.Option) (*connections.Conn, *recorder) {
	t.Helper()
	base := []connections.Option{
		connections.WithAPIURL(srv.RESTURL()),
		connections.WithClock(clk),
		connections.WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))),
	}
	conn, err := connections.ConnectBot(t.Context(), srv.Token(), out, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	rec := record(t, out)
	t.Cleanup(func() {
		if err := conn.Close(); err != nil {
			t.Logf("close: %v", err)
		}
	})
	return conn, rec
}

// waitKind waits for the n-th event of kind k (counting from the start) and returns it.
func (r *recorder) waitKind(t *testing.T, k connections.Kind, n int) connections.Event {
	t.Helper()
	var found connections.Event
	r.wait(t, fmt.Sprintf("%d × %v", n, k), func(evs []connections.Event) bool {
		seen := 0
		for _, ev := range evs {
			if ev.Kind == k {
				seen++
				if seen == n {
					found = ev
					return true
				}
			}
		}
		return false
	})
	return found
}

func ready(t *testing.T, rec *recorder) {
	t.Helper()
	rec.waitKind(t, connections.KindConnectedAllShards, 1)
}

// sessionOf returns the session id of shard's first READY.
func sessionOf(t *testing.T, rec *recorder, shard int) string {
	t.Helper()
	for _, ev := range rec.snapshot() {
		if ev.Kind == connections.KindShardReady && ev.Shard == shard {
			return ev.Runtime.(events.ShardReady).SessionID
		}
	}
	t.Fatalf("shard %d has no READY", shard)
	return ""
}

// awaitReply waits for the answer to a command (what names it) and fails the test on an error
// or when none comes.
func awaitReply(t *testing.T, reply <-chan error, what string) {
	t.Helper()
	select {
	case err := <-reply:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(testTimeout):
		t.Fatalf("no answer to %s", what)
	}
}
