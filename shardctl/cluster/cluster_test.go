package cluster_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/shardctl"
	"github.com/cordage/cordage/shardctl/cluster"
	"github.com/cordage/cordage/shardctl/redistest"
	"github.com/cordage/cordage/test/fakediscord"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// factor speeds the simulator and the runtimes up: 5 s of identify spacing become 100 ms, a
// 41.25 s heartbeat 825 ms. The gate runs on Redis time, so its spacing is shortened to match,
// with 100 % margin: the simulator stamps an identify when it processes it, and under -race on
// a loaded machine that has been seen to lag the client's write by over 80 ms.
const factor = 50

const (
	gateSpacing = 5 * time.Second / factor * 2
	// gateRenew: a key is held for spacing + 2 × renew, so a holder process stalled (by the race
	// detector, GC, a loaded CI machine) for less than that keeps its key.
	gateRenew = 100 * time.Millisecond
	// leaseTTL: a process that misses renewals this long (a stall) loses its shards; 2 s keeps a
	// loaded CI machine running -race from looking like a dead process.
	leaseTTL = 2 * time.Second
	round    = 100 * time.Millisecond
)

// recorder is a consumer of one node's Out channel.
type recorder struct {
	mu   sync.Mutex
	evs  []connections.Event
	stop chan struct{}
	done chan struct{}
}

func consume(out <-chan connections.Event) *recorder {
	r := &recorder{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			select {
			case ev := <-out:
				r.mu.Lock()
				r.evs = append(r.evs, ev)
				r.mu.Unlock()
			case <-r.stop:
				return
			}
		}
	}()
	return r
}

func (r *recorder) close() { close(r.stop); <-r.done }

func (r *recorder) events() []connections.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]connections.Event(nil), r.evs...)
}

type env struct {
	srv    *fakediscord.Server
	redis  *redistest.Server
	gw     events.GatewayBot
	client *http.Client
	// printed is signalled whenever a child process (process_test.go) prints a line.
	printed chan struct{}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	rs := redistest.Start(t)
	srv := fakediscord.NewTest(t, fakediscord.WithShardCount(8), fakediscord.WithGuilds(16),
		fakediscord.WithMaxConcurrency(2), fakediscord.WithClock(clock.Scaled(factor)),
		// 10 clock minutes are 12 s: failover after a 2 s lease TTL stays well inside it.
		fakediscord.WithResumeWindow(10*time.Minute))
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	gw, err := connections.GetWebsocketGateway(t.Context(), srv.Token(), connections.WithAPIURL(srv.RESTURL()), connections.WithHTTPClient(client))
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, redis: rs, gw: gw, client: client, printed: make(chan struct{}, 1)}
}

func (e *env) nodeConfig(id string, rdb redis.UniversalClient, out chan<- connections.Event) cluster.Config {
	return cluster.Config{
		Redis: rdb, Token: e.srv.Token(), Gateway: e.gw, Out: out, NodeID: id,
		ConnOptions: []connections.Option{
			connections.WithAPIURL(e.srv.RESTURL()), connections.WithHTTPClient(e.client),
			connections.WithClock(clock.Scaled(factor)), connections.WithCompression(connections.None),
		},
		IdentifySpacing: gateSpacing, LeaseTTL: leaseTTL, Round: round,
		GateOptions: []shardctl.RedisGateOption{shardctl.WithRenewInterval(gateRenew)},
	}
}

// allLive: every shard has exactly one connected session.
func allLive(count int) func(*fakediscord.Snapshot) bool {
	return func(sn *fakediscord.Snapshot) bool {
		for s := range count {
			if len(sn.Live(s)) != 1 {
				return false
			}
		}
		return true
	}
}

func accepted(log []fakediscord.IdentifyRecord) int {
	n := 0
	for _, r := range log {
		if r.Accepted {
			n++
		}
	}
	return n
}

