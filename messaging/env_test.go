package messaging_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cordage/cordage/internal/clock"
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
	clk := clock.Scaled(factor)
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
