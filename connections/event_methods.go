package connections

import "github.com/cordage/cordage/events"

// Incoming presents the event to an events.Mux (it makes Event an events.Source), so that the
// out channel feeds the dispatcher directly: events.Pump(ctx, mux, out), or mux.Handle(ctx, ev)
// from a select loop of your own.
func (e Event) Incoming() events.Incoming {
	return events.Incoming{Shard: e.Shard, Type: e.Type, Seq: e.Seq, Data: e.Data, Runtime: e.Runtime}
}