// Three nodes in one process share 8 shards; one leaves gracefully and its shards move to the
// others by resume; Redis dies and comes back while the shards stay connected; traffic through it
// all reaches the consumers exactly once.
func TestNodesShareHandOffAndSurviveRedis(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	var nodes []*cluster.Node
	var recs []*recorder
	var storeErrors atomic.Int32
	obs := &countingObserver{storeErrors: &storeErrors}
	for _, id := range []string{"a", "b", "c"} {
		out := make(chan connections.Event)
		recs = append(recs, consume(out))
		cfg := e.nodeConfig(id, e.redis.Client(), out)
		cfg.Observer = obs
		n, err := cluster.Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	defer func() {
		for i, n := range nodes {
			if n != nil {
				n.Close()
			}
			recs[i].close()
		}
	}()
	if err := e.srv.WaitFor(ctx, allLive(8)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// 4 per clock second (20 ms) is 200 per second: the traffic runs through the hand-off and
	// the Redis outage.
	stopTraffic := e.srv.StartTraffic(fakediscord.TrafficConfig{Rate: 4, Count: 200})
	defer stopTraffic()

	// b leaves: its shards go to a and c by resume, at the seq b delivered up to.
	bShards := nodes[1].Shards()
	if len(bShards) == 0 {
		t.Fatalf("b got no shard: a %v c %v", nodes[0].Shards(), nodes[2].Shards())
	}
	identifiesBefore := accepted(e.srv.IdentifyLog())
	if err := nodes[1].Close(); err != nil {
		t.Fatal(err)
	}
	nodes[1] = nil
	waitNodes(t, ctx, func() bool { return len(nodes[0].Shards())+len(nodes[2].Shards()) == 8 })
	if err := e.srv.WaitFor(ctx, allLive(8)); err != nil {
		t.Fatal(err)
	}
	t.Logf("b's shards %v moved in %v", bShards, time.Since(start))

	// Redis dies: the shards stay connected, no identify happens; then it comes back empty.
	e.redis.Kill()
	before := storeErrors.Load()
	waitNodes(t, ctx, func() bool { return storeErrors.Load() >= before+6 }) // three failed rounds per node
	sn := e.srv.Snapshot()
	e.redis.Restart()
	if !allLive(8)(sn) {
		t.Fatal("a shard lost its connection while Redis was down")
	}
	waitNodes(t, ctx, func() bool { return len(nodes[0].Shards())+len(nodes[2].Shards()) == 8 })

	if err := e.srv.WaitFor(ctx, func(sn *fakediscord.Snapshot) bool {
		return len(e.srv.Ledger().EventIDs("MESSAGE_CREATE")) == 200
	}); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, ctx, e.srv, recs)
	if v := e.srv.SpacingViolations(); v != 0 {
		t.Fatalf("%d identify spacing violations", v)
	}
	if got := accepted(e.srv.IdentifyLog()); got != identifiesBefore {
		t.Fatalf("%d identifies after the hand-off and the Redis restart, want none", got-identifiesBefore)
	}
}

type countingObserver struct {
	cluster.NopObserver
	storeErrors *atomic.Int32
}

func (o *countingObserver) StoreError(string, error) { o.storeErrors.Add(1) }

func waitNodes(t *testing.T, ctx context.Context, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("timed out")
		case <-time.After(10 * time.Millisecond): // polling a condition
		}
	}
}

