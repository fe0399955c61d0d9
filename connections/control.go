package connections

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
)

type noteKind int

const (
	noteReady   noteKind = iota // READY or RESUMED on a shard
	noteFatal                   // the shard stopped for good (err)
	noteReShard                 // the shard got 4011
	noteGateway                 // a re-shard's GET /gateway/bot finished (gw, err)
	noteCheck                   // WithReShardCheck's GET /gateway/bot answered (gw)
)

type note struct {
	kind  noteKind
	shard *shard
	err   error
	gw    events.GatewayBot
}

// controller is the state of the control goroutine; nothing else touches it.
type controller struct {
	c      *Conn
	count  int
	gw     events.GatewayBot
	set    *shardSet // the shards of the table: the running set
	shards map[int]*shard

	readySeen  map[int]bool
	announced  bool
	fatalErr   error
	disconnect []chan<- error
	presence   *events.PresenceUpdate // the last StatusUpdate to every shard, for a new set

	pending   *reshardReq  // a re-shard waiting for GET /gateway/bot
	wait      *reshardWait // a failed re-shard waiting for its next attempt
	rs        *reshardRun  // a re-shard whose new set runs beside the old one
	filter    clock.Timer  // the filter window after the last swap
	filterMix *mixer
	flushed   []chan struct{} // closed as each new shard flushes after the swap
}

// resharding reports whether a re-shard is asked for, in progress or waiting to be retried.
func (ctl *controller) resharding() bool {
	return ctl.rs != nil || ctl.pending != nil || ctl.wait != nil
}

func (ctl *controller) run(initial []ShardState) {
	c := ctl.c
	defer func() {
		if ctl.rs != nil {
			ctl.rs.stopTimers()
		}
		if ctl.filter != nil {
			ctl.filter.Stop()
		}
		if ctl.wait != nil {
			ctl.wait.timer.Stop()
		}
		c.wg.Wait()
		for _, r := range ctl.disconnect {
			replyErr(r, nil)
		}
		close(c.done)
	}()
	for _, st := range initial {
		ctl.startShard(st)
	}
	if c.ownsAll && c.cfg.reshardCheck > 0 {
		c.wg.Go(ctl.checkLoop)
	}
	for {
		var (
			wake                                   <-chan struct{}
			loaded, drained, late, filtered, retry <-chan time.Time
		)
		if ctl.wait != nil {
			retry = ctl.wait.timer.C()
		}
		if rs := ctl.rs; rs != nil {
			wake = rs.mix.wake
			late = rs.deadline.C()
			if rs.loadTimer != nil && !rs.loaded {
				loaded = rs.loadTimer.C()
			}
			if rs.drainTimer != nil {
				drained = rs.drainTimer.C()
			}
		}
		if ctl.filter != nil {
			filtered = ctl.filter.C()
			wake = ctl.filterMix.wake
		}
		select {
		case <-c.ctx.Done():
			// Every shard's context is a child of c.ctx: they all close with their stop code
			// (1000 unless a removal set another) and exit; the deferred Wait collects them.
			return
		case cmd := <-c.cmds:
			ctl.handle(cmd)
		case n := <-c.notes:
			ctl.handleNote(n)
		case <-wake:
			if ctl.rs != nil {
				ctl.progress()
			} else {
				ctl.filterProgress()
			}
		case <-loaded:
			// Every new shard is READY; guilds still missing are not waited for any longer.
			ctl.c.log.Warn("re-shard: not every guild loaded in time; going on", zap.Duration("timeout", reshardGuildTimeout))
			ctl.setLoaded()
			ctl.progress()
		case <-drained:
			// An old shard that cannot flush (reconnecting for this long): what it received
			// before the new sessions began and has not read is given up.
			ctl.c.log.Warn("re-shard: old shards did not flush in time; swapping anyway", zap.Duration("timeout", reshardDrainTimeout))
			ctl.swap()
		case <-late:
			ctl.abortReShard(fmt.Errorf("connections: re-shard: the new shard set was not ready in time"))
		case <-filtered:
			ctl.endFilter()
		case <-retry:
			ctl.retryNow()
		}
	}
}

func (ctl *controller) startShard(st ShardState) *shard {
	if st.Count == 0 {
		st.Count = ctl.count
	}
	s := newShard(ctl.c, st)
	s.set = ctl.set
	ctl.shards[st.ID] = s
	ctl.c.wg.Go(s.run)
	return s
}

// forget removes a shard that ended by itself, once it has exited, and answers whatever was
// still queued for it.
func (ctl *controller) forget(s *shard) {
	if ctl.shards[s.id] == s {
		delete(ctl.shards, s.id)
	}
	<-s.done
	s.drainSends()
}

