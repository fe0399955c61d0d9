package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/commands"
	"github.com/cordage/cordage/messaging"
)

// intents are what pingbot needs: guild and DM messages with their content. MESSAGE_CONTENT is
// privileged: enable it for the application in Discord's developer portal.
const intents = events.IntentGuilds | events.IntentGuildMessages | events.IntentDirectMessages | events.IntentMessageContent

// maxRemembered bounds the set of answered pings: redeliveries come within a resume, minutes at
// most, never thousands of pings later.
const maxRemembered = 10000

// pingCommand is /ping: no options.
type pingCommand struct{}

func (pingCommand) Command() commands.Meta {
	return commands.Meta{Name: "ping", Description: "Check that the bot answers"}
}

// botConfig is what a bot needs to run; the sandbox fills it with the simulator's values.
type botConfig struct {
	token  string
	apiURL string
	log    *zap.Logger
	// progress, when set, receives a status line every tick.
	progress func(status)
	tick     time.Duration
	// extra runtime options (the sandbox's dialer and backoff, for example).
	connOpts []connections.Option
}

// bot is pingbot: the runtime, the REST client, the command registry and the dispatcher, and
// the counters its progress line shows.
type bot struct {
	cfg  botConfig
	log  *zap.Logger
	rest *messaging.Client
	reg  *commands.Registry
	mux  *events.Mux

	ctx   context.Context // the bot's life; replies and interactions run under it
	inter sync.WaitGroup  // interactions answered on goroutines of their own

	self  atomic.Uint64 // the bot's user id, from READY
	appID atomic.Uint64
	syncs atomic.Int32 // Syncs in flight, at most one

	mu       sync.Mutex
	replied  map[events.Snowflake]bool // recent pings answered, so a redelivered one is not answered twice
	order    []events.Snowflake        // replied's keys, oldest first, so the set stays bounded
	shardsOK map[int]bool
	seenOnce map[int]bool

	events, pings, pongs, slash, replyErrs, dupDeliveries, reconnects atomic.Int64
}

// status is one progress sample.
type status struct {
	shardsReady, shards int
	events              int64
	pings, pongs, slash int64
	replyErrors         int64
	reconnects          int64
}

func newBot(ctx context.Context, cfg botConfig) (*bot, error) {
	if cfg.log == nil {
		cfg.log = zap.NewNop()
	}
	if cfg.tick <= 0 {
		cfg.tick = time.Second
	}
	rest, err := messaging.New(cfg.token, messaging.WithBaseURL(cfg.apiURL), messaging.WithLogger(cfg.log.Named("rest")),
		messaging.WithUserAgent("pingbot"))
	if err != nil {
		return nil, err
	}
	// Replies wait in the handler's lane while a channel's rate limit is exhausted; guilds run in
	// parallel and each guild's messages are answered in order.
	mux, err := events.NewMux(events.WithMuxLogger(cfg.log.Named("mux")), events.WithConcurrency(8, events.PerGuild, 1024))
	if err != nil {
		return nil, err
	}
	b := &bot{
		cfg: cfg, log: cfg.log, rest: rest, mux: mux, ctx: ctx,
		reg:      commands.New(commands.WithLogger(cfg.log.Named("commands"))),
		replied:  map[events.Snowflake]bool{},
		shardsOK: map[int]bool{},
		seenOnce: map[int]bool{},
	}
	err = errors.Join(
		commands.Register(b.reg, func(ctx context.Context, c *commands.Context, _ pingCommand) error {
			if err := c.Reply(ctx, "pong"); err != nil {
				return err
			}
			b.slash.Add(1)
			return nil
		}),
		events.On(mux, events.EventReady, b.onReady),
		events.On(mux, events.EventMessageCreate, b.onMessage),
		events.On(mux, events.EventInteractionCreate, b.onInteraction),
		events.On(mux, events.RuntimeShardReady, func(_ context.Context, shard int, _ *events.ShardReady) { b.shardUp(shard, false) }),
		events.On(mux, events.RuntimeShardResumed, func(_ context.Context, shard int, _ *events.ShardResumed) { b.shardUp(shard, true) }),
		events.On(mux, events.RuntimeShardDisconnected, func(_ context.Context, shard int, _ *events.ShardDisconnected) { b.shardDown(shard) }),
		events.On(mux, events.RuntimeShardStopped, func(_ context.Context, shard int, s *events.ShardStopped) {
			b.shardDown(shard)
			b.log.Error("shard stopped for good", zap.Int("shard", shard), zap.Stringer("code", s.Code), zap.String("reason", s.Reason))
		}),
	)
	if err != nil {
		mux.Close()
		return nil, err
	}
	return b, nil
}

func (b *bot) shardUp(shard int, resumed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.shardsOK[shard] = true
	if resumed || b.seenOnce[shard] {
		b.reconnects.Add(1) // a session resumed, or a new one after the first: one more recovery
	}
	b.seenOnce[shard] = true
}

func (b *bot) shardDown(shard int) {
	b.mu.Lock()
	b.shardsOK[shard] = false
	b.mu.Unlock()
}

