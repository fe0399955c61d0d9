package connections

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/cordage/cordage/events"
)

func mixDispatch(shard int, typ, data string) Event {
	return Event{Shard: shard, Kind: KindDispatch, Type: typ, Data: json.RawMessage(data)}
}

// sink collects what a mixer sends to the consumer.
type sink struct{ evs []Event }

func (s *sink) push(ev Event) { s.evs = append(s.evs, ev) }

func (s *sink) take() []Event {
	evs := s.evs
	s.evs = nil
	return evs
}

func newTestMixer(oldCount int) (*mixer, *sink) {
	q := &sink{}
	return newMixer(q.push, oldCount), q
}

func queued(q *sink) []string {
	var out []string
	for _, ev := range q.take() {
		out = append(out, fmt.Sprintf("%d:%s:%s", ev.Shard, ev.Type, ev.Data))
	}
	return out
}

// Twins are matched with multiplicity in either order; what only one set got is delivered
// once; the held events go out in arrival order at the swap.
func TestMixerDedupe(t *testing.T) {
	m, q := newTestMixer(1)
	m.fromOld(mixDispatch(0, "MESSAGE_CREATE", `{"n":1}`)) // old first
	m.fromNew(mixDispatch(1, "MESSAGE_CREATE", `{"n":1}`)) // its twin: dropped
	m.fromNew(mixDispatch(0, "MESSAGE_CREATE", `{"n":2}`)) // new first: held
	m.fromNew(mixDispatch(0, "MESSAGE_CREATE", `{"n":2}`)) // the same bytes again: a second event
	m.fromOld(mixDispatch(0, "MESSAGE_CREATE", `{"n":2}`)) // twin of the first held copy
	m.fromNew(mixDispatch(1, "TYPING_START", `{"n":3}`))   // only the new set: held, released
	m.fromOld(mixDispatch(0, "TYPING_START", `{"n":4}`))   // only the old set
	if got := queued(q); fmt.Sprint(got) != `[0:MESSAGE_CREATE:{"n":1} 0:MESSAGE_CREATE:{"n":2} 0:TYPING_START:{"n":4}]` {
		t.Fatalf("old set delivered %v", got)
	}
	tail := runtimeEvent(-1, KindReShard, events.ReShard{Phase: events.ReShardDone})
	st, released := m.release(map[int]bool{0: true}, tail)
	got := queued(q)
	if fmt.Sprint(got) != `[0:MESSAGE_CREATE:{"n":2} 1:TYPING_START:{"n":3} -1:ReShard:]` || released != 2 {
		t.Fatalf("released %d: %v", released, got)
	}
	if st.duplicates != 2 || st.peakHeld != 3 {
		t.Fatalf("stats %+v", st)
	}
	// After the swap: the old set is dropped; the new set passes, minus late twins of what the
	// old set delivered (TYPING_START 4).
	m.fromOld(mixDispatch(0, "MESSAGE_CREATE", `{"n":5}`))
	m.fromNew(mixDispatch(0, "TYPING_START", `{"n":4}`))
	m.fromNew(mixDispatch(0, "MESSAGE_CREATE", `{"n":5}`))
	if got := queued(q); fmt.Sprint(got) != `[0:MESSAGE_CREATE:{"n":5}]` {
		t.Fatalf("after the swap: %v", got)
	}
	m.finish()
	m.fromNew(mixDispatch(0, "TYPING_START", `{"n":4}`))
	if got := queued(q); len(got) != 1 {
		t.Fatalf("after the filter window: %v", got)
	}
}

