package cluster_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/shardctl"
	"github.com/cordage/cordage/shardctl/cluster"
	"github.com/cordage/cordage/test/fakediscord"
)

// The child side of TestThreeProcessesKillOne: the test binary re-run with childEnv set runs one
// node and prints every dispatch its consumer takes as "D <shard> <seq> <type> <hash>", and the
// shards it takes over as "T <shard> <resumed>". It hands its shards off and exits when stdin
// closes; the parent may also kill it.
const childEnv = "CORDAGE_CLUSTER_CHILD"

const trafficCount = 450

func TestClusterChildProcess(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		t.Skip("runs only as a child of TestThreeProcessesKillOne")
	}
	api, addr, node := os.Getenv("CHILD_API"), os.Getenv("CHILD_REDIS"), os.Getenv("CHILD_NODE")
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	ctx := context.Background()
	gw, err := connections.GetWebsocketGateway(ctx, os.Getenv("CHILD_TOKEN"), connections.WithAPIURL(api), connections.WithHTTPClient(client))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second})
	defer rdb.Close()
	out := make(chan connections.Event)
	stdout := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	emit := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stdout, format+"\n", args...)
		stdout.Flush() // one write per line: what was printed survives kill -9
	}
	obs := &childObserver{emit: emit}
	log := zap.NewNop()
	if os.Getenv("CHILD_LOG") != "" {
		log, _ = zap.NewDevelopment()
		log = log.With(zap.String("proc", node))
	}
	n, err := cluster.Start(ctx, cluster.Config{
		Redis: rdb, Token: os.Getenv("CHILD_TOKEN"), Gateway: gw, Out: out, NodeID: node,
		ConnOptions: []connections.Option{
			connections.WithAPIURL(api), connections.WithHTTPClient(client),
			connections.WithClock(clock.Scaled(factor)), connections.WithCompression(connections.ZlibStream),
			connections.WithLogger(log),
		},
		IdentifySpacing: gateSpacing, LeaseTTL: leaseTTL, Round: round, Observer: obs, Logger: log,
		GateOptions: []shardctl.RedisGateOption{shardctl.WithRenewInterval(gateRenew)},
	})
	if err != nil {
		t.Fatal(err)
	}
	consumed := make(chan struct{})
	stopConsumer := make(chan struct{})
	go func() {
		defer close(consumed)
		for {
			select {
			case ev := <-out:
				if ev.Kind == connections.KindDispatch {
					emit("D %d %d %s %s", ev.Shard, ev.Seq, ev.Type, fakediscord.PayloadHash(ev.Data))
				}
			case <-stopConsumer:
				return
			}
		}
	}()
	emit("UP %s", node)
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
	n.Close()
	close(stopConsumer)
	<-consumed
	emit("BYE")
}

type childObserver struct {
	cluster.NopObserver
	emit func(string, ...any)
}

func (o *childObserver) Takeover(shard int, from string, resumed bool) {
	o.emit("T %d %v %s %s", shard, resumed, from, time.Now().Format("05.000"))
}

func (o *childObserver) Handoff(shard int, to string) {
	o.emit("H %d %s %s", shard, to, time.Now().Format("05.000"))
}

func (o *childObserver) LeaseLost(shard int) { o.emit("L %d %s", shard, time.Now().Format("05.000")) }

type child struct {
	id    string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}

	mu    sync.Mutex
	lines []string
}

func startChild(t *testing.T, e *env, id string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestClusterChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=1", "CHILD_API="+e.srv.RESTURL(), "CHILD_REDIS="+e.redis.Addr(),
		"CHILD_NODE="+id, "CHILD_TOKEN="+e.srv.Token())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{id: id, cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			c.mu.Unlock()
			select {
			case e.printed <- struct{}{}:
			default:
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
	})
	return c
}

