// Package cluster runs part of a bot's shards in one process and cooperates with the bot's other
// processes through Redis: one identify gate for all of them, shard leases with failover, and
// hand-offs that move live sessions instead of starting new ones.
//
// It lives apart from package shardctl because it drives a *connections.Conn: connections
// imports shardctl (for the Gate), so shardctl cannot import connections, and this package,
// which needs both, sits above them.
//
// # How shards find their process
//
// Every node beats in a membership set in Redis. Each shard's owner is chosen among the live
// nodes by rendezvous hashing (shardctl.Owner), so every node computes the same assignment and a
// membership change moves only the shards it must. A node runs a shard only while it holds the
// shard's lease (a Redis key with a TTL that it renews each round), and it publishes the shard's
// resumable state (session id, last delivered seq, resume URL) with every renewal.
//
//   - A node that dies stops renewing. Once its lease and membership expire (one lease TTL), the
//     shards' new owners claim them and resume the published sessions (AddShards with the
//     state): no identify, and Discord replays what was missed. Only if the state is gone or
//     the resume fails does the runtime identify, through the shared gate.
//   - A node that joins takes the shards the hash gives it from their current owners by graceful
//     hand-off: the old owner stops delivering the shard, records the exact seq it delivered
//     up to, stops the shard without ending its session, and releases the lease with that
//     state; the new owner resumes from it. No dispatch is delivered twice or lost.
//   - Close hands every shard off the same way before it returns.
//
// When Redis is unreachable the node keeps every shard it runs; new identifies wait (the gate
// refuses them) and lease changes pause until Redis answers again.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/shardctl"
)

// Config configures a Node. Redis, Token, Gateway and Out are required.
type Config struct {
	// Redis is the store every process of the bot shares.
	Redis redis.UniversalClient
	// Token is the bot token.
	Token string
	// Gateway is GET /gateway/bot's answer: URL, the total shard count (Shards) and
	// max_concurrency. Every node of a bot must use the same shard count.
	Gateway events.GatewayBot
	// Out receives the dispatches and runtime events of the shards this node runs, as from
	// connections.ConnectShards. Keep reading it until Close returns.
	Out chan<- connections.Event
	// NodeID names this process in Redis (default: host name, pid and a random suffix). It must
	// be unique among the bot's live processes.
	NodeID string
	// ConnOptions are passed to connections.ConnectShards (intents, compression, logger, clock,
	// API URL, …). The node adds its own identify gate unless Gate is set.
	ConnOptions []connections.Option
	// Gate is the identify gate (default: a shardctl.RedisGate on Redis, spending from the shared
	// session-start budget, which it learns through GET /gateway/bot).
	Gate shardctl.Gate
	// IdentifySpacing is the default gate's spacing (default 5 s; tests shorten it).
	IdentifySpacing time.Duration
	// GateOptions are added to the default gate's options (for example
	// shardctl.WithBudgetReserve or shardctl.WithRenewInterval).
	GateOptions []shardctl.RedisGateOption
	// KeyPrefix is the hash tag of every Redis key (default "cordage"); one per bot.
	KeyPrefix string
	// LeaseTTL is how long a dead node's shards wait before others take them (default 10 s).
	LeaseTTL time.Duration
	// Round is how often the node renews leases, publishes states and rebalances (default
	// LeaseTTL/5).
	Round time.Duration
	// StateTTL is how long a published state stays usable for a resume (default 2 min).
	StateTTL time.Duration
	// Logger (default zap.NewNop()).
	Logger *zap.Logger
	// Observer receives cluster metrics (default none).
	Observer Observer
}

// Node runs its share of a bot's shards. Safe for concurrent use.
type Node struct {
	cfg    Config
	id     string
	count  int
	log    *zap.Logger
	obs    Observer
	leases *shardctl.LeaseStore
	gate   shardctl.Gate
	owned  *shardctl.RedisGate // the default gate, which the node closes
	conn   *connections.Conn

	in    chan connections.Event
	stop  chan struct{}  // ends the forwarder's pending send
	leave chan struct{}  // asks the round loop to hand everything off and end
	done  chan struct{}  // closed when the node has stopped
	life  sync.WaitGroup // the lifecycle goroutine, root of the node's goroutines

	mu     sync.Mutex
	shards map[int]*tracked

	closeOnce sync.Once
}

// pos is a point in a shard's session.
type pos struct {
	session, resumeURL string
	seq                int64
}

