package connections

import (
	"encoding/json"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/cordage/cordage/events"
)

// shardSet is the shards started together with one shard count. While a re-shard runs, the
// events of the old and the new set are routed through a tap that merges the two streams;
// otherwise they go straight to the queue.
type shardSet struct {
	tap atomic.Pointer[tap]
}

// tap is one set's side of a re-shard's merge.
type tap struct {
	m      *mixer
	oldSet bool
}

func (t *tap) push(ev Event) {
	if t.oldSet {
		t.m.fromOld(ev)
	} else {
		t.m.fromNew(ev)
	}
}

// push hands one of the shard's events to the consumer's queue, through its set's tap while a
// re-shard runs.
func (s *shard) push(ev Event) {
	if s.set != nil {
		if t := s.set.tap.Load(); t != nil {
			t.push(ev)
			return
		}
	}
	s.c.q.push(ev)
}

type mixPhase int

const (
	mixHolding   mixPhase = iota // both sets run; the new set's events are held back
	mixFiltering                 // swapped: the new set's events go out, minus those the old set delivered
	mixAborted                   // the new set was given up: its events are dropped
)

// mixer merges the streams of the old and the new shard set during a re-shard.
//
// Discord sends a guild's dispatches to every session whose shard covers the guild under that
// session's own shard count, so while both sets run every dispatch arrives twice, once per set
// (except for the guilds of an old shard that is gone, which only the new set gets). The old
// set's dispatches go out at once; the new set's are held. Each dispatch is fingerprinted (a
// seeded 64-bit hash of its name and data bytes) and matched across the sets with
// multiplicity: a new-set dispatch whose twin the old set already delivered is dropped; an old
// dispatch whose twin is held marks the held copy as delivered.
//
// The swap must not lose what the old set received before the new sessions existed and has not
// read yet (its reader may lag). So once every new shard is READY with its guilds loaded, the
// controller flushes every old shard (a heartbeat whose ACK proves that everything sent before
// it has been read, see flusher) and swaps when all have answered. At the swap the unmatched
// held events go out in arrival order and the old set is stopped; what the old set still
// delivers after that is dropped (the new sessions existed when it was sent, so the new set has
// it). For a while after the swap (the filter window) new-set dispatches are still checked
// against the old set's unmatched fingerprints, for twins the new set receives later than the
// old set did.
//
// The new set's first GUILD_CREATEs (one per guild listed in its READY) are how a new session
// loads its guilds. For a guild whose old shard ran through the whole re-shard the bot already
// has it, so they are suppressed; for the guilds of an old shard that is gone (the one closed
// with 4011) they are delivered: events of those guilds were lost between the close and the
// new session, and the GUILD_CREATE carries the current state.
type mixer struct {
	out      func(Event) // the consumer's queue
	seed     maphash.Seed
	oldCount int
	wake     chan struct{} // capacity 1: loading or flushing progressed

	mu      sync.Mutex
	phase   mixPhase
	oldSeen map[uint64]int32 // old-set dispatches delivered, not yet seen from the new set
	heldBy  map[uint64][]int // held new-set dispatches not yet seen from the old set → index in held
	held    []heldEvent
	loads   map[int]*guildLoad // new shard → its READY's guilds still to arrive
	oldHad  map[int]bool       // old shards whose guilds the bot had at the swap
	running map[int]bool       // old shards still running when the new set was given up
	stats   mixStats
}

type heldEvent struct {
	ev    Event
	twin  bool             // the old set delivered it meanwhile
	guild events.Snowflake // set for a GUILD_CREATE that loads a guild of the shard's READY
}

type guildLoad struct {
	ready   bool
	pending map[events.Snowflake]struct{}
}

type mixStats struct {
	peakHeld   int // most events held at once
	duplicates int // dispatches received from both sets and delivered once
	suppressed int // initial GUILD_CREATEs of the new set not delivered
	rescued    int // held events delivered when the new set was given up (see abort)
}

