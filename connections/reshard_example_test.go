package connections_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
)

// ExampleConn_ReShard moves a running bot from 2 to 4 shards without a gap in delivery. The
// simulator's clock runs 50 times faster so that identify pacing takes milliseconds.
func ExampleConn_ReShard() {
	clk := clock.Scaled(50)
	srv, err := fakediscord.New(fakediscord.WithShardCount(2), fakediscord.WithMaxConcurrency(4), fakediscord.WithClock(clk))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := make(chan connections.Event, 256)
	conn, err := connections.ConnectBot(ctx, srv.Token(), out, connections.WithAPIURL(srv.RESTURL()), connections.WithClock(clk))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	for ev := range out {
		if ev.Kind == connections.KindConnectedAllShards {
			break
		}
	}

	// ReShard returns after the swap; meanwhile events wait in the runtime's queue.
	if err := conn.ReShard(ctx, 4); err != nil {
		fmt.Println("re-shard failed:", err)
		return
	}
	for ev := range out {
		if rs, ok := ev.Runtime.(events.ReShard); ok {
			fmt.Printf("re-shard %s: %d → %d\n", rs.Phase, rs.Old, rs.New)
			if rs.Phase == events.ReShardDone {
				break
			}
		}
	}
	states, err := conn.ShardStates(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("running:", len(states), "shards of", states[0].Count)
	// Output:
	// re-shard started: 2 → 4
	// re-shard done: 2 → 4
	// running: 4 shards of 4
}

// ExampleWithReShardRetry retries every failed re-shard, the ones the bot asks for included,
// at most five times, starting a minute after a failure. A failed attempt shows on the out
// channel as ReShard{Phase: failed} with Attempt and RetryIn (0 once it is given up).
func ExampleWithReShardRetry() {
	retry := connections.DefaultReShardRetry
	retry.Backoff.Base = time.Minute
	retry.MaxAttempts = 5
	retry.Requested = true
	opt := connections.WithReShardRetry(retry) // pass it to ConnectBot with the others
	_ = opt

	// A schedule that cannot work is refused when the connection starts.
	bad := retry
	bad.Backoff.Max = time.Second // below Base
	_, err := connections.ConnectBot(context.Background(), "token", make(chan connections.Event), connections.WithReShardRetry(bad))
	fmt.Println(errors.Is(err, connections.ErrInvalidOption))
	fmt.Println("first retry after", retry.Backoff.Base, "then doubling up to", retry.Backoff.Max)
	// Output:
	// true
	// first retry after 1m0s then doubling up to 10m0s
}
