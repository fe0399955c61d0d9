package connections_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
)

// ExampleConnectBot connects to a simulated Discord and reads the out channel in a select loop,
// next to the bot's own timers. Against real Discord, drop the simulator and WithAPIURL and pass
// your bot token.
func ExampleConnectBot() {
	srv, err := fakediscord.New(fakediscord.WithShardCount(2), fakediscord.WithMaxConcurrency(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := make(chan connections.Event, 256)
	conn, err := connections.ConnectBot(ctx, srv.Token(), out,
		connections.WithAPIURL(srv.RESTURL()),
		connections.WithIntents(events.IntentGuilds|events.IntentGuildMessages))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close() // safe here: sends on out give way once Close starts

	status := time.NewTicker(time.Hour)
	defer status.Stop()
	for {
		select {
		case ev := <-out:
			switch ev.Kind {
			case connections.KindConnectedAllShards:
				fmt.Println("all shards ready:", ev.Runtime.(events.ConnectedAllShards).Shards)
				// Something for the bot to answer.
				_ = srv.Dispatch(srv.Guilds()[0], events.EventMessageCreate, map[string]any{"content": "ping"})
			case connections.KindDispatch:
				if ev.Type == events.EventMessageCreate {
					var m struct {
						Content string `json:"content"`
					}
					if err := ev.Decode(&m); err == nil {
						fmt.Printf("%s: %s\n", ev.Type, m.Content)
					}
					if err := conn.Close(); err != nil {
						fmt.Println(err)
					}
				}
			}
		case <-status.C:
			_ = conn.UpdateStatus(ctx, events.PresenceUpdate{Status: events.StatusOnline})
		case <-conn.Done():
			fmt.Println("stopped, err:", conn.Err())
			return
		}
	}
	// Output:
	// all shards ready: [0 1]
	// MESSAGE_CREATE: ping
	// stopped, err: <nil>
}