func newMixer(out func(Event), oldCount int) *mixer {
	return &mixer{
		out: out, seed: maphash.MakeSeed(), oldCount: oldCount,
		wake:    make(chan struct{}, 1),
		oldSeen: make(map[uint64]int32),
		heldBy:  make(map[uint64][]int),
		loads:   make(map[int]*guildLoad),
	}
}

func (m *mixer) fingerprint(ev Event) uint64 {
	var h maphash.Hash
	h.SetSeed(m.seed)
	h.WriteString(ev.Type)
	h.WriteByte(0)
	h.Write(ev.Data)
	return h.Sum64()
}

// fromOld takes an event of the old set.
func (m *mixer) fromOld(ev Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.phase {
	case mixFiltering:
		return // the old set is stopping: the new set has (or will get) everything from here on
	case mixAborted:
		m.out(ev)
		return
	}
	if ev.Kind == KindDispatch {
		fp := m.fingerprint(ev)
		if idx := m.heldBy[fp]; len(idx) > 0 {
			m.held[idx[0]].twin = true
			m.stats.duplicates++
			if len(idx) == 1 {
				delete(m.heldBy, fp)
			} else {
				m.heldBy[fp] = idx[1:]
			}
		} else {
			m.oldSeen[fp]++
		}
	}
	m.out(ev)
}

// fromNew takes an event of the new set.
func (m *mixer) fromNew(ev Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.phase {
	case mixAborted:
		// The given-up set's shards are stopping; what they still read for guilds no running
		// shard covers goes out, as at the abort (the set that succeeds starts later).
		if m.rescuable(ev, true) {
			m.out(ev)
			m.stats.rescued++
		}
		return
	case mixFiltering:
		if ev.Kind == KindDispatch {
			if ev.Type == events.EventReady {
				// A session started after the swap: its GUILD_CREATEs all go out.
				delete(m.loads, ev.Shard)
			} else if g, initial := m.track(ev); initial && m.oldHad[g.ShardID(m.oldCount)] {
				m.stats.suppressed++
				return
			}
			if m.takeOld(ev) {
				return
			}
		}
		m.out(ev)
		return
	}
	h := heldEvent{ev: ev}
	if ev.Kind == KindDispatch {
		g, initial := m.track(ev)
		switch {
		case initial:
			h.guild = g
		case m.takeOld(ev):
			return
		default:
			fp := m.fingerprint(ev)
			m.heldBy[fp] = append(m.heldBy[fp], len(m.held))
		}
	}
	m.held = append(m.held, h)
	m.stats.peakHeld = max(m.stats.peakHeld, len(m.held))
}

// takeOld reports whether the old set already delivered ev's twin, and forgets one such twin.
func (m *mixer) takeOld(ev Event) bool {
	if len(m.oldSeen) == 0 {
		return false
	}
	fp := m.fingerprint(ev)
	n := m.oldSeen[fp]
	if n == 0 {
		return false
	}
	if n == 1 {
		delete(m.oldSeen, fp)
	} else {
		m.oldSeen[fp] = n - 1
	}
	m.stats.duplicates++
	return true
}

// track follows the loading of a new shard's guilds: READY lists them, a GUILD_CREATE for each
// loads it. It reports whether ev is such a loading GUILD_CREATE, and for which guild.
func (m *mixer) track(ev Event) (events.Snowflake, bool) {
	switch ev.Type {
	case events.EventReady:
		var r struct {
			Guilds []struct {
				ID events.Snowflake `json:"id"`
			} `json:"guilds"`
		}
		_ = json.Unmarshal(ev.Data, &r) // a READY we cannot read has nothing to wait for
		l := &guildLoad{ready: true, pending: make(map[events.Snowflake]struct{}, len(r.Guilds))}
		for _, g := range r.Guilds {
			l.pending[g.ID] = struct{}{}
		}
		m.loads[ev.Shard] = l
		m.signal()
	case events.EventGuildCreate:
		l := m.loads[ev.Shard]
		if l == nil || len(l.pending) == 0 {
			return 0, false
		}
		var g struct {
			ID events.Snowflake `json:"id"`
		}
		if json.Unmarshal(ev.Data, &g) != nil {
			return 0, false
		}
		if _, ok := l.pending[g.ID]; !ok {
			return 0, false
		}
		delete(l.pending, g.ID)
		if len(l.pending) == 0 {
			m.signal()
		}
		return g.ID, true
	}
	return 0, false
}

