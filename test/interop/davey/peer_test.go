package davey

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// peerTimeout bounds one peer process; it exits by itself after this (its --timeout-ms).
const peerTimeout = 90 * time.Second

// requireNode returns the path of node, or skips when node or the peer's npm packages are
// missing. Under CI=true a machine that has node must run the test, so missing packages fail it
// (.ci/run installs them with npm ci).
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH; install Node >= 20, then npm ci in test/interop/davey")
	}
	for _, pkg := range []string{"@snazzah/davey", "ws"} {
		if _, err := os.Stat(filepath.Join("node_modules", pkg, "package.json")); err != nil {
			msg := fmt.Sprintf("npm package %s is not installed in test/interop/davey/node_modules", pkg)
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s (CI=true and node exists: the test must run; npm ci --prefix test/interop/davey)", msg)
			}
			t.Skipf("%s; run npm ci in test/interop/davey", msg)
		}
	}
	return node
}

// recvStats is what the peer decrypted from one sender.
type recvStats struct {
	Frames        int      `json:"frames"` // numbered frames, duplicates included
	DAVE          int      `json:"dave"`   // frames that came DAVE-encrypted and opened
	Plain         int      `json:"plain"`  // frames that came without DAVE
	Silence       int      `json:"silence"`
	Other         int      `json:"other"`
	Undecryptable int      `json:"undecryptable"`
	Dupes         int      `json:"dupes"`
	Min           *int     `json:"min"`
	Max           *int     `json:"max"`
	Distinct      int      `json:"distinct"`
	Missing       int      `json:"missing"`
	Errors        []string `json:"errors"`
}

// peerEvent is one JSON line of peer.mjs; which fields are set depends on Ev.
type peerEvent struct {
	Ev      string               `json:"ev"`
	Where   string               `json:"where"`
	Msg     string               `json:"msg"`
	Error   string               `json:"error"`
	TID     int                  `json:"tid"`
	PV      int                  `json:"pv"`
	DAVE    int                  `json:"dave"`
	Epoch   *uint64              `json:"epoch"`
	Auth    string               `json:"auth"`
	Ready   bool                 `json:"ready"`
	Users   []string             `json:"users"`
	User    string               `json:"user"`
	Code    int                  `json:"code"`
	Op      int                  `json:"op"`
	OK      bool                 `json:"ok"`
	Commit  bool                 `json:"commit"`
	Own     bool                 `json:"own"` // "commit": the announced commit was this peer's
	Welcome bool                 `json:"welcome"`
	Sent    any                  `json:"sent"`
	Last    int                  `json:"last"`
	Count   int                  `json:"count"`
	Recv    map[string]recvStats `json:"recv"`
	Raw     string               `json:"-"`
}

// peer is one running peer.mjs.
type peer struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *syncBuffer
	exited chan struct{}

	mu      sync.Mutex
	log     []string
	events  []peerEvent
	changed chan struct{} // closed and replaced when an event arrives
	mark    int           // waitFor looks at events from this index on
}

type peerConfig struct {
	Endpoint, ServerID, UserID, SessionID, Token, ChannelID string
	Frames                                                  int
	CommitMode                                              string
	Mode                                                    string // transport mode; "" is AES-256-GCM
}

// startPeer runs peer.mjs with cfg. The process is told to leave and reaped when the test ends.
func startPeer(t *testing.T, node, name string, cfg peerConfig) *peer {
	t.Helper()
	args := []string{"peer.mjs",
		"--endpoint", cfg.Endpoint, "--server-id", cfg.ServerID, "--user-id", cfg.UserID,
		"--session-id", cfg.SessionID, "--token", cfg.Token, "--channel-id", cfg.ChannelID,
		"--timeout-ms", fmt.Sprint(peerTimeout.Milliseconds()),
	}
	if cfg.Frames > 0 {
		args = append(args, "--frames", fmt.Sprint(cfg.Frames))
	}
	if cfg.CommitMode != "" {
		args = append(args, "--commit-mode", cfg.CommitMode)
	}
	if cfg.Mode != "" {
		args = append(args, "--mode", cfg.Mode)
	}
	if dir := os.Getenv("DAVEY_CAPTURE_DIR"); dir != "" {
		// Seed material for the fuzzers: everything binary this peer saw, one directory per
		// test and peer.
		args = append(args, "--capture", filepath.Join(dir, strings.ReplaceAll(t.Name()+"-"+name, " ", "-")))
	}
	p := &peer{t: t, name: name, stderr: &syncBuffer{}, changed: make(chan struct{}), exited: make(chan struct{})}
	p.cmd = exec.Command(node, args...)
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		defer close(p.exited)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			var e peerEvent
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				e = peerEvent{Ev: "garbage", Msg: line}
			}
			e.Raw = line
			p.mu.Lock()
			p.log = append(p.log, line)
			p.events = append(p.events, e)
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
		}
		_ = p.cmd.Wait()
	}()
	t.Cleanup(func() { p.stop() })
	return p
}

// stop asks the peer to leave (closing stdin) and waits for it, killing it after 10 s.
func (p *peer) stop() {
	_ = p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		p.t.Errorf("%s did not exit within 10 s of leaving", p.name)
	}
}

func (p *peer) command(m map[string]any) {
	p.t.Helper()
	b, _ := json.Marshal(m)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("%s: command %v: %v", p.name, m, err)
	}
}

// dump is the peer's whole output so far, for failure messages.
func (p *peer) dump() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("--- %s stdout:\n%s\n--- %s stderr:\n%s", p.name, strings.Join(p.log, "\n"), p.name, p.stderr.String())
}

// eventCount is how many events the peer has printed so far.
func (p *peer) eventCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

// since returns the events printed from index i on, and a channel closed at the next one.
func (p *peer) since(i int) ([]peerEvent, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]peerEvent(nil), p.events[i:]...), p.changed
}

// setMark makes later waitFor calls look only at events printed from now on.
func (p *peer) setMark() {
	p.mu.Lock()
	p.mark = len(p.events)
	p.mu.Unlock()
}

// waitFor returns the first event since the mark named ev for which ok (nil: any) is true,
// failing the test after d or when the peer exits without printing one. A peer "error" event
// since the mark fails the test, unless the caller waits for errors (ev == "error").
func (p *peer) waitFor(d time.Duration, ev string, ok func(peerEvent) bool) peerEvent {
	p.t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		p.mu.Lock()
		evs, changed := p.events[p.mark:], p.changed
		p.mu.Unlock()
		for _, e := range evs {
			if e.Ev == "error" && ev != "error" {
				p.t.Fatalf("%s reported an error while the test waited for %q: %s\n%s", p.name, ev, e.Raw, p.dump())
			}
			if e.Ev == ev && (ok == nil || ok(e)) {
				return e
			}
		}
		select {
		case <-changed:
		case <-p.exited:
			p.mu.Lock()
			more := len(p.events) > p.mark+len(evs)
			p.mu.Unlock()
			if !more {
				p.t.Fatalf("%s exited while the test waited for %q\n%s", p.name, ev, p.dump())
			}
		case <-timer.C:
			p.t.Fatalf("%s: no %q event within %v\n%s", p.name, ev, d, p.dump())
		}
	}
}

// stats asks for and returns the peer's counters.
func (p *peer) stats() peerEvent {
	p.t.Helper()
	p.setMark()
	p.command(map[string]any{"cmd": "stats"})
	return p.waitFor(10*time.Second, "stats", nil)
}

// syncBuffer is a bytes.Buffer the process's output copier and the test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