func (c *child) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// Done when of issue 7: three OS processes share 8 shards on one simulator through one Redis with
// no identify-spacing violation; kill -9 of one moves its shards to the others, which resume
// them (no new session) and lose no dispatch.
func TestThreeProcessesKillOne(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns three processes")
	}
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	ids := []string{"p1", "p2", "p3"}
	var kids []*child
	for _, id := range ids {
		kids = append(kids, startChild(t, e, id))
	}
	if err := e.srv.WaitFor(ctx, allLive(8)); err != nil {
		t.Fatal(err)
	}
	rdb := e.redis.Client()
	// Rate counts per clock second (20 ms here): 3 per clock second is 150 per second, so the
	// 450 events run for 3 s, through the kill and the failover.
	stopTraffic := e.srv.StartTraffic(fakediscord.TrafficConfig{Rate: 3, Count: trafficCount})
	defer stopTraffic()
	// Let traffic flow and every shard publish its session, then kill p2 in the middle of it.
	if err := e.srv.WaitFor(ctx, func(*fakediscord.Snapshot) bool {
		return len(e.srv.Ledger().EventIDs("MESSAGE_CREATE")) >= trafficCount/3
	}); err != nil {
		t.Fatal(err)
	}
	for s := range 8 {
		for {
			n, err := rdb.Exists(ctx, "{cordage}:state:"+strconv.Itoa(s)).Result()
			if err != nil {
				t.Fatal(err)
			}
			if n == 1 {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("shard %d never published its session", s)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	if n := len(e.srv.Ledger().EventIDs("MESSAGE_CREATE")); n >= trafficCount {
		t.Fatalf("traffic already over (%d events) before the kill", n)
	}
	victim := kids[1]
	owners := leaseOwners(t, rdb, 8)
	var moved []int
	for s, o := range owners {
		if o == victim.id {
			moved = append(moved, s)
		}
	}
	if len(moved) == 0 {
		t.Fatalf("p2 runs no shard (owners %v); the kill would prove nothing", owners)
	}
	published := map[int]string{}
	for _, s := range moved {
		js, err := rdb.Get(ctx, "{cordage}:state:"+strconv.Itoa(s)).Result()
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			SessionID string `json:"session_id"`
		}
		if err := json.Unmarshal([]byte(js), &st); err != nil || st.SessionID == "" {
			t.Fatalf("shard %d state %q: %v", s, js, err)
		}
		published[s] = st.SessionID
	}
	before := e.srv.Snapshot()
	identifiesBefore := accepted(before.Identifies)
	killedAt := time.Now()
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	// Every moved shard's session is connected again through a resume.
	if err := e.srv.WaitFor(ctx, func(sn *fakediscord.Snapshot) bool {
		for _, s := range moved {
			live := sn.Live(s)
			if len(live) != 1 {
				return false
			}
			old, _ := before.Session(published[s])
			if live[0].ID != old.ID || live[0].Resumes <= old.Resumes {
				return false
			}
		}
		return true
	}); err != nil {
		sn := e.srv.Snapshot()
		for _, s := range sn.Sessions {
			t.Logf("session %s shard %d state %s resumes %d conns %d end %q", s.ID, s.Shard, s.State, s.Resumes, s.Connections, s.LastEnd)
		}
		for _, k := range kids {
			for _, l := range k.snapshot() {
				if !strings.HasPrefix(l, "D ") {
					t.Logf("%s: %s", k.id, l)
				}
			}
		}
		t.Logf("owners now %v", leaseOwners(t, rdb, 8))
		for _, r := range e.srv.IdentifyLog() {
			t.Logf("identify %+v", r)
		}
		for _, s := range e.srv.Ledger().Sessions {
			t.Logf("ledger session %s shard %d conns %+v resumes %d", s.ID, s.Shard, s.Connections, len(s.Resumes))
		}
		t.Fatalf("moved shards %v not resumed: %v", moved, err)
	}
	t.Logf("kill -9 of p2: its shards %v resumed elsewhere %v after the kill (lease TTL %v)", moved, time.Since(killedAt).Round(time.Millisecond), leaseTTL)
	if err := e.srv.WaitFor(ctx, func(*fakediscord.Snapshot) bool {
		return len(e.srv.Ledger().EventIDs("MESSAGE_CREATE")) == trafficCount
	}); err != nil {
		t.Fatal(err)
	}

	// Every dispatch reached some process; duplicates only on the killed process's shards (what
	// it delivered after its last published seq is replayed to the new owner).
	type key struct {
		shard int
		seq   int64
	}
	wasMoved := map[int]bool{}
	for _, s := range moved {
		wasMoved[s] = true
	}
	var want map[key]string
	var got map[key]int
	deadline := time.Now().Add(10 * time.Second)
	for {
		want = map[key]string{}
		for _, s := range e.srv.Ledger().Sessions {
			for _, d := range s.Dispatches {
				if d.T == "MESSAGE_CREATE" {
					want[key{s.Shard, d.Seq}] = d.Hash
				}
			}
		}
		got = map[key]int{}
		for _, k := range kids {
			for _, line := range k.snapshot() {
				f := strings.Fields(line)
				if len(f) != 5 || f[0] != "D" || f[3] != "MESSAGE_CREATE" {
					continue
				}
				shard, _ := strconv.Atoi(f[1])
				seq, _ := strconv.ParseInt(f[2], 10, 64)
				if h, ok := want[key{shard, seq}]; ok && h != f[4] {
					t.Fatalf("%s: shard %d seq %d payload differs from the ledger", k.id, shard, seq)
				}
				got[key{shard, seq}]++
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
		// Only more output can complete the set (the ledger only adds to want).
		select {
		case <-e.printed:
		case <-time.After(time.Until(deadline)):
			t.Fatalf("%d of %d dispatches never reached a process", missing, len(want))
		}
	}
	dups := 0
	for k, n := range got {
		if n > 1 {
			if !wasMoved[k.shard] {
				t.Errorf("shard %d seq %d delivered %d times though its process lived", k.shard, k.seq, n)
			}
			dups += n - 1
		}
	}
	after := e.srv.Snapshot()
	if v := after.SpacingViolations; v != 0 {
		for _, r := range after.Identifies {
			t.Logf("identify shard %d bucket %d at %s accepted %v %s", r.Shard, r.Bucket, r.At.Format("04:05.000"), r.Accepted, r.Reason)
		}
		t.Fatalf("%d identify spacing violations", v)
	}
	if n := accepted(after.Identifies) - identifiesBefore; n != 0 {
		t.Fatalf("%d identifies after the kill, want 0 (resumes only)", n)
	}
	for _, k := range []*child{kids[0], kids[2]} {
		k.stdin.Close()
	}
	for _, k := range []*child{kids[0], kids[2]} {
		select {
		case <-k.done:
		case <-ctx.Done():
			t.Fatalf("%s did not exit after stdin closed", k.id)
		}
		if !slices.Contains(k.snapshot(), "BYE") {
			t.Fatalf("%s ended without a clean exit", k.id)
		}
	}
	t.Logf("3 processes, 8 shards: %d identifies, 0 spacing violations, %d dispatches all delivered, %d duplicates after the kill (on the killed process's shards)",
		identifiesBefore, len(want), dups)
}

func leaseOwners(t *testing.T, rdb *redis.Client, count int) []string {
	t.Helper()
	out := make([]string, count)
	for i := range count {
		v, err := rdb.Get(t.Context(), "{cordage}:lease:"+strconv.Itoa(i)).Result()
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		out[i] = v
	}
	return out
}