func (m *mixer) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// loaded reports whether every shard of the new set received READY, and whether every one of
// them also received the GUILD_CREATEs of its READY's guilds.
func (m *mixer) loaded(count int) (ready, loaded bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ready, loaded = true, true
	for id := range count {
		l := m.loads[id]
		if l == nil {
			return false, false
		}
		if len(l.pending) > 0 {
			loaded = false
		}
	}
	return ready, loaded
}

// release swaps: the held events that the old set did not deliver go out in arrival order,
// then tail; from now on the old set's events are dropped and the new set's pass through the
// filter. oldHad lists the old shards whose guilds the bot has.
func (m *mixer) release(oldHad map[int]bool, tail ...Event) (mixStats, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.phase = mixFiltering
	m.oldHad = oldHad
	released := 0
	for i := range m.held {
		h := &m.held[i]
		switch {
		case h.twin:
		case h.guild != 0 && oldHad[h.guild.ShardID(m.oldCount)]:
			m.stats.suppressed++
		default:
			m.out(h.ev)
			released++
		}
	}
	m.held, m.heldBy = nil, nil
	for _, ev := range tail {
		m.out(ev)
	}
	return m.stats, released
}

// abort gives the new set up: the old set's events pass through from now on, and of the held
// events only the dispatches of guilds no running old shard covers go out, in arrival order
// (running lists the old shards still in the table). Those are the guilds of a shard closed
// with 4011: no other session has their events, and the set that succeeds later resynchronises
// them with its GUILD_CREATEs, so the given-up set's own loading GUILD_CREATEs, its READYs and
// runtime events, and guild-less dispatches (which the old set receives too) are dropped.
func (m *mixer) abort(running map[int]bool) mixStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.phase = mixAborted
	m.running = running
	for _, h := range m.held {
		if !h.twin && h.guild == 0 && m.rescuable(h.ev, false) {
			m.out(h.ev)
			m.stats.rescued++
		}
	}
	m.held, m.heldBy, m.oldSeen = nil, nil, nil
	return m.stats
}

// rescuable reports whether ev, from a given-up new set, is a dispatch of a guild no running old
// shard covers. GUILD_CREATEs read after the abort are left out, since a loading one can no
// longer be told apart: the set that succeeds sends them again.
func (m *mixer) rescuable(ev Event, afterAbort bool) bool {
	if ev.Kind != KindDispatch || ev.Type == events.EventReady || (afterAbort && ev.Type == events.EventGuildCreate) {
		return false
	}
	g := dispatchGuild(ev)
	return g != 0 && !m.running[g.ShardID(m.oldCount)]
}

// dispatchGuild returns the guild a dispatch belongs to (its guild_id, or the id of a GUILD_
// CREATE, UPDATE or DELETE), 0 if none can be read.
func dispatchGuild(ev Event) events.Snowflake {
	var d struct {
		GuildID events.Snowflake `json:"guild_id"`
		ID      events.Snowflake `json:"id"`
	}
	if json.Unmarshal(ev.Data, &d) != nil {
		return 0
	}
	if d.GuildID != 0 {
		return d.GuildID
	}
	switch ev.Type {
	case events.EventGuildCreate, "GUILD_UPDATE", "GUILD_DELETE":
		return d.ID
	}
	return 0
}

// finish ends the filter window: the old set's fingerprints still unmatched are forgotten.
func (m *mixer) finish() mixStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.oldSeen = nil
	return m.stats
}
