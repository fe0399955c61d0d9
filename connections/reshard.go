package connections

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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

// ErrReShardInProgress: AddShards or RemoveShards was sent while a re-shard runs (from its
// GET /gateway/bot until its done or final failed event, including the wait before a retry),
// or a ReShard while an attempt runs (during the wait, a ReShard starts the next attempt at
// once instead). Nothing was changed. It wraps ErrInvalidOption. Send the command again after
// the ReShard event with Phase done, or failed with a ReShardError whose RetryIn is 0.
var ErrReShardInProgress = fmt.Errorf("%w: a re-shard is in progress", ErrInvalidOption)

// ReShardRetry is when a failed re-shard is tried again (see WithReShardRetry). Each attempt
// asks GET /gateway/bot again, so a count Discord recommends is fresh, and the session-start
// budget is checked before any identify: an attempt the budget cannot pay for costs nothing.
type ReShardRetry struct {
	// Backoff spaces the attempts: the first retry starts Base after the failure, the n-th
	// Base × Multiplier^(n-1) after, at most Max, each spread by ±Jitter. An attempt that
	// failed for want of session starts waits at least until the budget resets.
	Backoff Backoff
	// MaxAttempts caps the attempts of one re-shard, the first included; 0 means no cap.
	// 1 turns retries off.
	MaxAttempts int
	// Requested retries the re-shards asked for with the ReShard command and by
	// WithReShardCheck too. Off by default: the ReShard command's caller gets the failure and
	// decides, and WithReShardCheck asks again at its next interval anyway. With it on, the
	// command's Reply is answered when the re-shard is done or given up.
	Requested bool
}

// DefaultReShardRetry is the schedule of re-shards forced by close 4011, which Discord requires:
// without one the closed shard's guilds stay dark. 15 s, ×2, ±20 %, at most 10 min, no cap on
// attempts; the ReShard command and WithReShardCheck are not retried.
var DefaultReShardRetry = ReShardRetry{
	Backoff: Backoff{Base: 15 * time.Second, Multiplier: 2, Jitter: 0.2, Max: 10 * time.Minute},
}

// WithReShardRetry sets when a failed re-shard is tried again (default DefaultReShardRetry).
// Failures no retry can fix end the re-shard at once: a rejected token and the fatal close
// codes (4004, 4010, 4012–4014). It has no effect on ConnectShards.
func WithReShardRetry(r ReShardRetry) Option {
	return func(c *config) {
		b := r.Backoff
		if b.Base <= 0 || b.Max < b.Base || b.Multiplier < 1 || b.Jitter < 0 || b.Jitter > 1 {
			c.fail(optionError("WithReShardRetry", "Backoff: want Base > 0, Max ≥ Base, Multiplier ≥ 1, Jitter in [0,1]"))
		}
		if r.MaxAttempts < 0 {
			c.fail(optionError("WithReShardRetry", "MaxAttempts %d, want ≥ 0 (0: no cap)", r.MaxAttempts))
		}
		c.reshardRetry = r
	}
}

// ReShardError is why one attempt at a re-shard failed. The ReShard event with Phase failed
// carries it in Err, and so does a ReShard command's Reply once the re-shard is given up.
// errors.Is and errors.As see the cause through it.
type ReShardError struct {
	// Attempt counts the attempts of this re-shard, 1 for the first.
	Attempt int
	// RetryIn is when the next attempt starts (clock time), 0 when none will: the re-shard is
	// given up and the running shards go on alone.
	RetryIn time.Duration
	Err     error
}

// Error says which attempt failed, whether another follows, and why.
func (e *ReShardError) Error() string {
	if e.RetryIn > 0 {
		return fmt.Sprintf("connections: re-shard attempt %d failed, next in %v: %v", e.Attempt, e.RetryIn.Round(time.Millisecond), e.Err)
	}
	return fmt.Sprintf("connections: re-shard attempt %d failed, giving up: %v", e.Attempt, e.Err)
}

// Unwrap returns the cause (a *shardctl.BudgetError, a *CloseError, an *HTTPError, …).
func (e *ReShardError) Unwrap() error { return e.Err }

// ReShardReport is what Observer.ReShard gets.
type ReShardReport struct {
	Phase    events.ReShardPhase // started, done or failed
	Old, New int
	// Attempt counts the attempts of this re-shard, 1 for the first.
	Attempt int
	// RetryIn, on a failure, is when the next attempt starts (clock time); 0 when the re-shard
	// is given up.
	RetryIn time.Duration
	// Took is the time from the start to the swap or the failure (clock time).
	Took time.Duration
	// Held is the most events held back at once: the memory cost of the re-shard.
	Held int
	// Duplicates counts dispatches that both sets received and that were delivered once.
	Duplicates int
	// Suppressed counts the new set's guild-loading GUILD_CREATEs not delivered because the bot
	// already had those guilds.
	Suppressed int
	// Released counts the held events delivered at the swap, or, on a failure, those of guilds
	// no running shard covered (the guilds of a shard closed with 4011), delivered as the new
	// set was given up.
	Released int
}

