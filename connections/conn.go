package connections

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/cordage/cordage/connections/internal/transport"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/shardctl"
)

// identifyMargin is added to Discord's 5 s between identifies of one bucket by the default
// gate: Discord measures the spacing when the identifies arrive, and network delay differs from
// one connection to the next.
const identifyMargin = 500 * time.Millisecond

// Conn is a running set of shards. It is safe for concurrent use.
//
// Every method is sugar over a Command sent on Commands(); the control goroutine carries them
// out one at a time.
type Conn struct {
	cfg        *config
	token      *secret
	log        *zap.Logger
	gate       shardctl.Gate
	dialer     *websocket.Dialer
	gatewayURL string
	ownsAll    bool // started by ConnectBot: may re-shard by itself

	ctx    context.Context // cancelled by Close, Disconnect, the caller's ctx, or a fatal stop
	cancel context.CancelFunc
	q      *queue
	cmds   chan Command
	notes  chan note
	done   chan struct{}
	wg     sync.WaitGroup

	errMu sync.Mutex
	err   error
}

// ConnectBot asks Discord for the recommended shard count and gateway URL (GET /gateway/bot),
// checks the session-start budget, and starts every shard, identifying through the gate in
// bucket order. It returns once the shards are started, not when they are ready: watch out for
// the ConnectedAllShards event. When Discord closes a shard with 4011 (sharding required) the
// connection re-shards without downtime (see the ReShard command).
//
// ctx bounds the runtime's whole life: cancelling it is Disconnect. The runtime sends every
// dispatch and runtime event on out and never closes out; after Done it sends nothing more.
func ConnectBot(ctx context.Context, token string, out chan<- Event, opts ...Option) (*Conn, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, optionError("token", "empty")
	}
	tok := &secret{value: token}
	gw, err := getGatewayBot(ctx, cfg, tok)
	if err != nil {
		return nil, err
	}
	count := gw.Shards
	if cfg.shardCount > 0 {
		count = cfg.shardCount
	}
	return start(ctx, cfg, tok, out, gw, shardctl.ShardIDs(count), count, true)
}

// ConnectShards starts the given shards of a bot whose gateway information the caller already
// has (from GetWebsocketGateway), for example to run part of a bot's shards in this process.
// The shard count is gw.Shards unless WithShardCount says otherwise. Use WithIdentifyGate to
// share identify permission with other connections or processes.
//
// On close 4011 (sharding required) it sends a ReShard event and ends with an error wrapping
// ErrReShardRequired, since re-sharding needs the whole bot. Everything else is as ConnectBot.
func ConnectShards(ctx context.Context, token string, out chan<- Event, gw events.GatewayBot, shardIDs []int, opts ...Option) (*Conn, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, optionError("token", "empty")
	}
	count := gw.Shards
	if cfg.shardCount > 0 {
		count = cfg.shardCount
	}
	return start(ctx, cfg, &secret{value: token}, out, gw, shardIDs, count, false)
}

func start(ctx context.Context, cfg *config, tok *secret, out chan<- Event, gw events.GatewayBot, ids []int, count int, ownsAll bool) (*Conn, error) {
	if out == nil {
		return nil, optionError("out", "nil channel")
	}
	if err := shardctl.ValidateShards(ids, count); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	gwURL := gw.URL
	if cfg.gatewayURL != "" {
		gwURL = cfg.gatewayURL
	}
	if _, err := gatewayQuery(gwURL, cfg.compression); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	limit := gw.SessionStartLimit
	known := limit.Total > 0
	if known {
		if err := shardctl.CheckBudget(limit, len(ids)); err != nil {
			return nil, err
		}
		if shardctl.BudgetLow(limit, len(ids)) {
			cfg.log.Warn("session start budget is low",
				zap.Int("remaining", limit.Remaining), zap.Int("total", limit.Total), zap.Int("shards", len(ids)))
		}
		cfg.observer.SessionBudget(limit.Remaining)
	}
	gate := cfg.gate
	if gate == nil {
		gopts := []shardctl.GateOption{shardctl.WithGateClock(cfg.clock), shardctl.WithInterval(shardctl.IdentifyInterval + identifyMargin)}
		if known {
			gopts = append(gopts, shardctl.WithBudget(limit.Remaining))
		}
		gate = shardctl.NewLocalGate(limit.MaxConcurrency, gopts...)
	}
	dialer := cfg.dialer
	if dialer == nil {
		dialer = transport.Dialer()
	}
	rctx, cancel := context.WithCancel(ctx)
	c := &Conn{
		cfg: cfg, token: tok, log: cfg.log, gate: gate, dialer: dialer,
		gatewayURL: gwURL, ownsAll: ownsAll,
		ctx: rctx, cancel: cancel,
		cmds:  make(chan Command),
		notes: make(chan note, 64),
		done:  make(chan struct{}),
	}
	c.q = newQueue(out, rctx.Done(), cfg.overflow, cfg.observer)
	c.wg.Go(c.q.run)
	order := shardctl.BucketOrder(ids, max(limit.MaxConcurrency, 1))
	states := make([]ShardState, len(order))
	for i, id := range order {
		states[i] = ShardState{ID: id, Count: count}
	}
	ctl := &controller{c: c, count: count, gw: gw, set: &shardSet{}, shards: make(map[int]*shard), readySeen: make(map[int]bool)}
	// The control goroutine is the root of the tree: it waits for every other goroutine
	// before it closes Done.
	go ctl.run(states)
	return c, nil
}