func (ctl *controller) handleNote(n note) {
	c := ctl.c
	switch n.kind {
	case noteReady:
		if ctl.shards[n.shard.id] != n.shard {
			return
		}
		ctl.readySeen[n.shard.id] = true
		if ctl.announced || ctl.resharding() {
			return
		}
		for id := range ctl.shards {
			if !ctl.readySeen[id] {
				return
			}
		}
		ctl.announced = true
		ids := sortedIDs(ctl.shards)
		c.log.Info("all shards connected", zap.Int("shards", len(ids)))
		c.q.push(runtimeEvent(-1, KindConnectedAllShards, events.ConnectedAllShards{Shards: ids}))

	case noteFatal:
		if ctl.newSetShard(n.shard) {
			ctl.abortReShard(fmt.Errorf("connections: re-shard: new shard set: %w", n.err))
			return
		}
		current := ctl.shards[n.shard.id] == n.shard
		ctl.forget(n.shard)
		if !current {
			return // a shard already removed or replaced by a re-shard
		}
		if ctl.fatalErr == nil {
			ctl.fatalErr = n.err
		}
		if len(ctl.shards) == 0 && !ctl.resharding() {
			c.fail(ctl.fatalErr)
		}

	case noteReShard:
		if ctl.newSetShard(n.shard) {
			// The new count is too small too: a retry asks for at least twice as many, or,
			// for a count the caller chose, is pointless unless Discord requires the re-shard.
			if rs := ctl.rs; rs.req.count == 0 || rs.req.required {
				rs.req.count = 0
				rs.req.atLeast = max(rs.req.atLeast, 2*rs.new)
			} else {
				rs.req.final = true
			}
			ctl.abortReShard(fmt.Errorf("connections: re-shard: shard %d of the new set of %d was closed with 4011", n.shard.id, n.shard.count))
			return
		}
		current := ctl.shards[n.shard.id] == n.shard
		ctl.forget(n.shard)
		if !current {
			return
		}
		delete(ctl.readySeen, n.shard.id)
		if !c.ownsAll {
			old := ctl.count
			for _, s := range ctl.shards {
				s.stop(events.CloseNormal)
			}
			clear(ctl.shards)
			c.q.push(runtimeEvent(-1, KindReShard, events.ReShard{Old: old, Phase: events.ReShardRequired, Reason: fmt.Sprintf("shard %d closed with 4011", n.shard.id)}))
			c.fail(fmt.Errorf("%w: shard %d was closed with 4011", ErrReShardRequired, n.shard.id))
			return
		}
		if ctl.resharding() {
			// The re-shard under way covers this shard's guilds; now it is one Discord
			// requires, retried as a 4011 re-shard is.
			ctl.requireReShard()
			return
		}
		// The rest of the old set keeps delivering while the new one starts.
		ctl.requestReShard(reshardReq{reason: fmt.Sprintf("shard %d closed with 4011", n.shard.id), required: true})

	case noteGateway:
		ctl.gatewayAnswer(n)

	case noteCheck:
		ctl.checkAnswer(n.gw)
	}
}

