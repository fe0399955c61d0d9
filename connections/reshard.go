package connections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/shardctl"
)

// Re-shard timing, in clock time.
const (
	// reshardGuildTimeout bounds the wait for the new set's GUILD_CREATEs once every new shard
	// is READY: a guild that does not load by then (an outage) does not hold the swap back.
	reshardGuildTimeout = 30 * time.Second
	// reshardDrainTimeout bounds the wait for the old shards' flushes once the new set is loaded
	// (see mixer): an old shard that is reconnecting answers once it has resumed.
	reshardDrainTimeout = 30 * time.Second
	// reshardFilterWindow bounds how long after the swap new-set dispatches are still checked
	// against what the old set delivered (the new set may receive a dispatch later than the old
	// set did). The check normally ends as soon as every new shard has flushed.
	reshardFilterWindow = 2 * time.Minute
	// reshardBaseTimeout plus one identify spacing per bucket round bounds a whole re-shard.
	reshardBaseTimeout = 2 * time.Minute
)

// WithReShardCheck makes a ConnectBot connection ask GET /gateway/bot every interval (clock
// time) and re-shard without downtime when Discord recommends more shards than it runs.
// Default: off (Discord still forces a re-shard with close 4011 when one is needed). An hour
// or more is plenty; it has no effect on ConnectShards.
func WithReShardCheck(interval time.Duration) Option {
	return func(c *config) {
		if interval <= 0 {
			c.fail(optionError("WithReShardCheck", "interval %v, want > 0", interval))
		}
		c.reshardCheck = interval
	}
}

// ReShardReport is what Observer.ReShard gets.
type ReShardReport struct {
	Phase    events.ReShardPhase // started, done or failed
	Old, New int
	// Took is the time from the start to the swap or the failure (clock time).
	Took time.Duration
	// Held is the most events held back at once: the memory cost of the re-shard.
	Held int
	// Duplicates counts dispatches that both sets received and that were delivered once.
	Duplicates int
	// Suppressed counts the new set's guild-loading GUILD_CREATEs not delivered because the bot
	// already had those guilds.
	Suppressed int
	// Released counts the held events delivered at the swap.
	Released int
}

// reshardReq is a re-shard asked for and waiting for GET /gateway/bot.
type reshardReq struct {
	reason   string
	count    int  // 0: as Discord recommends
	required bool // 4011: the count must grow even if Discord recommends the old one
	replies  []chan<- error
}

// reshardRun is a re-shard in progress: the new set runs beside the old one.
type reshardRun struct {
	old, new   int
	reason     string
	gw         events.GatewayBot
	set        *shardSet
	shards     map[int]*shard
	mix        *mixer
	started    time.Time
	loadTimer  clock.Timer              // set once every new shard is READY
	loaded     bool                     // every new shard is READY and has its guilds (or loadTimer fired)
	drainTimer clock.Timer              // set once loaded
	flushes    map[*shard]chan struct{} // old shard → closed once it flushed (see flusher)
	deadline   clock.Timer
	replies    []chan<- error
}

// requestReShard starts a re-shard: it first asks GET /gateway/bot for the budget, the bucket
// count and (for count 0) the recommended count.
func (ctl *controller) requestReShard(req reshardReq) {
	if ctl.rs != nil || ctl.pending != nil {
		for _, r := range req.replies {
			replyErr(r, fmt.Errorf("%w: a re-shard is already in progress", ErrInvalidOption))
		}
		return
	}
	ctl.pending = &req
	ctl.c.wg.Go(ctl.fetchGateway)
}

// fetchGateway asks for the gateway information, retrying with backoff, and reports to the loop.
func (ctl *controller) fetchGateway() {
	c := ctl.c
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		if !clock.Sleep(c.cfg.clock, c.backoffDelay(attempt), c.ctx.Done()) {
			return
		}
		var gw events.GatewayBot
		gw, err = getGatewayBot(c.ctx, c.cfg, c.token)
		if err == nil {
			c.note(note{kind: noteGateway, gw: gw})
			return
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, ErrUnauthorized) {
			break
		}
		c.log.Warn("re-shard: GET /gateway/bot failed", zap.Error(err))
	}
	c.note(note{kind: noteGateway, err: err})
}

// checkLoop is WithReShardCheck's goroutine.
func (ctl *controller) checkLoop() {
	c := ctl.c
	t := c.cfg.clock.NewTicker(c.cfg.reshardCheck)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C():
		}
		gw, err := getGatewayBot(c.ctx, c.cfg, c.token)
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			c.log.Warn("re-shard check: GET /gateway/bot failed", zap.Error(err))
			continue
		}
		c.note(note{kind: noteCheck, gw: gw})
	}
}

