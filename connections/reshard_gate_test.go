package connections_test

import (
	"context"
	"sync"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/shardctl"
)

// heldGate is the default identify gate plus holds: a shard's next identify waits until the
// test releases it. Re-shard tests use it to keep a new set from completing (so that a fault
// lands before the swap) and to keep a shard id of the new set from having a session while
// the old set's shard of that id is faulted, whatever the machine's load.
type heldGate struct {
	inner shardctl.Gate
	mu    sync.Mutex
	next  map[int]chan struct{} // shard → the hold its next Wait takes
}

func newHeldGate(clk clock.Clock, maxConcurrency int) (*heldGate, connections.Option) {
	g := &heldGate{
		inner: shardctl.NewLocalGate(maxConcurrency, shardctl.WithGateClock(clk), shardctl.WithInterval(shardctl.IdentifyInterval+500*time.Millisecond)),
		next:  map[int]chan struct{}{},
	}
	return g, connections.WithIdentifyGate(g)
}

// holdNext makes the next identify of shard wait for release.
func (g *heldGate) holdNext(shard int) (release func()) {
	ch := make(chan struct{})
	g.mu.Lock()
	g.next[shard] = ch
	g.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (g *heldGate) Wait(ctx context.Context, shard int) (func(), error) {
	g.mu.Lock()
	ch := g.next[shard]
	delete(g.next, shard)
	g.mu.Unlock()
	if ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.inner.Wait(ctx, shard)
}