func (ctl *controller) handle(cmd Command) {
	c := ctl.c
	switch cmd := cmd.(type) {
	case AddShards:
		if ctl.resharding() {
			replyErr(cmd.Reply, fmt.Errorf("%w: AddShards refused", ErrReShardInProgress))
			return
		}
		var errs []error
		for _, st := range cmd.States {
			count := st.Count
			if count == 0 {
				count = ctl.count
			}
			switch {
			case st.ID < 0 || st.ID >= count:
				errs = append(errs, fmt.Errorf("%w: shard %d out of range for %d shards", ErrInvalidOption, st.ID, count))
			case ctl.shards[st.ID] != nil:
				errs = append(errs, fmt.Errorf("%w: shard %d already runs", ErrInvalidOption, st.ID))
			default:
				st.Count = count
				if st.SessionID == "" {
					st.Seq, st.ResumeURL = 0, ""
				}
				ctl.startShard(st)
			}
		}
		replyErr(cmd.Reply, errors.Join(errs...))

	case RemoveShards:
		if ctl.resharding() {
			replyErr(cmd.Reply, fmt.Errorf("%w: RemoveShards refused", ErrReShardInProgress))
			return
		}
		var errs []error
		for _, id := range cmd.IDs {
			s := ctl.shards[id]
			if s == nil {
				errs = append(errs, fmt.Errorf("%w: %d", ErrUnknownShard, id))
				continue
			}
			delete(ctl.shards, id)
			delete(ctl.readySeen, id)
			s.stop(closeReconnect)
		}
		replyErr(cmd.Reply, errors.Join(errs...))

	case GetShardState:
		var out []ShardState
		ids := cmd.IDs
		if len(ids) == 0 {
			ids = sortedIDs(ctl.shards)
		} else {
			ids = slices.Clone(ids)
			slices.Sort(ids)
			ids = slices.Compact(ids)
		}
		for _, id := range ids {
			if s := ctl.shards[id]; s != nil {
				out = append(out, s.state())
			}
		}
		if cmd.Reply != nil {
			select {
			case cmd.Reply <- out:
			default:
			}
		}

	case StatusUpdate:
		frame, err := encodeCommand(events.OpPresenceUpdate, cmd.Presence)
		if err != nil {
			replyErr(cmd.Reply, err)
			return
		}
		var targets []*shard
		var errs []error
		if len(cmd.Shards) == 0 {
			p := cmd.Presence
			ctl.presence = &p
			for _, id := range sortedIDs(ctl.shards) {
				targets = append(targets, ctl.shards[id])
			}
		} else {
			for _, id := range cmd.Shards {
				if s := ctl.shards[id]; s != nil {
					targets = append(targets, s)
				} else {
					errs = append(errs, fmt.Errorf("%w: %d", ErrUnknownShard, id))
				}
			}
		}
		ctl.route(targets, events.OpPresenceUpdate, frame, cmd.Reply, errs)

	case VoiceStateUpdate:
		d := events.UpdateVoiceState{GuildID: cmd.GuildID, ChannelID: cmd.ChannelID, SelfMute: cmd.Mute, SelfDeaf: cmd.Deaf}
		ctl.routeGuild(cmd.GuildID, events.OpVoiceStateUpdate, d, cmd.Reply)

	case RequestGuildMembers:
		if len(cmd.Nonce) > events.MaxNonceLength {
			replyErr(cmd.Reply, fmt.Errorf("%w: nonce is %d bytes; Discord silently drops nonces over %d", ErrInvalidOption, len(cmd.Nonce), events.MaxNonceLength))
			return
		}
		if cmd.Query == nil && len(cmd.UserIDs) == 0 {
			replyErr(cmd.Reply, fmt.Errorf("%w: RequestGuildMembers needs Query or UserIDs", ErrInvalidOption))
			return
		}
		d := events.RequestGuildMembers{GuildID: cmd.GuildID, Query: cmd.Query, Limit: cmd.Limit, Presences: cmd.Presences, UserIDs: cmd.UserIDs, Nonce: cmd.Nonce}
		ctl.routeGuild(cmd.GuildID, events.OpRequestGuildMembers, d, cmd.Reply)

	case ReShard:
		switch {
		case !c.ownsAll:
			replyErr(cmd.Reply, fmt.Errorf("%w: a connection made with ConnectShards runs part of the bot and cannot re-shard it", ErrInvalidOption))
		case cmd.Count < 0:
			replyErr(cmd.Reply, fmt.Errorf("%w: re-shard to %d shards", ErrInvalidOption, cmd.Count))
		case cmd.Count > 0 && cmd.Count == ctl.count && !ctl.resharding():
			replyErr(cmd.Reply, fmt.Errorf("%w: already running %d shards", ErrInvalidOption, cmd.Count))
		default:
			var replies []chan<- error
			if cmd.Reply != nil {
				replies = append(replies, cmd.Reply)
			}
			ctl.requestReShard(reshardReq{reason: "command", count: cmd.Count, replies: replies})
		}

	case Disconnect:
		if cmd.Reply != nil {
			ctl.disconnect = append(ctl.disconnect, cmd.Reply)
		}
		c.cancel()

	default:
		c.log.Warn("ignoring unknown command", zap.String("type", fmt.Sprintf("%T", cmd)))
	}
}

func encodeCommand(op events.Op, d any) ([]byte, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("connections: encode %v: %w", op, err)
	}
	frame := events.Envelope{Op: op, D: raw}.AppendJSON(nil)
	if len(frame) > events.MaxPayloadSize {
		return nil, fmt.Errorf("%w: %v is %d bytes", ErrPayloadTooLarge, op, len(frame))
	}
	return frame, nil
}

func (ctl *controller) routeGuild(guild events.Snowflake, op events.Op, d any, reply chan<- error) {
	frame, err := encodeCommand(op, d)
	if err != nil {
		replyErr(reply, err)
		return
	}
	id := guild.ShardID(ctl.count)
	s := ctl.shards[id]
	if s == nil {
		replyErr(reply, fmt.Errorf("%w: guild %v belongs to shard %d, which this connection does not run", ErrUnknownShard, guild, id))
		return
	}
	ctl.route([]*shard{s}, op, frame, reply, nil)
}

// route queues frame on every target shard and gives reply one answer: nil, or every failure
// joined. It never blocks: a shard whose queue is full fails at once, and with several targets
// a small goroutine gathers their answers.
func (ctl *controller) route(targets []*shard, op events.Op, frame []byte, reply chan<- error, errs []error) {
	c := ctl.c
	if len(targets) == 0 {
		if len(errs) == 0 {
			errs = append(errs, fmt.Errorf("%w: no shard to send %v to", ErrUnknownShard, op))
		}
		replyErr(reply, errors.Join(errs...))
		return
	}
	answers := make(chan error, len(targets))
	queued := 0
	for _, s := range targets {
		req := sendReq{op: op, frame: frame, reply: func(err error) { answers <- err }}
		select {
		case s.sends <- req:
			queued++
		default:
			errs = append(errs, fmt.Errorf("%w: shard %d", ErrSendQueueFull, s.id))
		}
	}
	if queued == 0 {
		replyErr(reply, errors.Join(errs...))
		return
	}
	c.wg.Go(func() {
		for range queued {
			select {
			case err := <-answers:
				if err != nil {
					errs = append(errs, err)
				}
			case <-c.ctx.Done():
				replyErr(reply, ErrClosed)
				return
			}
		}
		replyErr(reply, errors.Join(errs...))
	})
}