// tracked is a shard the node holds the lease of. admitted is where the forwarder has committed
// to deliver up to (the exact point for a hand-off); delivered is what the consumer has taken
// (what a crash may lose nothing beyond, so it is what the periodic publication carries).
type tracked struct {
	admitted, delivered pos
}

// Start joins the cluster and starts taking shards. ctx bounds the node's life: when it ends the
// node hands its shards off as Close does.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	switch {
	case cfg.Redis == nil:
		return nil, errors.New("cluster: Config.Redis is nil")
	case cfg.Token == "":
		return nil, errors.New("cluster: Config.Token is empty")
	case cfg.Out == nil:
		return nil, errors.New("cluster: Config.Out is nil")
	case cfg.Gateway.Shards < 1:
		return nil, fmt.Errorf("cluster: Config.Gateway.Shards is %d, want at least 1", cfg.Gateway.Shards)
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 10 * time.Second
	}
	if cfg.Round <= 0 {
		cfg.Round = cfg.LeaseTTL / 5
	}
	if cfg.Round >= cfg.LeaseTTL/2 {
		return nil, fmt.Errorf("cluster: Round %v must be under half of LeaseTTL %v, or leases lapse between renewals", cfg.Round, cfg.LeaseTTL)
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Observer == nil {
		cfg.Observer = NopObserver{}
	}
	if cfg.NodeID == "" {
		cfg.NodeID = defaultNodeID()
	}
	lopts := []shardctl.LeaseOption{shardctl.WithLeaseTTL(cfg.LeaseTTL), shardctl.WithLeasePrefix(cfg.KeyPrefix)}
	if cfg.StateTTL > 0 {
		lopts = append(lopts, shardctl.WithStateTTL(cfg.StateTTL))
	}
	leases, err := shardctl.NewLeaseStore(cfg.Redis, lopts...)
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg: cfg, id: cfg.NodeID, count: cfg.Gateway.Shards,
		log: cfg.Logger.Named("cluster").With(zap.String("node", cfg.NodeID)),
		obs: cfg.Observer, leases: leases,
		in: make(chan connections.Event), stop: make(chan struct{}), leave: make(chan struct{}),
		done:   make(chan struct{}),
		shards: make(map[int]*tracked),
	}
	n.gate = cfg.Gate
	if n.gate == nil {
		token, connOpts := cfg.Token, cfg.ConnOptions
		gopts := []shardctl.RedisGateOption{
			shardctl.WithKeyPrefix(cfg.KeyPrefix),
			shardctl.WithRedisGateLogger(cfg.Logger),
			shardctl.WithBudgetHook(cfg.Observer.SessionBudget),
			shardctl.WithBudgetSource(func(ctx context.Context) (events.SessionStartLimit, error) {
				gw, err := connections.GetWebsocketGateway(ctx, token, connOpts...)
				return gw.SessionStartLimit, err
			}),
		}
		if cfg.IdentifySpacing > 0 {
			gopts = append(gopts, shardctl.WithSpacing(cfg.IdentifySpacing))
		}
		gopts = append(gopts, cfg.GateOptions...)
		g, err := shardctl.NewRedisGate(cfg.Redis, cfg.Gateway.SessionStartLimit.MaxConcurrency, gopts...)
		if err != nil {
			return nil, err
		}
		n.gate, n.owned = g, g
	}
	opts := append(slices.Clone(cfg.ConnOptions), connections.WithIdentifyGate(n.gate))
	// The runtime must outlive ctx: cancelling its context closes every shard with 1000, which
	// ends the sessions the other nodes are about to resume. The node stops it after handing off.
	conn, err := connections.ConnectShards(context.WithoutCancel(ctx), cfg.Token, n.in, cfg.Gateway, nil, opts...)
	if err != nil {
		if n.owned != nil {
			n.owned.Close()
		}
		return nil, err
	}
	n.conn = conn
	n.life.Go(func() { n.lifecycle(ctx) })
	n.log.Info("joined", zap.Int("shards", n.count))
	return n, nil
}

// lifecycle runs the rounds until Close, ctx or the runtime's end, hands every shard off, then
// stops the runtime and the forwarder. It owns every other goroutine of the node.
func (n *Node) lifecycle(ctx context.Context) {
	defer close(n.done)
	var fwd sync.WaitGroup
	fwd.Go(n.forward)
	n.loop(ctx)
	if err := n.conn.Close(); err != nil {
		n.log.Warn("runtime ended with an error", zap.Error(err))
	}
	close(n.stop)
	fwd.Wait()
	if n.owned != nil {
		n.owned.Close()
	}
}

func defaultNodeID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// ID returns the node's id in Redis.
func (n *Node) ID() string { return n.id }

