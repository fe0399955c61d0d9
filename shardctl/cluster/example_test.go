package cluster_test

import (
	"context"
	"log"
	"os"
	"os/signal"

	"github.com/redis/go-redis/v9"

	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/shardctl/cluster"
)

// Run the same program on as many machines as you like: the shards spread over the live
// processes, and a process that dies has its shards resumed by the others. (Not run: it needs a
// Redis and a bot token.)
func ExampleStart() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	token := os.Getenv("BOT_TOKEN")
	gw, err := connections.GetWebsocketGateway(ctx, token)
	if err != nil {
		log.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})
	defer rdb.Close()
	out := make(chan connections.Event, 256)
	node, err := cluster.Start(ctx, cluster.Config{Redis: rdb, Token: token, Gateway: gw, Out: out})
	if err != nil {
		log.Fatal(err)
	}
	// On Ctrl-C, ctx ends and the node hands its shards to the other processes, then stops.
	for {
		select {
		case ev := <-out:
			if ev.Kind == connections.KindDispatch && ev.Type == "MESSAGE_CREATE" {
				log.Printf("shard %d: message", ev.Shard)
			}
		case <-node.Done():
			return
		}
	}
}
