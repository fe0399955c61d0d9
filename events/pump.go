package events

import "context"

// Pump reads events from ch and gives each to m until ctx ends (it returns ctx's error) or ch
// is closed (it returns nil). It is the loop a bot writes when the Mux is all it does with the
// runtime's out channel; a bot with timers and channels of its own calls m.Handle from its own
// select loop instead.
//
// E is the channel's element type, such as connections.Event; a type parameter rather than
// Source so that events are not boxed on the way.
func Pump[E Source](ctx context.Context, m *Mux, ch <-chan E) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-ch:
			if !ok {
				return nil
			}
			if err := m.handle(ctx, ev.Incoming()); err != nil {
				return err
			}
		}
	}
}
