package shardctl_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cordage/cordage/shardctl"
	"github.com/cordage/cordage/shardctl/redistest"
)

func TestLeaseClaimRenewRelease(t *testing.T) {
	srv := redistest.Start(t)
	const ttl = 150 * time.Millisecond
	s, err := shardctl.NewLeaseStore(srv.Client(), shardctl.WithLeaseTTL(ttl), shardctl.WithStateTTL(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// A fresh store is quiet for one TTL: nobody claims what someone may still run.
	if _, err := s.Heartbeat(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Claim(ctx, "a", 0); err != nil || ok {
		t.Fatalf("claim during quiet: %v %v", ok, err)
	}
	waitFor(t, 2*time.Second, func() bool { ok, _ := s.Claim(ctx, "a", 0); return ok })
	if ok, _ := s.Claim(ctx, "b", 0); ok {
		t.Fatal("b claimed a's shard")
	}
	st := shardctl.SessionState{Shard: 0, Count: 4, SessionID: "sess-1", Seq: 42, ResumeURL: "ws://resume"}
	if lost, err := s.Renew(ctx, "a", []shardctl.SessionState{st, {Shard: 1}}); err != nil || len(lost) != 0 {
		t.Fatalf("renew: %v %v", lost, err)
	}
	got, ok, err := s.State(ctx, 0)
	if err != nil || !ok || got.SessionID != "sess-1" || got.Seq != 42 || got.Owner != "a" || got.ResumeURL != "ws://resume" {
		t.Fatalf("state %+v %v %v", got, ok, err)
	}
	owners, err := s.Owners(ctx, 3)
	if err != nil || !slices.Equal(owners, []string{"a", "a", ""}) {
		t.Fatalf("owners %q %v", owners, err)
	}
	// b holds shard 2; a renewing it finds it lost.
	if ok, _ := s.Claim(ctx, "b", 2); !ok {
		t.Fatal("b could not claim a free shard")
	}
	if lost, _ := s.Renew(ctx, "a", []shardctl.SessionState{{Shard: 2}}); !slices.Equal(lost, []int{2}) {
		t.Fatalf("lost %v, want [2]", lost)
	}
	// Graceful hand-off: the final state is what the next owner reads.
	st.Seq = 50
	if ok, err := s.Release(ctx, "a", st); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, _ := s.Release(ctx, "b", st); ok {
		t.Fatal("b released a lease it does not hold")
	}
	if ok, _ := s.Claim(ctx, "b", 0); !ok {
		t.Fatal("released shard not claimable")
	}
	if got, _, _ := s.State(ctx, 0); got.Seq != 50 {
		t.Fatalf("final seq %d, want 50", got.Seq)
	}
	// An unrenewed lease expires by itself.
	start := time.Now()
	waitFor(t, 2*time.Second, func() bool { ok, _ := s.Claim(ctx, "c", 1); return ok })
	if time.Since(start) > ttl+500*time.Millisecond {
		t.Fatalf("lease outlived its TTL: %v", time.Since(start))
	}
}

func TestLeaseMembershipAndStoreLoss(t *testing.T) {
	srv := redistest.Start(t)
	const ttl = 150 * time.Millisecond
	s, _ := shardctl.NewLeaseStore(srv.Client(), shardctl.WithLeaseTTL(ttl))
	ctx := t.Context()
	for _, n := range []string{"b", "a"} {
		if _, err := s.Heartbeat(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := s.Heartbeat(ctx, "c")
	if !slices.Equal(m, []string{"a", "b", "c"}) {
		t.Fatalf("members %v", m)
	}
	if err := s.Leave(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	// a and c keep beating; b is gone at once, and c's entry expires when c stops.
	waitFor(t, 2*time.Second, func() bool {
		m, _ = s.Heartbeat(ctx, "a")
		return slices.Equal(m, []string{"a"})
	})
	// The store loses everything: a node that runs a shard takes its lease back through Renew at
	// once, while plain claims wait out the quiet period.
	srv.Kill()
	if _, err := s.Heartbeat(ctx, "a"); err == nil {
		t.Fatal("heartbeat with Redis down succeeded")
	}
	srv.Restart()
	if _, err := s.Heartbeat(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if lost, err := s.Renew(ctx, "a", []shardctl.SessionState{{Shard: 3}}); err != nil || len(lost) != 0 {
		t.Fatal(lost, err)
	}
	if ok, _ := s.Claim(ctx, "b", 4); ok {
		t.Fatal("claim during quiet after store loss")
	}
	if ok, _ := s.Claim(ctx, "b", 3); ok {
		t.Fatal("b took a's re-asserted lease")
	}
}

func TestOwnerRendezvous(t *testing.T) {
	nodes := []string{"n1", "n2", "n3"}
	count := map[string]int{}
	for shard := range 300 {
		o := shardctl.Owner(nodes, shard)
		count[o]++
		// Removing a node moves only its own shards.
		rest := slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == "n2" })
		if o != "n2" && shardctl.Owner(rest, shard) != o {
			t.Fatalf("shard %d moved from %s although %s stayed", shard, o, o)
		}
	}
	for _, n := range nodes {
		if count[n] < 70 {
			t.Fatalf("uneven spread %v", count)
		}
	}
	if shardctl.Owner(nil, 1) != "" {
		t.Fatal("owner without nodes")
	}
	t.Logf("300 shards over 3 nodes: %v", fmt.Sprint(count))
}

// waitFor polls cond (a condition, not a timing rule) until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