// Conn returns the runtime the node drives, for commands such as UpdateStatus. Do not add or
// remove shards on it: the node does that.
func (n *Node) Conn() *connections.Conn { return n.conn }

// Shards returns the shards the node holds leases of, in order.
func (n *Node) Shards() []int {
	n.mu.Lock()
	defer n.mu.Unlock()
	ids := make([]int, 0, len(n.shards))
	for id := range n.shards {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Done is closed once the node has stopped: after Close, after ctx ended, or after the runtime
// ended by itself (see Conn().Err()).
func (n *Node) Done() <-chan struct{} { return n.done }

// Close hands every shard off (final state published, lease released, session left
// resumable), leaves the cluster, stops the runtime and waits for every goroutine. Keep reading
// Out until it returns. It returns the runtime's error, if it ended by itself.
func (n *Node) Close() error {
	n.closeOnce.Do(func() { close(n.leave) })
	n.life.Wait()
	return n.conn.Err()
}

// forward passes the runtime's events to Out, dropping the dispatches of shards the node no
// longer runs (their next owner gets them by replay) and tracking how far each shard has been
// delivered.
func (n *Node) forward() {
	for {
		var ev connections.Event
		select {
		case ev = <-n.in:
		case <-n.conn.Done():
			return
		case <-n.stop:
			return
		}
		p, t, ok := n.admit(ev)
		if !ok {
			continue
		}
		select {
		case n.cfg.Out <- ev:
		case <-n.stop:
			return
		}
		if t != nil {
			n.mu.Lock()
			if n.shards[ev.Shard] == t {
				t.delivered = p
			}
			n.mu.Unlock()
		}
	}
}

func (n *Node) admit(ev connections.Event) (pos, *tracked, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ev.Shard < 0 {
		return pos{}, nil, true
	}
	t := n.shards[ev.Shard]
	if t == nil {
		return pos{}, nil, false // handed off or lost: not ours to deliver
	}
	switch ev.Kind {
	case connections.KindDispatch:
		if ev.Type == "READY" {
			var r struct {
				SessionID string `json:"session_id"`
				ResumeURL string `json:"resume_gateway_url"`
			}
			if err := json.Unmarshal(ev.Data, &r); err == nil {
				t.admitted = pos{session: r.SessionID, resumeURL: r.ResumeURL, seq: ev.Seq}
			}
		} else if ev.Seq > 0 {
			if ev.Seq <= t.admitted.seq {
				return pos{}, nil, false // already delivered in this session
			}
			t.admitted.seq = ev.Seq
		}
	case connections.KindSessionReplaced:
		t.admitted = pos{}
	}
	return t.admitted, t, true
}

func (n *Node) loop(ctx context.Context) {
	tick := time.NewTicker(n.cfg.Round)
	defer tick.Stop()
	for {
		n.round()
		select {
		case <-tick.C:
		case <-n.leave:
			n.goodbye()
			return
		case <-ctx.Done():
			n.goodbye()
			return
		case <-n.conn.Done():
			n.log.Error("runtime ended; leaving the cluster", zap.Error(n.conn.Err()))
			n.goodbye()
			return
		}
	}
}

// opCtx bounds one round's Redis and runtime calls.
func (n *Node) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), max(n.cfg.LeaseTTL, 2*time.Second))
}

func (n *Node) round() {
	ctx, cancel := n.opCtx()
	defer cancel()
	members, err := n.leases.Heartbeat(ctx, n.id)
	if err != nil {
		n.obs.StoreError("heartbeat", err)
		n.log.Warn("Redis unreachable; keeping the shards we run", zap.Error(err))
		return
	}
	lost, err := n.leases.Renew(ctx, n.id, n.publishable())
	if err != nil {
		n.obs.StoreError("renew", err)
		n.log.Warn("renewing leases failed", zap.Error(err))
		return
	}
	for _, id := range lost {
		n.log.Error("lease taken by another node; stopping the shard", zap.Int("shard", id))
		n.obs.LeaseLost(id)
		n.mu.Lock()
		delete(n.shards, id)
		n.mu.Unlock()
		if err := n.conn.RemoveShards(ctx, id); err != nil {
			n.log.Warn("remove lost shard", zap.Int("shard", id), zap.Error(err))
		}
	}
	live := slices.Contains(members, n.id)
	for shard := range n.count {
		want := shardctl.Owner(members, shard)
		held := n.holds(shard)
		switch {
		case want == n.id && !held:
			n.take(ctx, shard)
		case held && live && want != n.id && n.ready(shard):
			// A shard still identifying moves once its READY is delivered: handing it off
			// earlier would abandon the session it is about to get.
			n.handoff(ctx, shard, want)
		}
	}
	n.obs.LeasesHeld(len(n.Shards()))
}

