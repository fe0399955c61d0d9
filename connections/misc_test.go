package connections_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
)

func TestOptionsValidated(t *testing.T) {
	out := make(chan connections.Event, 1)
	gw := events.GatewayBot{URL: "ws://127.0.0.1:1/", Shards: 2}
	cases := map[string][]connections.Option{
		"large threshold": {connections.WithLargeThreshold(10)},
		"intents":         {connections.WithIntents(1 << 30)},
		"compression":     {connections.WithCompression(connections.Compression(9))},
		"shard count":     {connections.WithShardCount(0)},
		"api url":         {connections.WithAPIURL("discord.com")},
		"gateway url":     {connections.WithGatewayURL("http://x")},
		"backoff":         {connections.WithBackoff(connections.Backoff{})},
	}
	for name, opts := range cases {
		if _, err := connections.ConnectShards(t.Context(), "tok", out, gw, []int{0}, opts...); !errors.Is(err, connections.ErrInvalidOption) {
			t.Errorf("%s: got %v, want ErrInvalidOption", name, err)
		}
	}
	if _, err := connections.ConnectShards(t.Context(), "tok", out, gw, []int{2}); !errors.Is(err, connections.ErrInvalidOption) {
		t.Errorf("shard 2 of 2: %v", err)
	}
	if _, err := connections.ConnectShards(t.Context(), "", out, gw, []int{0}); !errors.Is(err, connections.ErrInvalidOption) {
		t.Errorf("empty token: %v", err)
	}
	if _, err := connections.ConnectShards(t.Context(), "tok", nil, gw, []int{0}); !errors.Is(err, connections.ErrInvalidOption) {
		t.Errorf("nil out: %v", err)
	}
}

// Disconnect (like Close and ctx cancellation) closes with 1000, which ends the sessions;
// RemoveShards closes with a code that keeps them resumable.
func TestDisconnectEndsSessions(t *testing.T) {
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithShardCount(2), fakediscord.WithGuilds(4), fakediscord.WithMaxConcurrency(2))
	conn, rec := connectBot(t, srv, clk)
	ready(t, rec)
	ctx := ctxT(t)
	if err := conn.RemoveShards(ctx, 1); err != nil {
		t.Fatal(err)
	}
	reply := make(chan error, 1)
	select {
	case conn.Commands() <- connections.Disconnect{Reply: reply}:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	select {
	case err := <-reply:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("no reply to Disconnect")
	}
	select {
	case <-conn.Done():
	default:
		t.Fatal("Disconnect replied before every goroutine stopped")
	}
	if err := conn.Err(); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitFor(ctx, func(sn *fakediscord.Snapshot) bool { return sn.Connections == 0 }); err != nil {
		t.Fatal(err)
	}
	for _, s := range srv.Ledger().Sessions {
		last := s.Connections[len(s.Connections)-1]
		switch s.Shard {
		case 0:
			if last.Code != events.CloseNormal || s.State != fakediscord.SessionDead {
				t.Fatalf("shard 0 after Disconnect: %+v, %s", last, s.State)
			}
		case 1:
			if last.Code == events.CloseNormal || last.Code == events.CloseGoingAway || !last.Resumable {
				t.Fatalf("shard 1 after RemoveShards: %+v", last)
			}
		}
	}
	if err := conn.Send(ctx, connections.Disconnect{}); !errors.Is(err, connections.ErrClosed) {
		t.Fatalf("command after Done: %v", err)
	}
}

// Discord may send op 7 instead of Hello; the shard reconnects and carries on.
func TestReconnectBeforeHello(t *testing.T) {
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithGuilds(2))
	srv.ReconnectBeforeHello(1)
	_, rec := connectBot(t, srv, clk)
	ready(t, rec)
	if n := len(srv.IdentifyLog()); n != 1 {
		t.Fatalf("%d identifies", n)
	}
}

type recordingObserver struct {
	connections.NopObserver
	mu       sync.Mutex
	statuses map[connections.Status]int
	latency  int
	gate     int
	budget   int
	window   int
	queue    int
}

func (o *recordingObserver) ShardStatus(_ int, s connections.Status) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.statuses[s]++
}
func (o *recordingObserver) HeartbeatLatency(int, time.Duration) { o.inc(&o.latency) }
func (o *recordingObserver) GateWait(int, time.Duration)         { o.inc(&o.gate) }
func (o *recordingObserver) SessionBudget(n int)                 { o.mu.Lock(); o.budget = n; o.mu.Unlock() }
func (o *recordingObserver) SendWindow(int, int)                 { o.inc(&o.window) }
func (o *recordingObserver) OutQueue(int)                        { o.inc(&o.queue) }
func (o *recordingObserver) inc(p *int)                          { o.mu.Lock(); *p++; o.mu.Unlock() }

func TestObserver(t *testing.T) {
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithGuilds(2), fakediscord.WithHeartbeatInterval(2*time.Second), fakediscord.WithSessionStartLimit(1000, 900))
	obs := &recordingObserver{statuses: map[connections.Status]int{}}
	conn, rec := connectBot(t, srv, clk, connections.WithObserver(obs))
	ready(t, rec)
	if err := conn.UpdateStatus(ctxT(t), events.PresenceUpdate{Status: events.StatusOnline}); err != nil {
		t.Fatal(err)
	}
	tm := clk.NewTimer(10 * time.Second) // a few heartbeats
	<-tm.C()
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.statuses[connections.StatusReady] == 0 || obs.statuses[connections.StatusWaitingGate] == 0 ||
		obs.latency == 0 || obs.gate == 0 || obs.budget != 900 || obs.window == 0 || obs.queue == 0 {
		t.Fatalf("observer saw %+v", obs)
	}
}