// gatewayAnswer continues the pending request with GET /gateway/bot's answer.
func (ctl *controller) gatewayAnswer(n note) {
	req := ctl.pending
	ctl.pending = nil
	if req == nil {
		return
	}
	old := ctl.count
	if n.err != nil {
		ctl.reshardFailed(old, req.count, req.reason, req.replies, fmt.Errorf("connections: re-shard: %w", n.err), mixStats{}, 0)
		return
	}
	count := req.count
	if count == 0 {
		count = max(n.gw.Shards, ctl.c.cfg.shardCount)
	}
	if req.required && count <= old {
		// Discord closed with 4011, so the old count is too low whatever the recommendation says.
		count = old * 2
	}
	if count == old {
		for _, r := range req.replies {
			replyErr(r, fmt.Errorf("%w: already running %d shards", ErrInvalidOption, old))
		}
		return
	}
	ctl.beginReShard(count, n.gw, req.reason, req.replies)
}

// checkAnswer handles a periodic GET /gateway/bot.
func (ctl *controller) checkAnswer(gw events.GatewayBot) {
	if ctl.rs != nil || ctl.pending != nil || gw.Shards <= ctl.count {
		return
	}
	ctl.beginReShard(gw.Shards, gw, fmt.Sprintf("GET /gateway/bot recommends %d shards", gw.Shards), nil)
}

// beginReShard starts the new set beside the old one.
func (ctl *controller) beginReShard(count int, gw events.GatewayBot, reason string, replies []chan<- error) {
	c := ctl.c
	old := ctl.count
	if gw.SessionStartLimit.Total > 0 {
		if err := shardctl.CheckBudget(gw.SessionStartLimit, count); err != nil {
			ctl.reshardFailed(old, count, reason, replies, err, mixStats{}, 0)
			return
		}
		c.cfg.observer.SessionBudget(gw.SessionStartLimit.Remaining)
	}
	ctl.endFilter()
	maxConc := max(gw.SessionStartLimit.MaxConcurrency, 1)
	rounds := (count + maxConc - 1) / maxConc
	rs := &reshardRun{
		old: old, new: count, reason: reason, gw: gw,
		set:     &shardSet{},
		shards:  make(map[int]*shard, count),
		mix:     newMixer(c.q.push, old),
		started: c.cfg.clock.Now(),
		// One identify per bucket every 5 s, with room for retries.
		deadline: c.cfg.clock.NewTimer(reshardBaseTimeout + time.Duration(rounds)*2*shardctl.IdentifyInterval),
		replies:  replies,
	}
	ctl.rs = rs
	// The old set's tap goes in before any new shard exists, so that every dispatch the old set
	// delivers from here on is known to the merge.
	ctl.set.tap.Store(&tap{m: rs.mix, oldSet: true})
	rs.set.tap.Store(&tap{m: rs.mix})
	c.log.Info("re-sharding", zap.Int("old", old), zap.Int("new", count), zap.String("reason", reason))
	c.q.push(runtimeEvent(-1, KindReShard, events.ReShard{Old: old, New: count, Phase: events.ReShardStarted, Reason: reason}))
	c.cfg.observer.ReShard(ReShardReport{Phase: events.ReShardStarted, Old: old, New: count})
	for _, id := range shardctl.BucketOrder(shardctl.ShardIDs(count), maxConc) {
		s := newShard(c, ShardState{ID: id, Count: count})
		s.set = rs.set
		rs.shards[id] = s
		c.wg.Go(s.run)
	}
}

// progress is called when a new shard became READY or loaded its guilds, or an old shard
// flushed: it swaps once the new set is loaded and every old shard flushed.
func (ctl *controller) progress() {
	rs := ctl.rs
	if rs == nil {
		return
	}
	if !rs.loaded {
		ready, loaded := rs.mix.loaded(rs.new)
		switch {
		case loaded:
			ctl.setLoaded()
		case ready && rs.loadTimer == nil:
			rs.loadTimer = ctl.c.cfg.clock.NewTimer(reshardGuildTimeout)
		}
		if !rs.loaded {
			return
		}
	}
	for _, s := range ctl.shards {
		select {
		case <-rs.flushes[s]:
		default:
			return
		}
	}
	ctl.swap()
}

// setLoaded marks the new set loaded: every new session exists, so each old shard is asked to
// flush what Discord sent it before (see flusher).
func (ctl *controller) setLoaded() {
	rs := ctl.rs
	rs.loaded = true
	if rs.loadTimer != nil {
		rs.loadTimer.Stop()
	}
	rs.drainTimer = ctl.c.cfg.clock.NewTimer(reshardDrainTimeout)
	rs.flushes = make(map[*shard]chan struct{}, len(ctl.shards))
	for _, s := range ctl.shards {
		rs.flushes[s] = requestFlush(s, rs.mix)
	}
}

// requestFlush asks s to flush (see flusher); the channel closes, and mix's wake is signalled,
// when it has.
func requestFlush(s *shard, mix *mixer) chan struct{} {
	ch := make(chan struct{})
	done := func() {
		close(ch)
		mix.signal()
	}
	select {
	case s.barriers <- done:
	default:
		// Earlier re-shards' requests fill the channel; a timeout covers this one.
	}
	return ch
}

