package shardctl_test

import (
	"context"
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/shardctl"
)

// Every process of a bot shares one identify gate through Redis; each runs its own shards.
// (Not run: it needs a Redis and a bot token.)
func ExampleRedisGate() {
	ctx := context.Background()
	token := "bot-token"
	gw, err := connections.GetWebsocketGateway(ctx, token)
	if err != nil {
		log.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	gate, err := shardctl.NewRedisGate(rdb, gw.SessionStartLimit.MaxConcurrency,
		shardctl.WithKeyPrefix("mybot"),
		shardctl.WithBudgetReserve(50),
		shardctl.WithBudgetSource(func(ctx context.Context) (events.SessionStartLimit, error) {
			gw, err := connections.GetWebsocketGateway(ctx, token)
			return gw.SessionStartLimit, err
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer gate.Close()
	out := make(chan connections.Event, 256)
	// This process runs shards 0–3 of the bot; another runs the rest with the same gate.
	conn, err := connections.ConnectShards(ctx, token, out, gw, []int{0, 1, 2, 3}, connections.WithIdentifyGate(gate))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
}
