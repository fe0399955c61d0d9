package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
)

// Incoming is one event as a Mux sees it: a dispatch (Type is its name, Data its "d") or a
// runtime event of the connection runtime (Type is the event's name, such as "ShardReady", and
// Runtime holds its value, such as a ShardReady).
type Incoming struct {
	Shard   int
	Type    string
	Seq     int64
	Data    json.RawMessage
	Runtime any
}

// Source is anything that can present itself as an Incoming event. connections.Event is one,
// so the runtime's out channel feeds a Mux directly; package events cannot import the runtime,
// hence the interface.
type Source interface {
	Incoming() Incoming
}

// Incoming returns e itself, so that an Incoming is a Source too.
func (e Incoming) Incoming() Incoming { return e }

// Names of the runtime events, as the runtime sets Type for them.
const (
	RuntimeShardReady         = "ShardReady"
	RuntimeShardResumed       = "ShardResumed"
	RuntimeShardDisconnected  = "ShardDisconnected"
	RuntimeShardReconnecting  = "ShardReconnecting"
	RuntimeSessionReplaced    = "SessionReplaced"
	RuntimeConnectedAllShards = "ConnectedAllShards"
	RuntimeReShard            = "ReShard"
	RuntimeShardStopped       = "ShardStopped"
	RuntimeEventsDropped      = "EventsDropped"
)

var runtimeTypes = map[string]reflect.Type{
	RuntimeShardReady:         reflect.TypeFor[ShardReady](),
	RuntimeShardResumed:       reflect.TypeFor[ShardResumed](),
	RuntimeShardDisconnected:  reflect.TypeFor[ShardDisconnected](),
	RuntimeShardReconnecting:  reflect.TypeFor[ShardReconnecting](),
	RuntimeSessionReplaced:    reflect.TypeFor[SessionReplaced](),
	RuntimeConnectedAllShards: reflect.TypeFor[ConnectedAllShards](),
	RuntimeReShard:            reflect.TypeFor[ReShard](),
	RuntimeShardStopped:       reflect.TypeFor[ShardStopped](),
	RuntimeEventsDropped:      reflect.TypeFor[EventsDropped](),
}

var rawType = reflect.TypeFor[json.RawMessage]()

// ErrMuxClosed is returned by Handle and Pump after Close.
var ErrMuxClosed = errors.New("events: mux closed")

// Handler handles one event: the shard it came on and its data, decoded. The data is shared by
// every handler of the event: read it, do not change it.
type Handler[T any] func(ctx context.Context, shard int, data *T)

// Ordering says which events a concurrent Mux keeps in order.
type Ordering int

const (
	// PerShard keeps every shard's events in order; shards run in parallel.
	PerShard Ordering = iota
	// PerGuild keeps each guild's events in order; guilds run in parallel. Events without a
	// guild (READY, DMs, runtime events) keep order among themselves per shard.
	PerGuild
)

// MuxOption configures a Mux.
type MuxOption func(*muxConfig)

type muxConfig struct {
	log     *zap.Logger
	workers int
	order   Ordering
	queue   int
}

// WithMuxLogger sets the logger for panics and decode errors (default zap.NewNop()).
func WithMuxLogger(l *zap.Logger) MuxOption {
	return func(c *muxConfig) {
		if l != nil {
			c.log = l
		}
	}
}

// WithConcurrency makes the Mux run handlers on n goroutines of its own instead of in the
// goroutine that calls Handle, keeping order as o says: events with the same key (shard, or
// guild) always go to the same goroutine, first in first out. Each goroutine queues at most
// queue events (default 256) before Handle waits, so a slow handler slows the reader instead
// of growing memory. A Mux with workers must be closed.
func WithConcurrency(n int, o Ordering, queue int) MuxOption {
	return func(c *muxConfig) {
		c.workers, c.order, c.queue = n, o, queue
	}
}

// Mux calls typed handlers for the events it is given. It decodes an event only when a handler
// for its type exists, once, into the type NewDispatchData gives for the name (or the runtime
// event's own type), and recovers and logs a handler that panics.
//
// By default Handle runs the handlers before it returns, in the caller's goroutine, so events
// are handled in the order they are given, which the runtime keeps per shard. WithConcurrency
// trades that for parallelism while keeping order per shard or per guild.
//
// Register handlers (On) before the first Handle; registering later is safe but races with
// events in flight.
type Mux struct {
	cfg muxConfig
	log *zap.Logger

	mu       sync.RWMutex
	handlers map[string][]entry

	workers []chan job
	wg      sync.WaitGroup
	closeMu sync.RWMutex // held for reading while enqueueing, for writing by Close
	closed  bool

	handled, unhandled, decodeErrs, panics atomic.Int64
}