// checkExactlyOnce waits until every MESSAGE_CREATE of the ledger reached some consumer and then
// checks none reached two (or one twice).
func checkExactlyOnce(t *testing.T, ctx context.Context, srv *fakediscord.Server, recs []*recorder) {
	t.Helper()
	type key struct {
		shard int
		seq   int64
	}
	var want map[key]string
	var got map[key]int
	for {
		want = map[key]string{}
		l := srv.Ledger()
		for _, s := range l.Sessions {
			for _, d := range s.Dispatches {
				if d.T == "MESSAGE_CREATE" {
					want[key{s.Shard, d.Seq}] = d.Hash
				}
			}
		}
		got = map[key]int{}
		for _, r := range recs {
			for _, ev := range r.events() {
				if ev.Kind == connections.KindDispatch && ev.Type == "MESSAGE_CREATE" {
					k := key{ev.Shard, ev.Seq}
					if h, ok := want[k]; ok && h != fakediscord.PayloadHash(ev.Data) {
						t.Fatalf("shard %d seq %d: payload differs from the ledger", ev.Shard, ev.Seq)
					}
					got[k]++
				}
			}
		}
		missing := 0
		for k := range want {
			if got[k] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		select {
		case <-ctx.Done():
			for k := range want {
				if got[k] == 0 {
					t.Logf("missing shard %d seq %d", k.shard, k.seq)
				}
			}
			for _, s := range srv.Ledger().Sessions {
				t.Logf("session %s shard %d state %s dispatches %d resumes %+v conns %+v", s.ID, s.Shard, s.State, len(s.Dispatches), s.Resumes, s.Connections)
			}
			for i, r := range recs {
				for _, ev := range r.events() {
					if ev.Kind != connections.KindDispatch {
						t.Logf("consumer %d: %v shard %d %+v", i, ev.Kind, ev.Shard, ev.Runtime)
					}
				}
			}
			t.Fatalf("%d of %d dispatches never reached a consumer", missing, len(want))
		case <-time.After(20 * time.Millisecond):
		}
	}
	for k, n := range got {
		if n > 1 {
			t.Errorf("shard %d seq %d delivered %d times", k.shard, k.seq, n)
		}
	}
	t.Logf("%d dispatches, each delivered exactly once", len(want))
}

// Cancelling a node's ctx is a graceful exit: its shards' sessions stay resumable and their
// leases are released with the final state, so the next node resumes them.
func TestNodeContextCancelHandsOff(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out := make(chan connections.Event)
	rec := consume(out)
	defer rec.close()
	nctx, stop := context.WithCancel(ctx)
	n, err := cluster.Start(nctx, e.nodeConfig("solo", e.redis.Client(), out))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.WaitFor(ctx, allLive(8)); err != nil {
		t.Fatal(err)
	}
	waitNodes(t, ctx, func() bool { return len(n.Shards()) == 8 })
	stop()
	select {
	case <-n.Done():
	case <-ctx.Done():
		t.Fatal("node did not stop after its ctx ended")
	}
	n.Close() // still fine after Done
	// The server notices the closes a moment later; a 1000 close would make a session dead.
	if err := e.srv.WaitFor(ctx, func(sn *fakediscord.Snapshot) bool {
		for _, s := range sn.Sessions {
			if s.State != fakediscord.SessionResumable {
				return false
			}
		}
		return true
	}); err != nil {
		for _, s := range e.srv.Snapshot().Sessions {
			t.Logf("shard %d session %s: %s (%s %v)", s.Shard, s.ID, s.State, s.LastEnd, s.LastCode)
		}
		t.Fatalf("sessions not left resumable after a graceful exit: %v", err)
	}
	next := make(chan connections.Event)
	rec2 := consume(next)
	defer rec2.close()
	n2, err := cluster.Start(ctx, e.nodeConfig("next", e.redis.Client(), next))
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	if err := e.srv.WaitFor(ctx, func(sn *fakediscord.Snapshot) bool {
		for _, s := range sn.Sessions {
			if s.State != fakediscord.SessionConnected || s.Resumes != 1 {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if got := accepted(e.srv.IdentifyLog()); got != 8 {
		t.Fatalf("%d identifies, want the first 8 only", got)
	}
}

// A node whose lease another process took (it stalled past its TTL, say) stops the shard at its
// next round, leaving the session resumable; once the lease is free again, it resumes it.
func TestNodeStopsShardWhoseLeaseWasTaken(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out := make(chan connections.Event)
	rec := consume(out)
	defer rec.close()
	var lost atomic.Int32
	cfg := e.nodeConfig("solo", e.redis.Client(), out)
	cfg.Observer = &lostObserver{lost: &lost}
	n, err := cluster.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := e.srv.WaitFor(ctx, allLive(8)); err != nil {
		t.Fatal(err)
	}
	waitNodes(t, ctx, func() bool { return len(n.Shards()) == 8 })
	rdb := e.redis.Client()
	// The session must be published before the lease goes, or there is nothing to resume.
	waitNodes(t, ctx, func() bool { return rdb.Exists(ctx, "{cordage}:state:3").Val() == 1 })
	old := e.srv.Snapshot().Live(3)[0]
	if err := rdb.Set(ctx, "{cordage}:lease:3", "intruder", 0).Err(); err != nil {
		t.Fatal(err)
	}
	waitNodes(t, ctx, func() bool { return lost.Load() == 1 && len(n.Shards()) == 7 })
	if err := e.srv.WaitFor(ctx, func(sn *fakediscord.Snapshot) bool {
		return len(sn.Live(3)) == 0
	}); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Del(ctx, "{cordage}:lease:3").Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.WaitFor(ctx, func(sn *fakediscord.Snapshot) bool {
		live := sn.Live(3)
		return len(live) == 1 && live[0].ID == old.ID && live[0].Resumes > old.Resumes
	}); err != nil {
		for _, s := range e.srv.Snapshot().Sessions {
			t.Logf("shard %d session %s: %s resumes %d (%s %v)", s.Shard, s.ID, s.State, s.Resumes, s.LastEnd, s.LastCode)
		}
		t.Logf("node holds %v", n.Shards())
		t.Fatalf("shard 3 not resumed after its lease came free: %v", err)
	}
	if got := accepted(e.srv.IdentifyLog()); got != 8 {
		t.Fatalf("%d identifies, want 8: shard 3 must come back by resume", got)
	}
}

type lostObserver struct {
	cluster.NopObserver
	lost *atomic.Int32
}

func (o *lostObserver) LeaseLost(int) { o.lost.Add(1) }

// The shared budget is learned from GET /gateway/bot and spent across nodes; the start that
// would go past it is refused, and the runtime stops that shard with the reason instead of
// identifying (which would make Discord reset the token).
func TestNodesRefuseStartsPastTheBudget(t *testing.T) {
	rs := redistest.Start(t)
	srv := fakediscord.NewTest(t, fakediscord.WithShardCount(4), fakediscord.WithGuilds(8),
		fakediscord.WithMaxConcurrency(4), fakediscord.WithClock(clock.Scaled(factor)),
		fakediscord.WithSessionStartLimit(1000, 3))
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	gw, err := connections.GetWebsocketGateway(t.Context(), srv.Token(), connections.WithAPIURL(srv.RESTURL()), connections.WithHTTPClient(client))
	if err != nil {
		t.Fatal(err)
	}
	// GET /gateway/bot says 3 left, but a node must not trust its own copy: give it a stale one.
	gw.SessionStartLimit.Remaining = 1000
	e := &env{srv: srv, redis: rs, gw: gw, client: client}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var budget []int
	var mu sync.Mutex
	var nodes []*cluster.Node
	var recs []*recorder
	for _, id := range []string{"x", "y"} {
		out := make(chan connections.Event)
		recs = append(recs, consume(out))
		cfg := e.nodeConfig(id, rs.Client(), out)
		cfg.Observer = &budgetObserver{mu: &mu, seen: &budget}
		n, err := cluster.Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	defer func() {
		for i, n := range nodes {
			n.Close()
			recs[i].close()
		}
	}()
	var stopped []events.ShardStopped
	waitNodes(t, ctx, func() bool {
		stopped = stopped[:0]
		for _, r := range recs {
			for _, ev := range r.events() {
				if st, ok := ev.Runtime.(events.ShardStopped); ok {
					stopped = append(stopped, st)
				}
			}
		}
		return len(stopped) == 1 && accepted(srv.IdentifyLog()) == 3
	})
	if !strings.Contains(stopped[0].Reason, "budget") {
		t.Fatalf("shard %d stopped for %q, want the budget reason", stopped[0].Shard, stopped[0].Reason)
	}
	if got := srv.SessionStartLimit().Remaining; got != 0 {
		t.Fatalf("simulator has %d starts left, want 0 (and none refused by it)", got)
	}
	for _, r := range srv.IdentifyLog() {
		if !r.Accepted {
			t.Fatalf("the simulator refused an identify (%s): the gate let one through past the budget", r.Reason)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(budget)
	if !slices.Equal(budget, []int{0, 1, 2}) {
		t.Fatalf("budget reports %v, want 2, 1, 0", budget)
	}
}

type budgetObserver struct {
	cluster.NopObserver
	mu   *sync.Mutex
	seen *[]int
}

func (o *budgetObserver) SessionBudget(remaining, _ int) {
	o.mu.Lock()
	*o.seen = append(*o.seen, remaining)
	o.mu.Unlock()
}
