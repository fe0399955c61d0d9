package events_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cordage/cordage/events"
)

// A Mux calls typed handlers by event name. Here the events come from a slice; in a bot they
// come from the runtime's out channel (connections.Event is an events.Source).
func ExampleMux() {
	mux, err := events.NewMux()
	if err != nil {
		panic(err)
	}
	defer mux.Close()
	_ = events.On(mux, events.EventMessageCreate, func(_ context.Context, shard int, m *events.Message) {
		fmt.Printf("shard %d: %s says %q\n", shard, m.Author.Username, m.Content)
	})
	_ = events.On(mux, events.RuntimeShardReady, func(_ context.Context, shard int, r *events.ShardReady) {
		fmt.Printf("shard %d of %d ready\n", r.Shard, r.Shards)
	})
	// A handler's type must match the event: this is refused.
	err = events.On(mux, events.EventMessageCreate, func(context.Context, int, *events.Guild) {})
	fmt.Println(err)

	ctx := context.Background()
	for _, ev := range []events.Incoming{
		{Shard: 1, Type: events.RuntimeShardReady, Runtime: events.ShardReady{Shard: 1, Shards: 2}},
		{Shard: 1, Type: events.EventTypingStart, Data: json.RawMessage(`{}`)}, // no handler: not decoded
		{Shard: 1, Type: events.EventMessageCreate, Seq: 7, Data: json.RawMessage(`{"id":"9","content":"!ping","author":{"id":"3","username":"ana"}}`)},
	} {
		_ = mux.Handle(ctx, ev)
	}
	fmt.Printf("%+v\n", mux.Stats())
	// Output:
	// events: MESSAGE_CREATE decodes into events.Message, not events.Guild
	// shard 1 of 2 ready
	// shard 1: ana says "!ping"
	// {Handled:2 Unhandled:1 DecodeErrors:0 Panics:0}
}
