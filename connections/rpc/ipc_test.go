//go:build !windows

package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/cordage/cordage/test/fakediscord/rpcsim"
)

// rawApp is a hand-driven IPC peer for what the simulator does not do on purpose: pings from
// the app, garbage, broken close frames.
func rawApp(t *testing.T, script func(nc net.Conn)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "discord-ipc-0")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		ln.Close() // one connection only: a reconnect finds nothing
		if err != nil {
			return
		}
		defer nc.Close()
		if op, _, err := ReadFrame(nc, 1<<16); err != nil || op != OpHandshake {
			return
		}
		ready, _ := json.Marshal(map[string]any{"cmd": "DISPATCH", "evt": "READY", "data": map[string]any{"v": 1, "user": map[string]any{"id": "5", "username": "raw"}}})
		nc.Write(AppendFrame(nil, OpFrame, ready))
		script(nc)
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return path
}

func TestIPCAnswersPingsAndSkipsGarbage(t *testing.T) {
	pong := make(chan string, 1)
	path := rawApp(t, func(nc net.Conn) {
		nc.Write(AppendFrame(nil, OpFrame, []byte(`not json`)))    // skipped with a warning
		nc.Write(AppendFrame(nil, OpFrame, []byte(`{"cmd":"X"}`))) // no nonce, no dispatch: ignored
		nc.Write(AppendFrame(nil, OpPong, []byte(`{}`)))           // unsolicited pong: ignored
		nc.Write(AppendFrame(nil, OpPing, []byte(`{"n":1}`)))
		if op, p, err := ReadFrame(nc, 1024); err == nil && op == OpPong {
			pong <- string(p)
		}
		nc.Write(AppendFrame(nil, OpFrame, []byte(`{"cmd":"DISPATCH","evt":"SPEAKING_START","data":{"user_id":"9"}}`)))
		nc.Write(AppendFrame(nil, OpClose, []byte(`{{`)))
	})
	out := make(chan Event, 8)
	c, err := Dial(ctx(t), rpcsim.DefaultClientID, out, WithTransports(IPC), WithIPCPaths(path), WithMaxReconnects(1), WithBackoff(Backoff{Base: 1, Max: 1, Multiplier: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r := next[*Ready](t, out); r.User.Username != "raw" {
		t.Fatalf("Ready = %+v", r)
	}
	if p := <-pong; p != `{"n":1}` {
		t.Fatalf("pong payload %q", p)
	}
	if sp := next[*SpeakingStart](t, out); sp.UserID != 9 {
		t.Fatalf("SPEAKING_START = %+v", sp)
	}
	d := next[*Disconnected](t, out)
	wantClose(t, d.Err, CloseAbnormal) // an undecodable close frame
	if err := waitDone(t, c); !errors.Is(err, ErrGaveUp) {
		t.Fatalf("err = %v", err)
	}
}

func TestHandshakeAnsweredWithAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "discord-ipc-0")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		ReadFrame(nc, 1<<16)
		nc.Write(AppendFrame(nil, OpFrame, []byte(`{"cmd":"DISPATCH","evt":"ERROR","data":{"code":4000,"message":"bad"}}`)))
		ReadFrame(nc, 1<<16) // until the client hangs up
	}()
	defer func() { ln.Close(); <-done }()
	_, err = Dial(context.Background(), rpcsim.DefaultClientID, make(chan Event), WithTransports(IPC), WithIPCPaths(path))
	wantCode(t, err, CodeInvalidPayload)
}

func TestCommandInFlightWhenTheConnectionDrops(t *testing.T) {
	path := rawApp(t, func(nc net.Conn) {
		ReadFrame(nc, 1<<16) // the command; never answered
	})
	out := make(chan Event, 8)
	c, err := Dial(ctx(t), rpcsim.DefaultClientID, out, WithTransports(IPC), WithIPCPaths(path), WithMaxReconnects(1), WithBackoff(Backoff{Base: 1, Max: 1, Multiplier: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetActivity(ctx(t), Activity{}); !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("err = %v, want ErrConnectionLost", err)
	}
}

// TestDiscoveryLikeTheApp: a stale discord-ipc-0 from a crashed app and another program on
// the first websocket port are both skipped, on the way to where the app really listens.
func TestDiscoveryLikeTheApp(t *testing.T) {
	dir := t.TempDir()
	stale, err := net.Listen("unix", filepath.Join(dir, "discord-ipc-0"))
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close() // the file stays, nobody answers: what a crashed app leaves
	// Another program's web server on the first port answers the upgrade with a 404.
	squatter := httptest.NewServer(http.NotFoundHandler())
	defer squatter.Close()
	first := squatter.Listener.Addr().(*net.TCPAddr).Port
	sim := rpcsim.NewServer(t, rpcsim.WithIPCDir(dir), rpcsim.WithPortRange(first, first+9))
	if filepath.Base(sim.IPCPath()) != "discord-ipc-1" || sim.Port() <= first {
		t.Fatalf("simulated app took %s and port %d", sim.IPCPath(), sim.Port())
	}
	var ipc []string
	for i := 0; i < 10; i++ {
		ipc = append(ipc, filepath.Join(dir, "discord-ipc-"+string(rune('0'+i))))
	}
	var ports []int
	for p := first; p <= first+9; p++ {
		ports = append(ports, p)
	}
	for _, tr := range transports {
		out := make(chan Event, 4)
		c, err := Dial(ctx(t), rpcsim.DefaultClientID, out, WithTransports(tr), WithIPCPaths(ipc...), WithPorts(ports...))
		if err != nil {
			t.Fatalf("%v: %v", tr, err)
		}
		r := next[*Ready](t, out)
		c.Close()
		if tr == IPC && r.Endpoint != sim.IPCPath() || tr == Websocket && r.Endpoint != wsURL(sim.Port(), rpcsim.DefaultClientID) {
			t.Fatalf("%v: connected to %s", tr, r.Endpoint)
		}
	}
}