type entry struct {
	typ  reflect.Type // the handler's T
	call func(ctx context.Context, shard int, v any)
}

type job struct {
	ctx context.Context
	ev  Incoming
}

// NewMux returns a Mux. It fails only for a bad option.
func NewMux(opts ...MuxOption) (*Mux, error) {
	cfg := muxConfig{log: zap.NewNop(), queue: 256}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	switch {
	case cfg.workers < 0 || cfg.workers > 1<<16:
		return nil, fmt.Errorf("events: WithConcurrency: %d goroutines, want 0 to 65536", cfg.workers)
	case cfg.order != PerShard && cfg.order != PerGuild:
		return nil, fmt.Errorf("events: WithConcurrency: unknown ordering %d", cfg.order)
	case cfg.queue < 0:
		return nil, fmt.Errorf("events: WithConcurrency: negative queue %d", cfg.queue)
	}
	m := &Mux{cfg: cfg, log: cfg.log, handlers: map[string][]entry{}}
	for range cfg.workers {
		ch := make(chan job, cfg.queue)
		m.workers = append(m.workers, ch)
		m.wg.Go(func() {
			for j := range ch {
				m.run(j.ctx, j.ev)
			}
		})
	}
	return m, nil
}

// On registers h for the events named name: a dispatch name (EventMessageCreate, …) or a
// runtime event name (RuntimeShardReady, …). T must be the type the event decodes into
// (*T is what NewDispatchData(name) returns; for runtime events the events type of the same
// name), or json.RawMessage for the undecoded data of any dispatch. A mismatch is an error
// that names both types, so a handler can never silently miss its events.
func On[T any](m *Mux, name string, h Handler[T]) error {
	if m == nil || h == nil {
		return errors.New("events: On needs a Mux and a handler")
	}
	t := reflect.TypeFor[T]()
	if err := checkHandlerType(name, t); err != nil {
		return err
	}
	e := entry{typ: t, call: func(ctx context.Context, shard int, v any) { h(ctx, shard, v.(*T)) }}
	m.mu.Lock()
	m.handlers[name] = append(m.handlers[name], e)
	m.mu.Unlock()
	return nil
}

func checkHandlerType(name string, t reflect.Type) error {
	if name == "" {
		return errors.New("events: On needs an event name")
	}
	if rt, ok := runtimeTypes[name]; ok {
		if t != rt {
			return fmt.Errorf("events: runtime event %s carries %v, not %v", name, rt, t)
		}
		return nil
	}
	if t == rawType {
		return nil
	}
	want := NewDispatchData(name)
	if want == nil {
		return fmt.Errorf("events: %s has no typed data here; use json.RawMessage, not %v", name, t)
	}
	if wt := reflect.TypeOf(want).Elem(); wt != t {
		return fmt.Errorf("events: %s decodes into %v, not %v", name, wt, t)
	}
	return nil
}

// Handles reports whether a handler for name is registered.
func (m *Mux) Handles(name string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.handlers[name]) > 0
}

// Handle gives one event to the Mux. Without WithConcurrency it runs the handlers and returns;
// with it, it queues the event for its goroutine, waiting while that queue is full, and returns
// ctx's error if ctx ends first, or ErrMuxClosed after Close. ctx is passed to the handlers.
func (m *Mux) Handle(ctx context.Context, ev Source) error {
	if ev == nil {
		return nil
	}
	return m.handle(ctx, ev.Incoming())
}

