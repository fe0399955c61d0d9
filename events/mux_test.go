package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// muxTimeout bounds every wait in these tests; nothing here should come near it.
const muxTimeout = 10 * time.Second

func msgEvent(shard int, seq int64, guild Snowflake, content string) Incoming {
	d := fmt.Sprintf(`{"id":"%d","channel_id":"7","content":%q`, 1000+seq, content)
	if guild != 0 {
		d += fmt.Sprintf(`,"guild_id":"%d"`, guild)
	}
	return Incoming{Shard: shard, Type: EventMessageCreate, Seq: seq, Data: json.RawMessage(d + "}")}
}

func newMux(t *testing.T, opts ...MuxOption) *Mux {
	t.Helper()
	m, err := NewMux(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func TestMuxOrderPerShard(t *testing.T) {
	m := newMux(t)
	var got []int64
	if err := On(m, EventMessageCreate, func(_ context.Context, shard int, msg *Message) {
		if msg.Content != fmt.Sprint("m", shard) {
			t.Errorf("shard %d got %q", shard, msg.Content)
		}
		got = append(got, int64(shard)*1000+int64(msg.ID)-1000)
	}); err != nil {
		t.Fatal(err)
	}
	var want []int64
	for seq := int64(1); seq <= 50; seq++ {
		for shard := range 3 {
			if err := m.Handle(context.Background(), msgEvent(shard, seq, 0, fmt.Sprint("m", shard))); err != nil {
				t.Fatal(err)
			}
			want = append(want, int64(shard)*1000+seq)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("handled out of order:\n got %v\nwant %v", got, want)
	}
	if st := m.Stats(); st.Handled != 150 || st.Unhandled != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestMuxConcurrentPerGuild blocks one guild's handler and shows that other guilds go on while
// every guild's own events stay in order.
func TestMuxConcurrentPerGuild(t *testing.T) {
	m := newMux(t, WithConcurrency(4, PerGuild, 4))
	const blocked = Snowflake(1 << 40)
	// A guild on another lane than the blocked one: lanes are a fixed function of the id.
	free := blocked + 1
	for m.lane(Incoming{Type: EventMessageCreate, Data: msgEvent(0, 1, free, "").Data}) ==
		m.lane(Incoming{Type: EventMessageCreate, Data: msgEvent(0, 1, blocked, "").Data}) {
		free++
	}
	release := make(chan struct{})
	entered := make(chan struct{})
	freeDone := make(chan struct{})
	var mu sync.Mutex
	last := map[Snowflake]int64{}
	var disorder []string
	count := 0
	if err := On(m, EventMessageCreate, func(_ context.Context, _ int, msg *Message) {
		seq := int64(msg.ID) - 1000
		if msg.GuildID == blocked && seq == 1 {
			close(entered)
			<-release
		}
		mu.Lock()
		defer mu.Unlock()
		if seq <= last[msg.GuildID] {
			disorder = append(disorder, fmt.Sprintf("guild %v: %d after %d", msg.GuildID, seq, last[msg.GuildID]))
		}
		last[msg.GuildID] = seq
		count++
		if msg.GuildID == free && seq == 3 {
			close(freeDone)
		}
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must := func(ev Incoming) {
		t.Helper()
		if err := m.Handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	must(msgEvent(0, 1, blocked, "first"))
	<-entered
	for seq := int64(1); seq <= 3; seq++ {
		must(msgEvent(0, seq, free, ""))
	}
	select {
	case <-freeDone:
	case <-time.After(muxTimeout):
		t.Fatal("a guild on another lane waited for the blocked guild")
	}
	close(release)

	// Now many guilds over two shards, interleaved; each guild's events must stay in order.
	const guilds, per = 20, 50
	for seq := int64(2); seq <= per; seq++ {
		for g := range guilds {
			must(msgEvent(g%2, seq, blocked+Snowflake(g)<<22, ""))
		}
	}
	m.Close()
	if len(disorder) > 0 {
		t.Fatalf("order broken: %v", disorder[:min(5, len(disorder))])
	}
	if want := 1 + 3 + guilds*(per-1); count != want {
		t.Fatalf("handled %d events, want %d", count, want)
	}
	if err := m.Handle(ctx, msgEvent(0, 99, free, "")); !errors.Is(err, ErrMuxClosed) {
		t.Fatalf("Handle after Close: %v", err)
	}
}

// TestMuxConcurrentPerShard keeps one shard's events in order while another shard is blocked.
func TestMuxConcurrentPerShard(t *testing.T) {
	m := newMux(t, WithConcurrency(2, PerShard, 1))
	shardA, shardB := 0, 1
	for m.lane(Incoming{Shard: shardA}) == m.lane(Incoming{Shard: shardB}) {
		shardB++
	}
	release, entered, bDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	seen := map[int][]int64{}
	if err := On(m, EventMessageCreate, func(_ context.Context, shard int, msg *Message) {
		seq := int64(msg.ID) - 1000
		if shard == shardA && seq == 1 {
			close(entered)
			<-release
		}
		mu.Lock()
		seen[shard] = append(seen[shard], seq)
		if shard == shardB && seq == 10 {
			close(bDone)
		}
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.Handle(ctx, msgEvent(shardA, 1, 5<<22, "")); err != nil {
		t.Fatal(err)
	}
	<-entered
	for seq := int64(1); seq <= 10; seq++ {
		// Different guilds: per-shard ordering ignores them.
		if err := m.Handle(ctx, msgEvent(shardB, seq, Snowflake(seq)<<22, "")); err != nil {
			t.Fatal(err)
		}
	}
	<-bDone
	// Shard A's queue holds one event; the next Handle must wait until ctx ends.
	if err := m.Handle(ctx, msgEvent(shardA, 2, 5<<22, "")); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.Handle(short, msgEvent(shardA, 3, 5<<22, "")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Handle on a full queue with a cancelled ctx: %v", err)
	}
	close(release)
	m.Close()
	if fmt.Sprint(seen[shardA]) != "[1 2]" || fmt.Sprint(seen[shardB]) != "[1 2 3 4 5 6 7 8 9 10]" {
		t.Fatalf("seen %v", seen)
	}
}

func TestMuxPanicRecovered(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	m := newMux(t, WithMuxLogger(zap.New(core)))
	var after []string
	if err := On(m, EventMessageCreate, func(_ context.Context, _ int, msg *Message) {
		if msg.Content == "boom" {
			panic("handler bug")
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := On(m, EventMessageCreate, func(_ context.Context, _ int, msg *Message) {
		after = append(after, msg.Content)
	}); err != nil {
		t.Fatal(err)
	}
	for i, c := range []string{"a", "boom", "b"} {
		if err := m.Handle(context.Background(), msgEvent(0, int64(i+1), 0, c)); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(after) != "[a boom b]" {
		t.Fatalf("second handler saw %v", after)
	}
	if st := m.Stats(); st.Panics != 1 || st.Handled != 3 {
		t.Fatalf("stats %+v", st)
	}
	entries := logs.FilterMessageSnippet("panicked").All()
	if len(entries) != 1 {
		t.Fatalf("%d panic log entries", len(entries))
	}
	ctx := entries[0].ContextMap()
	if ctx["event"] != EventMessageCreate || ctx["seq"] != int64(2) || !strings.Contains(fmt.Sprint(ctx["panic"]), "handler bug") {
		t.Fatalf("panic log fields %v", ctx)
	}
}

func TestMuxPanicRecoveredConcurrent(t *testing.T) {
	m := newMux(t, WithConcurrency(3, PerGuild, 2))
	var mu sync.Mutex
	n := 0
	if err := On(m, EventMessageCreate, func(_ context.Context, _ int, msg *Message) {
		mu.Lock()
		n++
		mu.Unlock()
		if msg.ID%2 == 0 {
			panic(fmt.Sprint("even ", msg.ID))
		}
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := m.Handle(context.Background(), msgEvent(0, int64(i), Snowflake(i%7+1)<<22, "")); err != nil {
			t.Fatal(err)
		}
	}
	m.Close()
	if st := m.Stats(); n != 100 || st.Panics != 50 {
		t.Fatalf("ran %d handlers, %d panics", n, st.Panics)
	}
}

// TestMuxDecodesOnlyHandledTypes gives broken data to an unhandled type (never decoded, so no
// error) and to a handled one (a decode error, handlers skipped).
func TestMuxDecodesOnlyHandledTypes(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	for _, workers := range []int{0, 2} {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			m := newMux(t, WithMuxLogger(zap.New(core)), WithConcurrency(workers, PerGuild, 4))
			calls := 0
			if err := On(m, EventGuildCreate, func(context.Context, int, *Guild) { calls++ }); err != nil {
				t.Fatal(err)
			}
			broken := json.RawMessage(`{"id": not json`)
			ctx := context.Background()
			for _, name := range []string{EventMessageCreate, EventTypingStart, "SOMETHING_NEW"} {
				if err := m.Handle(ctx, Incoming{Type: name, Data: broken}); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.Handle(ctx, Incoming{Type: EventGuildCreate, Data: broken}); err != nil {
				t.Fatal(err)
			}
			if err := m.Handle(ctx, Incoming{Type: EventGuildCreate, Data: json.RawMessage(`{"id":"5","name":"g"}`)}); err != nil {
				t.Fatal(err)
			}
			m.Close()
			st := m.Stats()
			if st.Unhandled != 3 || st.DecodeErrors != 1 || st.Handled != 2 || calls != 1 {
				t.Fatalf("stats %+v, %d calls", st, calls)
			}
		})
	}
	if n := logs.FilterMessageSnippet("cannot decode").Len(); n != 2 {
		t.Fatalf("%d decode warnings, want 2", n)
	}
}

func TestMuxRuntimeEvents(t *testing.T) {
	m := newMux(t)
	var ready []ShardReady
	var all *ConnectedAllShards
	if err := On(m, RuntimeShardReady, func(_ context.Context, shard int, r *ShardReady) {
		if shard != r.Shard {
			t.Errorf("shard %d, event says %d", shard, r.Shard)
		}
		ready = append(ready, *r)
	}); err != nil {
		t.Fatal(err)
	}
	if err := On(m, RuntimeConnectedAllShards, func(_ context.Context, shard int, c *ConnectedAllShards) { all = c }); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for s := range 2 {
		_ = m.Handle(ctx, Incoming{Shard: s, Type: RuntimeShardReady, Runtime: ShardReady{Shard: s, Shards: 2, SessionID: fmt.Sprint("s", s)}})
	}
	// A pointer works too.
	_ = m.Handle(ctx, Incoming{Shard: -1, Type: RuntimeConnectedAllShards, Runtime: &ConnectedAllShards{Shards: []int{0, 1}}})
	// A runtime event whose detail has the wrong type is a decode error, not a panic.
	_ = m.Handle(ctx, Incoming{Shard: 0, Type: RuntimeShardReady, Runtime: "garbage"})
	if len(ready) != 2 || ready[1].SessionID != "s1" || all == nil || fmt.Sprint(all.Shards) != "[0 1]" {
		t.Fatalf("ready %+v, all %+v", ready, all)
	}
	if st := m.Stats(); st.DecodeErrors != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMuxRawAndTyped(t *testing.T) {
	m := newMux(t)
	var raw string
	var typed string
	if err := On(m, EventMessageCreate, func(_ context.Context, _ int, d *json.RawMessage) { raw = string(*d) }); err != nil {
		t.Fatal(err)
	}
	if err := On(m, EventMessageCreate, func(_ context.Context, _ int, msg *Message) { typed = msg.Content }); err != nil {
		t.Fatal(err)
	}
	if err := On(m, "SOMETHING_NEW", func(_ context.Context, _ int, d *json.RawMessage) { raw += "|" + string(*d) }); err != nil {
		t.Fatal(err)
	}
	ev := msgEvent(0, 1, 0, "hi")
	_ = m.Handle(context.Background(), ev)
	_ = m.Handle(context.Background(), Incoming{Type: "SOMETHING_NEW", Data: json.RawMessage(`[1]`)})
	if raw != string(ev.Data)+"|[1]" || typed != "hi" {
		t.Fatalf("raw %q typed %q", raw, typed)
	}
}

func TestOnRejectsWrongTypes(t *testing.T) {
	m := newMux(t)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{On(m, EventMessageCreate, func(context.Context, int, *Guild) {}), "MESSAGE_CREATE decodes into events.Message, not events.Guild"},
		{On(m, RuntimeShardReady, func(context.Context, int, *ShardResumed) {}), "ShardReady carries events.ShardReady"},
		{On(m, "SOMETHING_NEW", func(context.Context, int, *Message) {}), "use json.RawMessage"},
		{On(m, "", func(context.Context, int, *json.RawMessage) {}), "needs an event name"},
		{On[Message](m, EventMessageCreate, nil), "needs a Mux and a handler"},
		{On(nil, EventMessageCreate, func(context.Context, int, *Message) {}), "needs a Mux and a handler"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("got %v, want %q", tc.err, tc.want)
		}
	}
	if m.Handles(EventMessageCreate) {
		t.Fatal("a rejected handler was registered")
	}
	if _, err := NewMux(WithConcurrency(-1, PerShard, 1)); err == nil {
		t.Fatal("negative concurrency accepted")
	}
	if _, err := NewMux(WithConcurrency(2, Ordering(9), 1)); err == nil {
		t.Fatal("unknown ordering accepted")
	}
}

// src is an event type of the caller's own, as connections.Event is.
type src struct {
	shard int
	t     string
	d     string
}

func (s src) Incoming() Incoming {
	return Incoming{Shard: s.shard, Type: s.t, Data: json.RawMessage(s.d)}
}

func TestPump(t *testing.T) {
	m := newMux(t, WithConcurrency(2, PerShard, 8))
	got := make(chan string, 10)
	if err := On(m, EventMessageCreate, func(_ context.Context, _ int, msg *Message) { got <- msg.Content }); err != nil {
		t.Fatal(err)
	}
	ch := make(chan src, 3)
	ch <- src{0, EventMessageCreate, `{"content":"one"}`}
	ch <- src{0, EventTypingStart, `{}`}
	ch <- src{0, EventMessageCreate, `{"content":"two"}`}
	close(ch)
	if err := Pump(context.Background(), m, ch); err != nil {
		t.Fatalf("Pump on a closed channel: %v", err)
	}
	m.Close()
	close(got)
	var all []string
	for c := range got {
		all = append(all, c)
	}
	if fmt.Sprint(all) != "[one two]" {
		t.Fatalf("got %v", all)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	open := make(chan src)
	go func() { done <- Pump(ctx, newMux(t), open) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Pump after cancel: %v", err)
		}
	case <-time.After(muxTimeout):
		t.Fatal("Pump did not return after cancel")
	}
	late := make(chan src, 1)
	late <- src{0, EventMessageCreate, `{}`}
	if err := Pump(context.Background(), m, late); !errors.Is(err, ErrMuxClosed) {
		t.Fatalf("Pump into a closed Mux: %v", err)
	}
}

func BenchmarkMuxHandle(b *testing.B) {
	m, _ := NewMux()
	n := 0
	_ = On(m, EventMessageCreate, func(context.Context, int, *Message) { n++ })
	handled := msgEvent(0, 1, 5<<22, "hello")
	unhandled := Incoming{Type: EventTypingStart, Data: json.RawMessage(`{"channel_id":"1","user_id":"2","timestamp":1}`)}
	ctx := context.Background()
	b.Run("handled", func(b *testing.B) {
		for b.Loop() {
			_ = m.Handle(ctx, handled)
		}
	})
	b.Run("unhandled", func(b *testing.B) {
		for b.Loop() {
			_ = m.Handle(ctx, unhandled)
		}
	})
}

// FuzzMuxHandle feeds arbitrary names and data to a Mux with handlers for several types, in
// both modes: never a panic, and every event is counted once.
func FuzzMuxHandle(f *testing.F) {
	f.Add(EventMessageCreate, []byte(`{"guild_id":"1","content":"x"}`))
	f.Add(EventGuildCreate, []byte(`{"id":"5"}`))
	f.Add(RuntimeShardReady, []byte(`null`))
	f.Add("SOMETHING", []byte(`[`))
	f.Add(EventInteractionCreate, []byte(`{"guild_id":12}`))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		for _, workers := range []int{0, 2} {
			m, err := NewMux(WithConcurrency(workers, PerGuild, 2))
			if err != nil {
				t.Fatal(err)
			}
			_ = On(m, EventMessageCreate, func(context.Context, int, *Message) {})
			_ = On(m, EventGuildCreate, func(context.Context, int, *Guild) {})
			_ = On(m, EventInteractionCreate, func(context.Context, int, *json.RawMessage) {})
			_ = On(m, RuntimeShardReady, func(context.Context, int, *ShardReady) {})
			_ = On(m, name, func(context.Context, int, *json.RawMessage) {})
			if err := m.Handle(context.Background(), Incoming{Type: name, Data: data}); err != nil {
				t.Fatal(err)
			}
			m.Close()
			if st := m.Stats(); st.Handled+st.Unhandled != 1 || st.Panics != 0 {
				t.Fatalf("%q %q: stats %+v", name, data, st)
			}
		}
	})
}