// Commands returns the channel the control goroutine reads commands from. A send blocks until
// the control goroutine takes the command; select on Done too, since nothing reads it after.
func (c *Conn) Commands() chan<- Command { return c.cmds }

// Send hands cmd to the control goroutine, waiting at most until ctx ends or the connection
// is done. It does not wait for the command's result; use its Reply channel for that.
func (c *Conn) Send(ctx context.Context, cmd Command) error {
	if cmd == nil {
		return optionError("Send", "nil command")
	}
	select {
	case c.cmds <- cmd:
		return nil
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed after every goroutine of the runtime has returned.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended: nil while it runs and after Close, Disconnect or ctx
// cancellation; a *CloseError when every shard stopped on a fatal close code; an error
// wrapping ErrReShardRequired (ConnectShards closed with 4011), or why a re-shard failed when
// no shard of the old set was left to keep running.
func (c *Conn) Err() error {
	select {
	case <-c.done:
	default:
		return nil
	}
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Wait blocks until Done and returns Err.
func (c *Conn) Wait() error {
	<-c.done
	return c.Err()
}

// Close stops every shard (closing with 1000, which ends their sessions), waits for every
// goroutine and returns Err. It is idempotent, and safe to call from the goroutine that reads
// out.
func (c *Conn) Close() error {
	c.cancel()
	return c.Wait()
}

// fail ends the connection with err (the first error wins). The events that explain the end
// (ShardStopped, ReShard, …) are delivered first, while the caller keeps reading out; Close
// cuts that short.
func (c *Conn) fail(err error) {
	c.errMu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.errMu.Unlock()
	drained := c.q.drained()
	c.wg.Go(func() {
		select {
		case <-drained:
		case <-c.ctx.Done():
		}
		c.cancel()
	})
}

// note passes a shard's news to the control goroutine without ever blocking past shutdown.
func (c *Conn) note(n note) {
	select {
	case c.notes <- n:
	case <-c.ctx.Done():
	}
}

// Queued returns how many events wait for the out channel: the consumer's lag.
func (c *Conn) Queued() int { return c.q.depth() }

func (c *Conn) request(ctx context.Context, cmd Command, reply <-chan error) error {
	if err := c.Send(ctx, cmd); err != nil {
		return err
	}
	select {
	case err := <-reply:
		return err
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// UpdateStatus sends a presence update to the given shards (all when none are given).
func (c *Conn) UpdateStatus(ctx context.Context, p events.PresenceUpdate, shards ...int) error {
	reply := make(chan error, 1)
	return c.request(ctx, StatusUpdate{Shards: shards, Presence: p, Reply: reply}, reply)
}

// UpdateVoiceState sends a voice state update on the guild's shard.
func (c *Conn) UpdateVoiceState(ctx context.Context, v VoiceStateUpdate) error {
	reply := make(chan error, 1)
	v.Reply = reply
	return c.request(ctx, v, reply)
}

// RequestGuildMembers asks the guild's shard for GUILD_MEMBERS_CHUNK dispatches.
func (c *Conn) RequestGuildMembers(ctx context.Context, r RequestGuildMembers) error {
	reply := make(chan error, 1)
	r.Reply = reply
	return c.request(ctx, r, reply)
}

// AddShards starts shards, resuming those whose state carries a session.
func (c *Conn) AddShards(ctx context.Context, states ...ShardState) error {
	reply := make(chan error, 1)
	return c.request(ctx, AddShards{States: states, Reply: reply}, reply)
}

// RemoveShards stops shards, leaving their sessions resumable.
func (c *Conn) RemoveShards(ctx context.Context, ids ...int) error {
	reply := make(chan error, 1)
	return c.request(ctx, RemoveShards{IDs: ids, Reply: reply}, reply)
}

// ShardStates returns the state of the given shards (all when none are given), in id order.
func (c *Conn) ShardStates(ctx context.Context, ids ...int) ([]ShardState, error) {
	reply := make(chan []ShardState, 1)
	if err := c.Send(ctx, GetShardState{IDs: ids, Reply: reply}); err != nil {
		return nil, err
	}
	select {
	case st := <-reply:
		return st, nil
	case <-c.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ReShard moves the bot to n shards without downtime (0: as GET /gateway/bot recommends) and
// returns once the new set has taken over, or why it was given up. See the ReShard command.
func (c *Conn) ReShard(ctx context.Context, n int) error {
	if n < 0 {
		return optionError("ReShard", "%d shards", n)
	}
	reply := make(chan error, 1)
	return c.request(ctx, ReShard{Count: n, Reply: reply}, reply)
}

// Disconnect is Close through the command channel.
func (c *Conn) Disconnect(ctx context.Context) error {
	reply := make(chan error, 1)
	if err := c.Send(ctx, Disconnect{Reply: reply}); err != nil {
		if errors.Is(err, ErrClosed) {
			return nil
		}
		return err
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func sortedIDs(m map[int]*shard) []int {
	ids := make([]int, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
