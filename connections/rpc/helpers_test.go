package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/test/fakediscord/rpcsim"
)

// testTimeout bounds every wait in these tests; nothing here should take more than a fraction
// of it.
const testTimeout = 10 * time.Second

var transports = []Transport{IPC, Websocket}

// newSim starts a simulated app on both transports, its clock 1000× fast so a restart pause
// lasts milliseconds.
func newSim(t *testing.T, opts ...rpcsim.Option) *rpcsim.Server {
	t.Helper()
	base := []rpcsim.Option{rpcsim.WithIPCDir(t.TempDir()), rpcsim.WithClock(clock.Scaled(1000))}
	return rpcsim.NewServer(t, append(base, opts...)...)
}

// simOptions points a client at one transport of sim.
func simOptions(tr Transport, sim *rpcsim.Server) []Option {
	return []Option{
		WithTransports(tr),
		WithIPCPaths(sim.IPCPath()),
		WithPorts(sim.Port()),
		WithAPIBase(sim.APIBase()),
		WithClock(clock.Scaled(1000)),
		WithDialTimeout(testTimeout),
		WithPID(4242),
	}
}

// dial connects a client for the test and closes it at the end; it returns the client and its
// out channel, with the first Ready already read.
func dial(t *testing.T, tr Transport, sim *rpcsim.Server, opts ...Option) (*Client, chan Event, *Ready) {
	t.Helper()
	out := make(chan Event, 64)
	c, err := Dial(context.Background(), rpcsim.DefaultClientID, out, append(simOptions(tr, sim), opts...)...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil && !t.Failed() {
			t.Logf("Close: %v", err)
		}
	})
	r := next[*Ready](t, out)
	if r.Transport != tr {
		t.Fatalf("connected over %v, want %v", r.Transport, tr)
	}
	return c, out, r
}

// next returns the next event on out, which must be a T.
func next[T Event](t *testing.T, out <-chan Event) T {
	t.Helper()
	select {
	case ev := <-out:
		v, ok := ev.(T)
		if !ok {
			var zero T
			t.Fatalf("got %T %+v, want %T", ev, ev, zero)
		}
		return v
	case <-time.After(testTimeout):
		var zero T
		t.Fatalf("no %T within %v", zero, testTimeout)
	}
	panic("unreachable")
}

// ctx is a per-call context bounded by testTimeout.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return c
}

// login authenticates c through the whole AUTHORIZE → token → AUTHENTICATE flow.
func login(t *testing.T, c *Client) Token {
	t.Helper()
	_, tok, err := c.Login(ctx(t), LoginParams{Scopes: []string{"rpc", "identify"}, ClientSecret: rpcsim.DefaultClientSecret})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return tok
}

// deadPort returns a loopback port with nothing listening.
func deadPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

func wantCode(t *testing.T, err error, code ErrorCode) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("err = %v, want RPC error %d (%v)", err, int(code), code)
	}
}

func wantClose(t *testing.T, err error, code CloseCode) {
	t.Helper()
	if got := CloseCodeOf(err); got != code {
		t.Fatalf("err = %v, want close code %d (%v)", err, int(code), code)
	}
}

func sprint(v any) string { return fmt.Sprint(v) }