// ready reports whether the forwarder has admitted a session for shard.
func (n *Node) ready(shard int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.shards[shard]
	return t != nil && t.admitted.session != ""
}

func (n *Node) holds(shard int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.shards[shard] != nil
}

// publishable returns the delivered state of every held shard.
func (n *Node) publishable() []shardctl.SessionState {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]shardctl.SessionState, 0, len(n.shards))
	for id, t := range n.shards {
		out = append(out, shardctl.SessionState{Shard: id, Count: n.count,
			SessionID: t.delivered.session, Seq: t.delivered.seq, ResumeURL: t.delivered.resumeURL})
	}
	return out
}

func (n *Node) take(ctx context.Context, shard int) {
	ok, err := n.leases.Claim(ctx, n.id, shard)
	if err != nil {
		n.obs.StoreError("claim", err)
		return
	}
	if !ok {
		return
	}
	st, found, err := n.leases.State(ctx, shard)
	if err != nil {
		n.log.Warn("loading shard state failed; identifying", zap.Int("shard", shard), zap.Error(err))
	}
	state := connections.ShardState{ID: shard, Count: n.count}
	start := pos{}
	resume := found && st.Count == n.count
	if resume {
		state.SessionID, state.Seq, state.ResumeURL = st.SessionID, st.Seq, st.ResumeURL
		start = pos{session: st.SessionID, resumeURL: st.ResumeURL, seq: st.Seq}
	}
	n.mu.Lock()
	n.shards[shard] = &tracked{admitted: start, delivered: start}
	n.mu.Unlock()
	if err := n.conn.AddShards(ctx, state); err != nil {
		n.log.Error("starting claimed shard failed", zap.Int("shard", shard), zap.Error(err))
		n.mu.Lock()
		delete(n.shards, shard)
		n.mu.Unlock()
		_, _ = n.leases.Release(ctx, n.id, shardctl.SessionState{Shard: shard})
		return
	}
	n.log.Info("took shard", zap.Int("shard", shard), zap.Bool("resume", resume), zap.String("from", st.Owner), zap.Int64("seq", st.Seq))
	n.obs.Takeover(shard, st.Owner, resume)
}

// handoff stops delivering shard at the exact seq admitted so far, stops the shard without
// ending its session, and releases the lease with that state for the next owner.
func (n *Node) handoff(ctx context.Context, shard int, to string) {
	n.mu.Lock()
	t := n.shards[shard]
	delete(n.shards, shard)
	n.mu.Unlock()
	if t == nil {
		return
	}
	if err := n.conn.RemoveShards(ctx, shard); err != nil && !errors.Is(err, connections.ErrClosed) {
		n.log.Warn("stopping handed-off shard", zap.Int("shard", shard), zap.Error(err))
	}
	final := shardctl.SessionState{Shard: shard, Count: n.count, SessionID: t.admitted.session, Seq: t.admitted.seq, ResumeURL: t.admitted.resumeURL}
	if _, err := n.leases.Release(ctx, n.id, final); err != nil {
		// The lease expires by itself; the next owner then resumes from the last periodic
		// publication, which is at or behind this point: nothing is lost.
		n.obs.StoreError("release", err)
		n.log.Warn("releasing lease failed", zap.Int("shard", shard), zap.Error(err))
	}
	n.log.Info("handed shard off", zap.Int("shard", shard), zap.String("to", to), zap.Int64("seq", final.Seq))
	n.obs.Handoff(shard, to)
}

func (n *Node) goodbye() {
	ctx, cancel := n.opCtx()
	defer cancel()
	if err := n.leases.Leave(ctx, n.id); err != nil {
		n.obs.StoreError("leave", err)
	}
	// Shards still identifying get up to one lease TTL to deliver their READY, so that their
	// new sessions are handed off rather than abandoned.
	deadline := time.Now().Add(n.cfg.LeaseTTL)
	for {
		for _, id := range n.Shards() {
			if n.ready(id) || time.Now().After(deadline) || n.conn.Err() != nil {
				n.handoff(ctx, id, "")
			}
		}
		if len(n.Shards()) == 0 {
			break
		}
		select {
		case <-time.After(10 * time.Millisecond): // waiting for the forwarder to admit READY
		case <-n.conn.Done():
		}
	}
	n.log.Info("left")
}