// A new shard is loaded once every guild of its READY has its GUILD_CREATE; those of guilds the
// old set had are suppressed, the others (an old shard that is gone) delivered.
func TestMixerGuildLoad(t *testing.T) {
	m, q := newTestMixer(2) // same count: guild g is on shard g%2 in both sets
	g := func(i int) events.Snowflake { return events.Snowflake(uint64(i)<<22 | 7) }
	ready := func(shard int, ids ...events.Snowflake) Event {
		var gs []map[string]any
		for _, id := range ids {
			gs = append(gs, map[string]any{"id": id, "unavailable": true})
		}
		b, _ := json.Marshal(map[string]any{"session_id": "s", "guilds": gs})
		return mixDispatch(shard, events.EventReady, string(b))
	}
	create := func(shard int, id events.Snowflake) Event {
		return mixDispatch(shard, events.EventGuildCreate, fmt.Sprintf(`{"id":"%d","name":"x"}`, id))
	}
	if r, l := m.loaded(2); r || l {
		t.Fatal("loaded before any READY")
	}
	m.fromNew(ready(0, g(0), g(2)))
	m.fromNew(ready(1, g(1)))
	if r, l := m.loaded(2); !r || l {
		t.Fatalf("after the READYs: ready %v loaded %v", r, l)
	}
	m.fromNew(create(0, g(0)))
	m.fromNew(create(0, g(2)))
	m.fromNew(create(1, g(1)))
	if _, l := m.loaded(2); !l {
		t.Fatal("not loaded after every GUILD_CREATE")
	}
	// Old shard 1 is gone: its guild's GUILD_CREATE is delivered.
	_, released := m.release(map[int]bool{0: true})
	var creates []string
	for _, ev := range q.take() {
		if ev.Type == events.EventGuildCreate {
			creates = append(creates, string(ev.Data))
		}
	}
	if released != 3 || fmt.Sprint(creates) != fmt.Sprintf(`[{"id":"%d","name":"x"}]`, g(1)) {
		t.Fatalf("released %d, GUILD_CREATEs %v", released, creates)
	}
}

// Given up: the new set's events vanish, the old set's pass.
func TestMixerAbort(t *testing.T) {
	m, q := newTestMixer(1)
	m.fromNew(mixDispatch(1, "MESSAGE_CREATE", `{"n":1}`))
	m.abort(map[int]bool{0: true})
	m.fromNew(mixDispatch(1, "MESSAGE_CREATE", `{"n":2}`))
	m.fromOld(mixDispatch(0, "MESSAGE_CREATE", `{"n":3}`))
	if got := queued(q); fmt.Sprint(got) != `[0:MESSAGE_CREATE:{"n":3}]` {
		t.Fatalf("after abort: %v", got)
	}
}