// onReady syncs /ping on shard 0's READY: one GET when nothing changed, a bulk overwrite when
// something did. It runs on its own goroutine so the guild lane is not held by REST.
func (b *bot) onReady(ctx context.Context, shard int, r *events.Ready) {
	b.self.Store(uint64(r.User.ID))
	app := r.Application.ID
	if app == 0 {
		app = r.User.ID
	}
	b.appID.Store(uint64(app))
	if shard != 0 || !b.syncs.CompareAndSwap(0, 1) {
		return
	}
	b.inter.Go(func() {
		defer b.syncs.Store(0)
		sctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		defer cancel()
		changed, err := b.reg.Sync(sctx, b.rest, app, 0)
		if err != nil {
			b.log.Warn("slash command sync failed", zap.Error(err))
			return
		}
		b.log.Info("slash commands in sync", zap.Bool("overwritten", changed))
	})
}

// onMessage answers every message whose content is exactly "!ping" once, in the same channel,
// as a reply to it.
func (b *bot) onMessage(ctx context.Context, shard int, m *events.Message) {
	if m.Author.Bot || uint64(m.Author.ID) == b.self.Load() || m.Content != "!ping" {
		return
	}
	b.mu.Lock()
	dup := b.replied[m.ID]
	if !dup {
		b.replied[m.ID] = true
		b.order = append(b.order, m.ID)
		if len(b.order) > maxRemembered {
			delete(b.replied, b.order[0])
			b.order = b.order[1:]
		}
	}
	b.mu.Unlock()
	if dup {
		// The runtime delivers each event of a session once; a second delivery would be a bug
		// worth seeing in the summary, but never a second reply.
		b.dupDeliveries.Add(1)
		return
	}
	b.pings.Add(1)
	rctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := b.rest.Reply(rctx, m.ChannelID, m.ID, fmt.Sprintf("pong (shard %d)", shard)); err != nil {
		b.replyErrs.Add(1)
		b.mu.Lock()
		delete(b.replied, m.ID) // not answered: a redelivery may try again
		b.mu.Unlock()
		b.log.Warn("reply failed", zap.Stringer("message_id", m.ID), zap.Error(err))
		return
	}
	b.pongs.Add(1)
}

// onInteraction answers on a goroutine of its own: Discord's 3-second deadline must not wait
// behind a guild's message replies.
func (b *bot) onInteraction(_ context.Context, _ int, in *events.Interaction) {
	b.inter.Go(func() {
		ictx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
		defer cancel()
		if err := b.reg.HandleInteraction(ictx, b.rest, in); err != nil && !errors.Is(err, commands.ErrNotHandled) {
			b.replyErrs.Add(1)
			b.log.Warn("interaction not answered", zap.Stringer("interaction_id", in.ID), zap.Error(err))
		}
	})
}

func (b *bot) status(shards int) status {
	b.mu.Lock()
	ready := 0
	for _, ok := range b.shardsOK {
		if ok {
			ready++
		}
	}
	b.mu.Unlock()
	return status{
		shardsReady: ready, shards: shards, events: b.events.Load(),
		pings: b.pings.Load(), pongs: b.pongs.Load(), slash: b.slash.Load(),
		replyErrors: b.replyErrs.Load(), reconnects: b.reconnects.Load(),
	}
}

// run connects every shard and feeds the out channel to the dispatcher from a select loop,
// next to the progress ticker, until ctx ends or the runtime stops. It then closes the
// runtime, the dispatcher and the interaction goroutines, and returns the runtime's error, if
// any.
func (b *bot) run(ctx context.Context) error {
	out := make(chan connections.Event, 256)
	opts := append([]connections.Option{
		connections.WithAPIURL(b.cfg.apiURL),
		connections.WithIntents(intents),
		connections.WithLogger(b.log.Named("gateway")),
	}, b.cfg.connOpts...)
	conn, err := connections.ConnectBot(ctx, b.cfg.token, out, opts...)
	if err != nil {
		b.mux.Close()
		return err
	}
	states, _ := conn.ShardStates(ctx)
	shards := len(states)
	tick := time.NewTicker(b.cfg.tick)
	defer tick.Stop()
	var runErr error
loop:
	for {
		select {
		case ev := <-out:
			b.events.Add(1)
			if err := b.mux.Handle(ctx, ev); err != nil {
				break loop // ctx ended while a lane was full
			}
		case <-tick.C:
			if b.cfg.progress != nil {
				b.cfg.progress(b.status(shards))
			}
		case <-conn.Done():
			runErr = conn.Err()
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	// Close the runtime first (it sends nothing after Done), then let the dispatcher finish
	// what it queued; replies still in flight end with b.ctx.
	if err := conn.Close(); err != nil && runErr == nil {
		runErr = err
	}
	b.mux.Close()
	b.inter.Wait()
	b.rest.CloseIdleConnections()
	return runErr
}

// printStatus writes one progress line.
func printStatus(w io.Writer, s status, extra string, rate float64, overwrite bool) {
	line := fmt.Sprintf("shards %d/%d ready | %d events (%.0f/s) | !ping answered %d/%d | /ping answered %d | reconnects survived %d",
		s.shardsReady, s.shards, s.events, rate, s.pongs, s.pings, s.slash, s.reconnects)
	if s.replyErrors > 0 {
		line += fmt.Sprintf(" | %d reply errors", s.replyErrors)
	}
	if extra != "" {
		line += " | " + extra
	}
	if overwrite {
		fmt.Fprintf(w, "\r\x1b[K%s", line)
		return
	}
	fmt.Fprintln(w, strings.TrimSpace(line))
}
