package messaging_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/messaging"
	"github.com/cordage/cordage/test/fakediscord/restsim"
)

// env is a client wired to a fresh simulator.
type env struct {
	sim    *restsim.Server
	ts     *httptest.Server
	client *messaging.Client
	seed   restsim.Seed
	clk    clock.Clock
}

// newEnv starts a simulator with cfg and a client on it. Both run on one clock, scaled by
// factor, so that windows of seconds take milliseconds.
func newEnv(t testing.TB, factor float64, cfg restsim.Config, opts ...messaging.Option) *env {
	t.Helper()
	return newEnvClock(t, clock.Scaled(factor), cfg, opts...)
}

// newManualEnv is newEnv on a manual clock that moves only when the test advances it, for
// timing rules that must hold exactly however slow the machine is.
func newManualEnv(t testing.TB, cfg restsim.Config, opts ...messaging.Option) (*env, *clock.Manual) {
	t.Helper()
	m := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return newEnvClock(t, m, cfg, opts...), m
}

func newEnvClock(t testing.TB, clk clock.Clock, cfg restsim.Config, opts ...messaging.Option) *env {
	t.Helper()
	cfg.Clock = clk
	sim := restsim.New(cfg)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	token := cfg.Token
	if token == "" {
		token = restsim.DefaultToken
	}
	all := append([]messaging.Option{
		messaging.WithBaseURL(ts.URL + "/api/v10"),
		messaging.WithHTTPClient(ts.Client()),
		messaging.WithClock(clk),
	}, opts...)
	c, err := messaging.New(token, all...)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: sim, ts: ts, client: c, seed: sim.Seeded(), clk: clk}
}

// ctx returns a context that ends with the test or after 20 s.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) ledgerFor(method, route string) []restsim.Entry {
	var out []restsim.Entry
	for _, en := range e.sim.Ledger() {
		if en.Method == method && en.Route == route {
			out = append(out, en)
		}
	}
	return out
}

// settle waits until sent requests reached the simulator and were answered, queued requests
// wait in the client, and (with any queued) a timer is armed for the next step.
func (e *env) settle(t testing.TB, m *clock.Manual, sent, queued int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := len(e.sim.Ledger())
		done := int(e.client.Stats().Requests)
		q := messaging.Queued(e.client)
		if n == sent && done == sent && q == queued && (queued == 0 || m.Waiters() > 0) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled: ledger %d (want %d), answered %d, queued %d (want %d), timers %d", n, sent, done, q, queued, m.Waiters())
		}
		time.Sleep(100 * time.Microsecond) // polling a condition, not timing a rule
	}
}

// quiet checks that nothing more is sent for a moment of wall time while the clock stands.
func (e *env) quiet(t testing.TB, sent int) {
	t.Helper()
	time.Sleep(20 * time.Millisecond) // a short look for a request that must not come
	if n := len(e.sim.Ledger()); n != sent {
		t.Fatalf("%d requests sent, want %d while the clock stands still", n, sent)
	}
}

// drive advances the clock by step whenever every answered request has been seen and the
// client waits on a timer, until finished is closed.
func (e *env) drive(t testing.TB, m *clock.Manual, step time.Duration, finished <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-finished:
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not finished: ledger %d, queued %d", len(e.sim.Ledger()), messaging.Queued(e.client))
		}
		if int(e.client.Stats().Requests) == len(e.sim.Ledger()) && messaging.Queued(e.client) > 0 && m.Waiters() > 0 {
			m.Advance(step)
		}
		time.Sleep(200 * time.Microsecond) // polling a condition, not timing a rule
	}
}