// reshardReq is a re-shard asked for and waiting for GET /gateway/bot.
type reshardReq struct {
	reason   string
	count    int  // 0: as Discord recommends
	required bool // 4011: the count must grow even if Discord recommends the old one
	replies  []chan<- error
	attempt  int // 1 for the first
	// atLeast is the smallest count worth trying (count 0 only): a new set closed with 4011
	// was too small.
	atLeast int
	final   bool // the failure needs a different explicit count: retrying cannot help
}

// reshardWait is a failed re-shard waiting for its next attempt.
type reshardWait struct {
	req   reshardReq
	timer clock.Timer
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
	req        reshardReq
}

// requestReShard starts a re-shard: it first asks GET /gateway/bot for the budget, the bucket
// count and (for count 0) the recommended count.
func (ctl *controller) requestReShard(req reshardReq) {
	if ctl.rs != nil || ctl.pending != nil {
		for _, r := range req.replies {
			replyErr(r, ErrReShardInProgress)
		}
		return
	}
	if w := ctl.wait; w != nil {
		// A command during the wait for a retry starts the next attempt now, with its count;
		// the waiting re-shard's replies and its need to grow carry over.
		w.timer.Stop()
		ctl.wait = nil
		req.required = req.required || w.req.required
		req.replies = append(w.req.replies, req.replies...)
		req.attempt = w.req.attempt
		req.atLeast = w.req.atLeast
	}
	if req.attempt == 0 {
		req.attempt = 1
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
		ctl.reshardFailed(*req, old, req.count, fmt.Errorf("connections: re-shard: %w", n.err), mixStats{}, 0)
		return
	}
	count := req.count
	if count == 0 {
		count = max(n.gw.Shards, ctl.c.cfg.shardCount, req.atLeast)
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
	ctl.beginReShard(count, n.gw, *req)
}

// checkAnswer handles a periodic GET /gateway/bot.
func (ctl *controller) checkAnswer(gw events.GatewayBot) {
	if ctl.resharding() || gw.Shards <= ctl.count {
		return
	}
	ctl.beginReShard(gw.Shards, gw, reshardReq{reason: fmt.Sprintf("GET /gateway/bot recommends %d shards", gw.Shards), attempt: 1})
}

// beginReShard starts the new set beside the old one.
func (ctl *controller) beginReShard(count int, gw events.GatewayBot, req reshardReq) {
	c := ctl.c
	old := ctl.count
	reason := req.reason
	if gw.SessionStartLimit.Total > 0 {
		if err := shardctl.CheckBudget(gw.SessionStartLimit, count); err != nil {
			ctl.reshardFailed(req, old, count, err, mixStats{}, 0)
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
		req:      req,
	}
	ctl.rs = rs
	// The old set's tap goes in before any new shard exists, so that every dispatch the old set
	// delivers from here on is known to the merge.
	ctl.set.tap.Store(&tap{m: rs.mix, oldSet: true})
	rs.set.tap.Store(&tap{m: rs.mix})
	c.log.Info("re-sharding", zap.Int("old", old), zap.Int("new", count), zap.String("reason", reason), zap.Int("attempt", req.attempt))
	c.q.push(runtimeEvent(-1, KindReShard, events.ReShard{Old: old, New: count, Phase: events.ReShardStarted, Reason: attemptReason(reason, req.attempt), Attempt: max(req.attempt, 1)}))
	c.cfg.observer.ReShard(ReShardReport{Phase: events.ReShardStarted, Old: old, New: count, Attempt: req.attempt})
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
		runtimeEvent(-1, KindReShard, events.ReShard{Old: rs.old, New: rs.new, Phase: events.ReShardDone, Reason: attemptReason(rs.reason, rs.req.attempt), Attempt: max(rs.req.attempt, 1)}))
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
	c.cfg.observer.ReShard(ReShardReport{Phase: events.ReShardDone, Old: rs.old, New: rs.new, Attempt: rs.req.attempt, Took: took,
		Held: stats.peakHeld, Duplicates: stats.duplicates, Suppressed: stats.suppressed, Released: released})
	for _, r := range rs.req.replies {
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
	running := make(map[int]bool, len(ctl.shards))
	for id := range ctl.shards {
		running[id] = true
	}
	stats := rs.mix.abort(running)
	if stats.rescued > 0 {
		ctl.c.log.Info("re-shard given up: delivered what its shards received for guilds no running shard covers",
			zap.Int("released", stats.rescued))
	}
	ctl.set.tap.Store(nil)
	for _, s := range rs.shards {
		s.stop(events.CloseNormal)
	}
	ctl.reshardFailed(rs.req, rs.old, rs.new, err, stats, ctl.c.cfg.clock.Now().Sub(rs.started))
}

// reshardFailed reports a re-shard attempt that did not happen and schedules the next one when
// the retry policy allows. The old set keeps running; if nothing of it is left and no attempt
// follows, the connection ends.
func (ctl *controller) reshardFailed(req reshardReq, old, count int, cause error, stats mixStats, took time.Duration) {
	c := ctl.c
	attempt := max(req.attempt, 1)
	var retryIn time.Duration
	if ctl.retryable(req, cause) {
		retryIn = ctl.retryDelay(attempt, cause)
	}
	err := &ReShardError{Attempt: attempt, RetryIn: retryIn, Err: cause}
	fields := []zap.Field{zap.Int("old", old), zap.Int("new", count), zap.Int("running", len(ctl.shards)),
		zap.Int("attempt", attempt), zap.Error(cause)}
	if retryIn > 0 {
		c.log.Warn("re-shard failed; keeping the running shards and trying again", append(fields, zap.Duration("retry_in", retryIn))...)
	} else {
		c.log.Error("re-shard failed; keeping the running shards", fields...)
	}
	c.q.push(runtimeEvent(-1, KindReShard, events.ReShard{Old: old, New: count, Phase: events.ReShardFailed, Reason: attemptReason(req.reason, attempt), Err: err, Attempt: attempt, RetryIn: retryIn}))
	c.cfg.observer.ReShard(ReShardReport{Phase: events.ReShardFailed, Old: old, New: count, Attempt: attempt, RetryIn: retryIn, Took: took,
		Held: stats.peakHeld, Duplicates: stats.duplicates, Suppressed: stats.suppressed, Released: stats.rescued})
	if retryIn > 0 {
		req.attempt = attempt + 1
		ctl.wait = &reshardWait{req: req, timer: c.cfg.clock.NewTimer(retryIn)}
		return
	}
	for _, r := range req.replies {
		replyErr(r, err)
	}
	if len(ctl.shards) == 0 {
		c.fail(err)
	}
}

// retryable reports whether the policy gives a failed re-shard another attempt.
func (ctl *controller) retryable(req reshardReq, err error) bool {
	p := ctl.c.cfg.reshardRetry
	if !req.required && !p.Requested || req.final || ctl.c.ctx.Err() != nil {
		return false
	}
	if p.MaxAttempts > 0 && req.attempt >= p.MaxAttempts {
		return false
	}
	if errors.Is(err, ErrUnauthorized) || errors.Is(err, context.Canceled) {
		return false
	}
	var ce *CloseError
	if errors.As(err, &ce) && ce.Code != 0 && ce.Fatal() {
		return false // a configuration mistake (4010, 4012–4014): every attempt would end alike
	}
	return true
}

// retryDelay is the wait after the attempt-th failure: the policy's backoff, and for want of
// session starts at least until the budget resets.
func (ctl *controller) retryDelay(attempt int, err error) time.Duration {
	b := ctl.c.cfg.reshardRetry.Backoff
	d := float64(b.Base)
	for i := 1; i < attempt && d < float64(b.Max); i++ {
		d *= b.Multiplier
	}
	d = min(d, float64(b.Max))
	d *= 1 + b.Jitter*(2*rand.Float64()-1)
	delay := max(time.Duration(d), time.Millisecond)
	var be *shardctl.BudgetError
	if errors.As(err, &be) && be.ResetAfter > delay {
		delay = be.ResetAfter
	}
	return delay
}

// requireReShard marks the re-shard under way (asked for, running or waiting for a retry) as
// required: a shard of the running set was closed with 4011.
func (ctl *controller) requireReShard() {
	switch {
	case ctl.pending != nil:
		ctl.pending.required = true
	case ctl.rs != nil:
		ctl.rs.req.required = true
	case ctl.wait != nil:
		ctl.wait.req.required = true
	}
}

// retryNow starts the attempt a failed re-shard waited for.
func (ctl *controller) retryNow() {
	w := ctl.wait
	ctl.wait = nil
	ctl.requestReShard(w.req)
}

// attemptReason is a ReShard event's Reason: what started the re-shard, and which attempt this
// is after the first.
func attemptReason(reason string, attempt int) string {
	if attempt <= 1 {
		return reason
	}
	return fmt.Sprintf("%s (attempt %d)", reason, attempt)
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