// swap makes the new set the connection's only set.
func (ctl *controller) swap() {
	c := ctl.c
	rs := ctl.rs
	ctl.rs = nil
	rs.stopTimers()
	// The bot has the guilds of every old shard that was running and had its READY.
	oldHad := make(map[int]bool, len(ctl.shards))
	for id := range ctl.shards {
		if ctl.readySeen[id] {
			oldHad[id] = true
		}
	}
	ids := sortedIDs(rs.shards)
	took := c.cfg.clock.Now().Sub(rs.started)
	stats, released := rs.mix.release(oldHad,
		runtimeEvent(-1, KindConnectedAllShards, events.ConnectedAllShards{Shards: ids}),
		runtimeEvent(-1, KindReShard, events.ReShard{Old: rs.old, New: rs.new, Phase: events.ReShardDone, Reason: rs.reason}))
	for _, s := range ctl.shards {
		s.stop(events.CloseNormal) // sessions with the old count are of no further use
	}
	ctl.shards = rs.shards
	ctl.set = rs.set
	ctl.count = rs.new
	ctl.gw = rs.gw
	clear(ctl.readySeen)
	for id := range ctl.shards {
		ctl.readySeen[id] = true
	}
	ctl.announced = true
	ctl.fatalErr = nil
	ctl.filterMix = rs.mix
	ctl.filter = c.cfg.clock.NewTimer(reshardFilterWindow)
	// Once a new shard has flushed, it has read every dispatch sent before now, which covers
	// every twin of what the old set delivered.
	ctl.flushed = ctl.flushed[:0]
	for _, s := range ctl.shards {
		ctl.flushed = append(ctl.flushed, requestFlush(s, rs.mix))
	}
	c.log.Info("re-shard done", zap.Int("old", rs.old), zap.Int("new", rs.new), zap.Duration("took", took),
		zap.Int("held", stats.peakHeld), zap.Int("released", released), zap.Int("duplicates", stats.duplicates))
	c.cfg.observer.ReShard(ReShardReport{Phase: events.ReShardDone, Old: rs.old, New: rs.new, Took: took,
		Held: stats.peakHeld, Duplicates: stats.duplicates, Suppressed: stats.suppressed, Released: released})
	for _, r := range rs.replies {
		replyErr(r, nil)
	}
	if ctl.presence != nil {
		// The new sessions identified with the configured presence; bring back the last one set.
		if frame, err := encodeCommand(events.OpPresenceUpdate, *ctl.presence); err == nil {
			var targets []*shard
			for _, id := range ids {
				targets = append(targets, ctl.shards[id])
			}
			ctl.route(targets, events.OpPresenceUpdate, frame, nil, nil)
		}
	}
}

// abortReShard gives the new set up and keeps the old one.
func (ctl *controller) abortReShard(err error) {
	rs := ctl.rs
	ctl.rs = nil
	rs.stopTimers()
	stats := rs.mix.abort()
	ctl.set.tap.Store(nil)
	for _, s := range rs.shards {
		s.stop(events.CloseNormal)
	}
	ctl.reshardFailed(rs.old, rs.new, rs.reason, rs.replies, err, stats, ctl.c.cfg.clock.Now().Sub(rs.started))
}

// reshardFailed reports a re-shard that did not happen. The old set keeps running; if nothing
// of it is left the connection ends.
func (ctl *controller) reshardFailed(old, count int, reason string, replies []chan<- error, err error, stats mixStats, took time.Duration) {
	c := ctl.c
	c.log.Error("re-shard failed; keeping the running shards", zap.Int("old", old), zap.Int("new", count),
		zap.Int("running", len(ctl.shards)), zap.Error(err))
	c.q.push(runtimeEvent(-1, KindReShard, events.ReShard{Old: old, New: count, Phase: events.ReShardFailed, Reason: reason, Err: err}))
	c.cfg.observer.ReShard(ReShardReport{Phase: events.ReShardFailed, Old: old, New: count, Took: took,
		Held: stats.peakHeld, Duplicates: stats.duplicates, Suppressed: stats.suppressed})
	for _, r := range replies {
		replyErr(r, err)
	}
	if len(ctl.shards) == 0 {
		c.fail(err)
	}
}

// filterProgress ends the filter once every new shard has flushed.
func (ctl *controller) filterProgress() {
	if ctl.filter == nil {
		return
	}
	for _, ch := range ctl.flushed {
		select {
		case <-ch:
		default:
			return
		}
	}
	ctl.endFilter()
}

// endFilter ends the filter of the last re-shard: the set's events go straight out.
func (ctl *controller) endFilter() {
	if ctl.filter == nil {
		return
	}
	ctl.filter.Stop()
	ctl.filter = nil
	ctl.flushed = nil
	ctl.filterMix.finish()
	ctl.filterMix = nil
	ctl.set.tap.Store(nil)
}

func (rs *reshardRun) stopTimers() {
	rs.deadline.Stop()
	if rs.loadTimer != nil {
		rs.loadTimer.Stop()
	}
	if rs.drainTimer != nil {
		rs.drainTimer.Stop()
	}
}

// newSetShard reports whether s belongs to the re-shard in progress, and forgets it if so.
func (ctl *controller) newSetShard(s *shard) bool {
	if ctl.rs == nil || ctl.rs.shards[s.id] != s {
		return false
	}
	<-s.done
	s.drainSends()
	return true
}