// Giving the new set up delivers the held dispatches of guilds no running old shard covers (the
// old shard 1 of 2 closed with 4011), once each and in order, and nothing else it held.
func TestMixerAbortDarkGuilds(t *testing.T) {
	const dark, lit = `"4194304"`, `"8388608"` // shard 1 and shard 0 of 2
	m, q := newTestMixer(2)
	m.fromNew(mixDispatch(1, events.EventReady, `{"guilds":[{"id":`+dark+`}]}`))
	m.fromNew(mixDispatch(1, events.EventGuildCreate, `{"id":`+dark+`}`)) // loading: dropped
	m.fromNew(mixDispatch(1, "MESSAGE_CREATE", `{"guild_id":`+dark+`,"n":1}`))
	m.fromNew(mixDispatch(0, "MESSAGE_CREATE", `{"guild_id":`+lit+`,"n":2}`)) // the old set has it
	m.fromNew(mixDispatch(1, "GUILD_UPDATE", `{"id":`+dark+`,"n":3}`))
	m.fromNew(mixDispatch(1, "TYPING_START", `{"n":4}`)) // guild-less: the old set gets it too
	m.fromNew(mixDispatch(1, "MESSAGE_CREATE", `{"guild_id":`+dark+`,"n":5}`))
	m.fromOld(mixDispatch(1, "MESSAGE_CREATE", `{"guild_id":`+dark+`,"n":5}`)) // a twin: out once
	m.fromNew(runtimeEvent(1, KindShardReady, events.ShardReady{Shard: 1, Shards: 4}))
	m.fromNew(mixDispatch(1, "MESSAGE_CREATE", `not json`))
	if got := queued(q); fmt.Sprint(got) != `[1:MESSAGE_CREATE:{"guild_id":"4194304","n":5}]` {
		t.Fatalf("before abort: %v", got)
	}
	st := m.abort(map[int]bool{0: true})
	if got := queued(q); fmt.Sprint(got) != `[1:MESSAGE_CREATE:{"guild_id":"4194304","n":1} 1:GUILD_UPDATE:{"id":"4194304","n":3}]` || st.rescued != 2 {
		t.Fatalf("at abort (%d rescued): %v", st.rescued, got)
	}
	// What the given-up set still reads: the dark guild's dispatches go out, not its
	// GUILD_CREATEs (a loading one cannot be told apart any more), nor other guilds'.
	m.fromNew(mixDispatch(1, "MESSAGE_CREATE", `{"guild_id":`+dark+`,"n":6}`))
	m.fromNew(mixDispatch(1, events.EventGuildCreate, `{"id":`+dark+`}`))
	m.fromNew(mixDispatch(0, "MESSAGE_CREATE", `{"guild_id":`+lit+`,"n":7}`))
	m.fromNew(mixDispatch(1, events.EventReady, `{"guilds":[]}`))
	if got := queued(q); fmt.Sprint(got) != `[1:MESSAGE_CREATE:{"guild_id":"4194304","n":6}]` || m.stats.rescued != 3 {
		t.Fatalf("after abort (%d rescued): %v", m.stats.rescued, got)
	}
	// With both old shards running nothing is rescued.
	m, q = newTestMixer(2)
	m.fromNew(mixDispatch(1, "MESSAGE_CREATE", `{"guild_id":`+dark+`,"n":1}`))
	if st := m.abort(map[int]bool{0: true, 1: true}); st.rescued != 0 || len(q.take()) != 0 {
		t.Fatalf("rescued %d with every old shard running", st.rescued)
	}
}

// A flush is answered by the ACK of its own heartbeat, not by that of an earlier one, and a
// request made before the connection is ready waits for it.
func TestFlusher(t *testing.T) {
	var f flusher
	done := 0
	f.pending = append(f.pending, flushReq{done: func() { done++ }}) // asked while not ready
	f.beats = 1                                                      // a regular heartbeat is out
	f.pending[0].target = f.beats + 1                                // as send would set it after its own
	f.beats++
	f.acked() // the regular heartbeat's ACK
	if done != 0 {
		t.Fatal("answered by an earlier heartbeat's ACK")
	}
	f.acked()
	if done != 1 || len(f.pending) != 0 {
		t.Fatalf("done %d, pending %d", done, len(f.pending))
	}
	// A new connection: requests not yet answered lose their heartbeat.
	f.pending = append(f.pending, flushReq{done: func() { done++ }, target: 3})
	f.reset()
	f.acked()
	if done != 1 || f.pending[0].target != 0 {
		t.Fatalf("after reset: done %d, %+v", done, f.pending)
	}
}

// The mixer reads READY and GUILD_CREATE payloads from the network while it holds events: any
// bytes must leave it consistent, never panic.
func FuzzMixerTrack(f *testing.F) {
	f.Add(`{"session_id":"s","guilds":[{"id":"4194311","unavailable":true}]}`, `{"id":"4194311"}`)
	f.Add(`{"guilds":null}`, `{"id":1}`)
	f.Add(`{"guilds":[{"id":"x"}]}`, `[]`)
	f.Add(`not json`, `{"id":"18446744073709551615"}`)
	f.Fuzz(func(t *testing.T, ready, create string) {
		m, q := newTestMixer(2)
		m.fromNew(mixDispatch(0, events.EventReady, ready))
		m.fromNew(mixDispatch(0, events.EventGuildCreate, create))
		m.fromOld(mixDispatch(0, events.EventGuildCreate, create))
		m.loaded(1)
		m.release(map[int]bool{0: true})
		m.fromNew(mixDispatch(0, events.EventGuildCreate, create))
		m.finish()
		if len(q.take()) > 4 {
			t.Fatal("more events out than went in")
		}
	})
}