func (m *Mux) handle(ctx context.Context, in Incoming) error {
	if len(m.workers) == 0 {
		m.run(ctx, in)
		return nil
	}
	if !m.Handles(in.Type) {
		m.unhandled.Add(1) // not worth a trip through a queue
		return nil
	}
	w := m.workers[m.lane(in)]
	m.closeMu.RLock()
	defer m.closeMu.RUnlock()
	if m.closed {
		return ErrMuxClosed
	}
	select {
	case w <- job{ctx: ctx, ev: in}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lane picks the goroutine for an event: by shard, or by guild for events that have one.
func (m *Mux) lane(in Incoming) int {
	var key uint64
	if g := guildOf(m.cfg.order, in); g != 0 {
		key = uint64(g)
	} else {
		// Guild-less events of a shard share a lane; the high bit keeps them apart from guilds.
		key = 1<<63 | uint64(uint32(in.Shard))
	}
	return int(mix(key) % uint64(len(m.workers)))
}

// mix spreads keys over lanes (the splitmix64 finalizer); fixed, so runs are reproducible.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// guildOf finds the guild an event belongs to, reading only the keys it needs.
func guildOf(o Ordering, in Incoming) Snowflake {
	if o != PerGuild || len(in.Data) == 0 {
		return 0
	}
	var v struct {
		GuildID Snowflake `json:"guild_id"`
		ID      Snowflake `json:"id"`
	}
	if json.Unmarshal(in.Data, &v) != nil {
		return 0
	}
	switch in.Type {
	case EventGuildCreate, EventGuildUpdate, EventGuildDelete:
		return v.ID // the data is the guild itself
	}
	return v.GuildID
}

// run decodes the event once per handler type and calls every handler for it.
func (m *Mux) run(ctx context.Context, in Incoming) {
	m.mu.RLock()
	hs := m.handlers[in.Type]
	m.mu.RUnlock()
	if len(hs) == 0 {
		m.unhandled.Add(1)
		return
	}
	m.handled.Add(1)
	var decoded [2]struct {
		t reflect.Type
		v any
	}
	n := 0
	for _, h := range hs {
		var v any
		found := false
		for i := range n {
			if decoded[i].t == h.typ {
				v, found = decoded[i].v, true
			}
		}
		if !found {
			var err error
			v, err = m.decode(in, h.typ)
			if err != nil {
				m.decodeErrs.Add(1)
				m.log.Warn("events: cannot decode event; its handlers are skipped",
					zap.String("event", in.Type), zap.Int("shard", in.Shard), zap.Int64("seq", in.Seq), zap.Error(err))
				return
			}
			if n < len(decoded) {
				decoded[n].t, decoded[n].v = h.typ, v
				n++
			}
		}
		m.call(ctx, in, h, v)
	}
}

func (m *Mux) decode(in Incoming, t reflect.Type) (any, error) {
	if rt, ok := runtimeTypes[in.Type]; ok {
		p := reflect.New(rt)
		if in.Runtime != nil {
			rv := reflect.ValueOf(in.Runtime)
			if rv.Type() == reflect.PointerTo(rt) && !rv.IsNil() {
				rv = rv.Elem()
			}
			if rv.Type() != rt {
				return nil, fmt.Errorf("runtime event %s carries %T, want %v", in.Type, in.Runtime, rt)
			}
			p.Elem().Set(rv)
		}
		return p.Interface(), nil
	}
	if t == rawType {
		raw := json.RawMessage(in.Data)
		return &raw, nil
	}
	v := NewDispatchData(in.Type)
	if len(in.Data) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(in.Data, v); err != nil {
		return nil, err
	}
	return v, nil
}

func (m *Mux) call(ctx context.Context, in Incoming, h entry, v any) {
	defer func() {
		if r := recover(); r != nil {
			m.panics.Add(1)
			m.log.Error("events: handler panicked; the event is skipped for it",
				zap.String("event", in.Type), zap.Int("shard", in.Shard), zap.Int64("seq", in.Seq),
				zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
		}
	}()
	h.call(ctx, in.Shard, v)
}

// Close stops a Mux with WithConcurrency: it stops taking events, lets its goroutines finish
// the queued ones, and waits for them. Later calls to Handle return ErrMuxClosed. It is safe
// to call more than once, and a no-op without WithConcurrency.
func (m *Mux) Close() {
	m.closeMu.Lock()
	if !m.closed {
		m.closed = true
		for _, w := range m.workers {
			close(w)
		}
	}
	m.closeMu.Unlock()
	m.wg.Wait()
}

// MuxStats counts what a Mux did with the events it was given.
type MuxStats struct {
	// Handled events had at least one handler; Unhandled had none and were not decoded.
	Handled, Unhandled int64
	// DecodeErrors events could not be decoded; their handlers did not run.
	DecodeErrors int64
	// Panics is how many handler calls panicked (and were recovered).
	Panics int64
}

// Stats returns the counters so far.
func (m *Mux) Stats() MuxStats {
	return MuxStats{
		Handled: m.handled.Load(), Unhandled: m.unhandled.Load(),
		DecodeErrors: m.decodeErrs.Load(), Panics: m.panics.Load(),
	}
}
