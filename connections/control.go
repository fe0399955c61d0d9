package connections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/shardctl"
)

type noteKind int

const (
	noteReady   noteKind = iota // READY or RESUMED on a shard
	noteFatal                   // the shard stopped for good (err)
	noteReShard                 // the shard got 4011
	noteGateway                 // a re-shard's GET /gateway/bot finished (gw, err)
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
	shards map[int]*shard

	readySeen  map[int]bool
	announced  bool
	resharding bool
	fatalErr   error
	disconnect []chan<- error
}

func (ctl *controller) run(initial []ShardState) {
	c := ctl.c
	defer func() {
		c.wg.Wait()
		for _, r := range ctl.disconnect {
			replyErr(r, nil)
		}
		close(c.done)
	}()
	for _, st := range initial {
		ctl.startShard(st)
	}
	for {
		select {
		case <-c.ctx.Done():
			// Every shard's context is a child of c.ctx: they all close with their stop code
			// (1000 unless a removal set another) and exit; the deferred Wait collects them.
			return
		case cmd := <-c.cmds:
			ctl.handle(cmd)
		case n := <-c.notes:
			ctl.handleNote(n)
		}
	}
}

func (ctl *controller) startShard(st ShardState) *shard {
	if st.Count == 0 {
		st.Count = ctl.count
	}
	s := newShard(ctl.c, st)
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
		if ctl.announced || ctl.resharding {
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
		current := ctl.shards[n.shard.id] == n.shard
		ctl.forget(n.shard)
		if !current {
			return // a shard already removed or replaced by a re-shard
		}
		if ctl.fatalErr == nil {
			ctl.fatalErr = n.err
		}
		if len(ctl.shards) == 0 && !ctl.resharding {
			c.fail(ctl.fatalErr)
		}

	case noteReShard:
		current := ctl.shards[n.shard.id] == n.shard
		ctl.forget(n.shard)
		if !current || ctl.resharding {
			return
		}
		ctl.resharding = true
		old := ctl.count
		for _, s := range ctl.shards {
			s.stop(events.CloseNormal) // sessions with the old count are of no further use
		}
		clear(ctl.shards)
		clear(ctl.readySeen)
		if !c.ownsAll {
			c.q.push(runtimeEvent(-1, KindReShard, events.ReShard{Old: old}))
			c.fail(fmt.Errorf("%w: shard %d was closed with 4011", ErrReShardRequired, n.shard.id))
			return
		}
		c.wg.Go(func() { ctl.fetchGateway() })

	case noteGateway:
		if n.err != nil {
			c.fail(fmt.Errorf("connections: re-shard: %w", n.err))
			return
		}
		old := ctl.count
		ctl.count = n.gw.Shards
		if c.cfg.shardCount > ctl.count {
			ctl.count = c.cfg.shardCount
		}
		if ctl.count <= old {
			// Discord closed with 4011, so the old count is too low whatever the
			// recommendation says.
			ctl.count = old * 2
		}
		ctl.gw = n.gw
		c.log.Info("re-sharding", zap.Int("old", old), zap.Int("new", ctl.count))
		c.q.push(runtimeEvent(-1, KindReShard, events.ReShard{Old: old, New: ctl.count}))
		if n.gw.SessionStartLimit.Total > 0 {
			if err := shardctl.CheckBudget(n.gw.SessionStartLimit, ctl.count); err != nil {
				c.fail(err)
				return
			}
		}
		ctl.resharding = false
		ctl.announced = false
		for _, id := range shardctl.BucketOrder(shardctl.ShardIDs(ctl.count), max(n.gw.SessionStartLimit.MaxConcurrency, 1)) {
			ctl.startShard(ShardState{ID: id, Count: ctl.count})
		}
	}
}

// fetchGateway asks for the new shard count, retrying with backoff, and reports to the loop.
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

func (ctl *controller) handle(cmd Command) {
	c := ctl.c
	switch cmd := cmd.(type) {
	case AddShards:
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
