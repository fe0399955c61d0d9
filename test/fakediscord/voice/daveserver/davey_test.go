package daveserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events/voice"
	"go.uber.org/zap/zaptest"
)

// The cross-check against an independent MLS implementation: @snazzah/davey (OpenMLS), the
// library discord.js uses, as installed for the interop peer in test/interop/davey. Each
// simulated client is a davey DAVESession in one Node process; the test plays the voice
// server's part (routing Outs, answering as discord.js does) and checks that the sessions
// reach the same epoch authenticator and exchange media. Skips when Node or the module is
// missing.

type daveyProc struct {
	t      *testing.T
	cancel context.CancelFunc
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
}

func startDavey(t *testing.T) *daveyProc {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "interop", "davey"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@snazzah", "davey")); err != nil {
		t.Skip("@snazzah/davey not installed in test/interop/davey (run npm ci there)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "davey", "driver.mjs"))
	cmd.Env = append(os.Environ(), "DAVEY_DIR="+dir)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	d := &daveyProc{t: t, cancel: cancel, cmd: cmd, in: in, out: bufio.NewScanner(out)}
	d.out.Buffer(make([]byte, 1<<20), 1<<20)
	t.Cleanup(func() {
		in.Close()
		_ = cmd.Wait()
		cancel()
	})
	return d
}

type daveyReply struct {
	OK      bool     `json:"ok"`
	Error   string   `json:"error"`
	KP      string   `json:"kp"`
	Commit  string   `json:"commit"`
	Welcome string   `json:"welcome"`
	Epoch   int64    `json:"epoch"`
	Status  int      `json:"status"`
	Ready   bool     `json:"ready"`
	Auth    string   `json:"auth"`
	Users   []string `json:"users"`
	Data    string   `json:"data"`
}

func (d *daveyProc) call(req map[string]any) daveyReply {
	d.t.Helper()
	b, _ := json.Marshal(req)
	if _, err := d.in.Write(append(b, '\n')); err != nil {
		d.t.Fatalf("davey driver: %v", err)
	}
	if !d.out.Scan() {
		d.t.Fatalf("davey driver stopped: %v", d.out.Err())
	}
	var r daveyReply
	if err := json.Unmarshal(d.out.Bytes(), &r); err != nil {
		d.t.Fatalf("davey driver reply %q: %v", d.out.Text(), err)
	}
	return r
}

func unb64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const daveyChannel = 1234567890123456789

// daveyNet routes the server's Outs to davey sessions in order and feeds their answers back,
// the way discord.js's networking layer does.
type daveyNet struct {
	t        *testing.T
	s        *Server
	d        *daveyProc
	clk      *clock.Manual
	users    []uint64
	queue    []delivery
	invalids int // op 31 sent
	commits  int // op 28 sent
	// noRecover lists users that must not answer a failed commit or welcome with op 31 (a
	// client given a foreign external sender would fail forever); failures keeps the errors.
	noRecover map[uint64]bool
	failures  map[uint64][]string
	// holdCommits drops the commits clients make, as if they were still in flight.
	holdCommits bool
	known       map[uint64]map[uint64]bool // per user: op 11 minus op 13 seen so far
	rejected    int                        // commits the server refused
	// rng, when set, makes run deliver to a random user each step (each user's messages stay
	// in order, as on one websocket) and perform the queued actions at random points.
	rng     *rand.Rand
	actions []func()
	faulted bool // a corrupted commit was asked for
}

type delivery struct {
	to  uint64
	out Out
}

func newDaveyNet(t *testing.T) *daveyNet {
	d := startDavey(t)
	clk := clock.NewManual(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	s, err := New(Config{Clock: clk, ProtocolVersion: 1, ChannelID: daveyChannel, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return &daveyNet{t: t, s: s, d: d, clk: clk, noRecover: map[uint64]bool{}, failures: map[uint64][]string{}, known: map[uint64]map[uint64]bool{}}
}

func (n *daveyNet) id(u uint64) string { return strconv.FormatUint(u, 10) }

// recognized is u's view of who is in the call, built from the op 11 and op 13 it was sent
// (in its own message order, as a client sees them).
func (n *daveyNet) recognized(u uint64) []string {
	var r []string
	for v := range n.known[u] {
		r = append(r, n.id(v))
	}
	return r
}

func (n *daveyNet) push(outs []Out) {
	for _, o := range outs {
		to := o.To
		if to == nil {
			to = n.users
		}
		for _, u := range to {
			n.queue = append(n.queue, delivery{u, o})
		}
	}
}

func (n *daveyNet) sendKP(u uint64, kp string) {
	n.t.Helper()
	capture(n.t, "FuzzKeyPackage", unb64(n.t, kp))
	outs, err := n.s.HandleBinary(u, voice.BinaryMessage{Op: voice.OpDAVEMLSKeyPackage, Payload: unb64(n.t, kp)})
	if err != nil {
		n.t.Fatalf("server refused davey's key package for %d: %v", u, err)
	}
	n.push(outs)
}

func (n *daveyNet) jsonOp(u uint64, op voice.Op, tid uint16) {
	n.t.Helper()
	d, _ := json.Marshal(map[string]uint16{"transition_id": tid})
	outs, err := n.s.HandleJSON(u, op, d)
	if err != nil {
		n.t.Fatalf("%s from %d: %v", op, u, err)
	}
	n.push(outs)
}

// recover is what a client does with a commit or welcome it cannot use: op 31, reset, new key
// package.
func (n *daveyNet) recover(u uint64, tid uint16) {
	n.invalids++
	n.jsonOp(u, voice.OpDAVEMLSInvalidCommitWelcome, tid)
	r := n.d.call(map[string]any{"op": "reinit", "user": n.id(u), "channel": n.id(daveyChannel)})
	if !r.OK {
		n.t.Fatalf("reinit %d: %s", u, r.Error)
	}
	n.sendKP(u, r.KP)
}

func (n *daveyNet) run() {
	n.t.Helper()
	for steps := 0; len(n.queue) > 0 || (n.rng != nil && len(n.actions) > 0); steps++ {
		if steps > 10000 {
			n.t.Fatal("message storm")
		}
		i := 0
		if n.rng != nil {
			if len(n.actions) > 0 && (len(n.queue) == 0 || n.rng.IntN(8) == 0) {
				a := n.actions[0]
				n.actions = n.actions[1:]
				a()
				continue
			}
			// The first queued message of a random user.
			u := n.queue[n.rng.IntN(len(n.queue))].to
			i = slices.IndexFunc(n.queue, func(d delivery) bool { return d.to == u })
		}
		dl := n.queue[i]
		n.queue = slices.Delete(n.queue, i, i+1)
		u, o := dl.to, dl.out
		if !slices.Contains(n.users, u) {
			continue // left meanwhile
		}
		uid := n.id(u)
		switch o.Op {
		case voice.OpDAVEMLSExternalSender:
			if r := n.d.call(map[string]any{"op": "sender", "user": uid, "data": o.Binary}); !r.OK {
				n.t.Fatalf("davey refused op 25 for %d: %s", u, r.Error)
			}
		case voice.OpDAVEMLSProposals:
			r := n.d.call(map[string]any{"op": "proposals", "user": uid, "optype": int(o.Binary[0]), "data": o.Binary[1:], "recognized": n.recognized(u)})
			if !r.OK {
				n.t.Fatalf("davey refused op 27 for %d: %s", u, r.Error)
			}
			if r.Commit == "" || n.holdCommits {
				continue
			}
			n.commits++
			payload := append(unb64(n.t, r.Commit), unb64(n.t, r.Welcome)...)
			capture(n.t, "FuzzCommit", payload)
			if r.Welcome != "" {
				capture(n.t, "FuzzWelcome", unb64(n.t, r.Welcome))
			}
			outs, err := n.s.HandleBinary(u, voice.BinaryMessage{Op: voice.OpDAVEMLSCommitWelcome, Payload: payload})
			if err != nil {
				// davey 0.1.12 attaches a welcome only when the op 27 it just processed held an
				// Add; a commit that also takes Adds queued by an earlier op 27 comes without
				// one. The server refuses it and proposes the Adds again.
				if r.Welcome == "" && strings.Contains(err.Error(), "no welcome") {
					n.rejected++
					n.t.Logf("server refused davey's welcome-less commit from %d (known davey gap)", u)
					n.push(outs)
					continue
				}
				n.t.Fatalf("server refused davey's commit from %d: %v", u, err)
			}
			n.push(outs)
		case voice.OpDAVEMLSAnnounceCommit, voice.OpDAVEMLSWelcome:
			tr, err := voice.ParseTransition(o.Binary)
			if err != nil {
				n.t.Fatal(err)
			}
			op := "commit"
			if o.Op == voice.OpDAVEMLSWelcome {
				op = "welcome"
			}
			if r := n.d.call(map[string]any{"op": op, "user": uid, "data": tr.Data}); !r.OK {
				n.t.Logf("user %d could not process %s %d: %s", u, op, tr.TransitionID, r.Error)
				n.failures[u] = append(n.failures[u], r.Error)
				if !n.noRecover[u] {
					n.recover(u, tr.TransitionID)
				}
				continue
			}
			if tr.TransitionID != 0 {
				n.jsonOp(u, voice.OpDAVEReadyForTransition, tr.TransitionID)
			}
		case voice.OpDAVEPrepareTransition:
			if p := o.JSON.(voice.DAVEPrepareTransition); p.TransitionID != 0 {
				n.jsonOp(u, voice.OpDAVEReadyForTransition, p.TransitionID)
			}
		case voice.OpDAVEPrepareEpoch:
			if o.JSON.(voice.DAVEPrepareEpoch).Epoch == 1 {
				r := n.d.call(map[string]any{"op": "reinit", "user": uid, "channel": n.id(daveyChannel)})
				if !r.OK {
					n.t.Fatalf("reinit %d: %s", u, r.Error)
				}
				n.sendKP(u, r.KP)
			}
		case voice.OpDAVEExecuteTransition:
		case voice.OpClientsConnect:
			for _, v := range o.JSON.([]uint64) {
				n.known[u][v] = true
			}
		case voice.OpClientDisconnect:
			delete(n.known[u], o.JSON.(uint64))
		default:
			n.t.Fatalf("unexpected %s", o.Op)
		}
	}
}

func (n *daveyNet) join(u uint64) {
	n.t.Helper()
	n.joinAsync(u)
	n.run()
}

func (n *daveyNet) leave(u uint64) {
	n.t.Helper()
	n.leaveAsync(u)
	n.run()
}

// converged checks that every user's davey session is active at the server's epoch, with one
// epoch authenticator and the server's roster, and that media from each decrypts at the others.
func (n *daveyNet) converged(step string) {
	n.t.Helper()
	var auth string
	for _, u := range n.users {
		st := n.d.call(map[string]any{"op": "state", "user": n.id(u)})
		if !st.OK || st.Status != 3 || !st.Ready {
			n.t.Fatalf("%s: user %d state %+v", step, u, st)
		}
		if uint64(st.Epoch) != n.s.Epoch() {
			n.t.Fatalf("%s: user %d at epoch %d, server at %d", step, u, st.Epoch, n.s.Epoch())
		}
		if auth == "" {
			auth = st.Auth
		} else if st.Auth != auth {
			for _, v := range n.users {
				n.t.Logf("user %d: %+v", v, n.d.call(map[string]any{"op": "state", "user": n.id(v)}))
			}
			n.t.Fatalf("%s: user %d has another epoch authenticator (server epoch %d, members %v)", step, u, n.s.Epoch(), n.s.Members())
		}
		var roster []string
		for _, m := range n.s.Members() {
			roster = append(roster, n.id(m))
		}
		if !slices.Equal(sortedStrings(st.Users), sortedStrings(roster)) {
			n.t.Fatalf("%s: user %d sees %v, server %v", step, u, st.Users, roster)
		}
	}
	frame := []byte{0xfc, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07}
	for _, from := range n.users {
		enc := n.d.call(map[string]any{"op": "encrypt", "user": n.id(from), "data": frame})
		if !enc.OK {
			n.t.Fatalf("%s: encrypt at %d: %s", step, from, enc.Error)
		}
		for _, to := range n.users {
			if to == from {
				continue
			}
			dec := n.d.call(map[string]any{"op": "decrypt", "user": n.id(to), "from": n.id(from), "data": unb64(n.t, enc.Data)})
			if !dec.OK || !bytes.Equal(unb64(n.t, dec.Data), frame) {
				n.t.Fatalf("%s: %d cannot decrypt %d's frame: %+v", step, to, from, dec)
			}
		}
	}
}

func sortedStrings(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func TestDaveyCrossCheck(t *testing.T) {
	n := newDaveyNet(t)
	n.join(101)
	n.join(102)
	n.converged("two joined")
	if n.s.Epoch() != 1 {
		t.Fatalf("epoch %d after creation", n.s.Epoch())
	}
	n.join(103)
	n.converged("third joined")
	n.leave(102)
	n.converged("middle left")
	n.join(104)
	n.converged("fourth took the blank leaf")
	if l, _ := n.s.LeafIndex(104); l != 1 {
		t.Fatalf("104 at leaf %d, want 1", l)
	}
	if n.invalids != 0 {
		t.Fatalf("%d op 31 in the plain run", n.invalids)
	}

	// A corrupted announce: everyone who gets it fails, sends op 31 and is re-added.
	n.s.SetFaults(Faults{CorruptCommits: 1})
	n.join(105)
	if n.invalids == 0 {
		t.Fatal("the corrupted commit was accepted")
	}
	n.converged("after invalid-commit recovery")

	// Leaves down to one member: sole member reset, then a new group with the next joiner.
	n.leave(103)
	n.leave(104)
	n.leave(105)
	if n.s.Epoch() != 0 || len(n.s.Members()) != 0 {
		t.Fatalf("no sole member reset: epoch %d members %v", n.s.Epoch(), n.s.Members())
	}
	n.join(106)
	n.converged("group recreated after sole member reset")

	// A joiner leaves before any commit of its Add arrives: the Add is revoked, and the next
	// commits (made by davey after the revoke) must not reference it.
	n.holdCommits = true
	n.join(108)
	n.leave(108)
	n.holdCommits = false
	n.join(109)
	n.converged("after a revoked add")

	// A joiner told a foreign external sender must refuse the welcome (the group's
	// external_senders holds the server's key).
	n.s.SetFaults(Faults{ForeignSenders: 1})
	n.noRecover[107] = true
	n.join(107)
	if f := n.failures[107]; len(f) != 1 || !strings.Contains(f[0], "UnexpectedExternalSender") {
		t.Fatalf("welcome with a foreign external sender: failures %q", f)
	}
	n.leave(107)
	n.converged("after the foreign-sender joiner left")

	// Downgrade to no DAVE, then upgrade: a new group from fresh key packages.
	n.push(n.s.SetProtocolVersion(0))
	n.run()
	if n.s.ProtocolVersion() != 0 {
		t.Fatal("downgrade did not execute")
	}
	n.push(n.s.SetProtocolVersion(1))
	n.run()
	n.converged("after downgrade and upgrade")
	t.Logf("commits sent %d, op 31 sent %d, final epoch %d", n.commits, n.invalids, n.s.Epoch())
}

// capture writes real davey messages into the fuzz corpus when DAVESERVER_CAPTURE=1, a few per
// fuzzer, so the fuzzers start from what OpenMLS actually sends.
func capture(t *testing.T, fuzzer string, b []byte) {
	if os.Getenv("DAVESERVER_CAPTURE") != "1" {
		return
	}
	dir := filepath.Join("testdata", "fuzz", fuzzer)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "davey-") {
			n++
		}
	}
	if n >= 6 {
		return
	}
	body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
	if err := os.WriteFile(filepath.Join(dir, "davey-"+strconv.Itoa(n)), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDaveyRandomInterleavings joins and leaves davey clients, corrupts announced commits and
// downgrades/upgrades the call at random points while messages are in flight, delivering each
// user's messages in order but interleaving users at random: commits race, proposals arrive
// after others committed, members leave mid-transition. At the end every remaining member must
// share the group.
func TestDaveyRandomInterleavings(t *testing.T) {
	seeds := uint64(8)
	if v, err := strconv.ParseUint(os.Getenv("DAVESERVER_SEEDS"), 10, 64); err == nil {
		seeds = v // a longer search: DAVESERVER_SEEDS=200 go test -run DaveyRandom
	}
	for seed := range seeds {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			n := newDaveyNet(t)
			n.rng = rand.New(rand.NewPCG(seed, 0x64617665))
			next := uint64(200)
			n.join(next)
			n.join(next + 1)
			next += 2
			for range 12 {
				switch n.rng.IntN(10) {
				case 0:
					n.actions = append(n.actions, func() { n.s.SetFaults(Faults{CorruptCommits: 1}); n.faulted = true })
					continue
				case 1:
					n.actions = append(n.actions, func() { n.push(n.s.SetProtocolVersion(0)) }, func() { n.push(n.s.SetProtocolVersion(1)) })
					continue
				}
				if len(n.users) < 2 || (len(n.users) < 5 && n.rng.IntN(2) == 0) {
					u := next
					next++
					n.actions = append(n.actions, func() { n.joinAsync(u) })
				} else {
					n.actions = append(n.actions, func() {
						if len(n.users) > 1 {
							n.leaveAsync(n.users[n.rng.IntN(len(n.users))])
						}
					})
				}
			}
			n.run()
			if len(n.users) < 2 {
				n.joinAsync(next)
				n.run()
			}
			n.converged("after random joins and leaves")
			if !n.faulted && n.invalids > 0 {
				t.Fatalf("%d op 31 without a corrupted commit: the server made members diverge", n.invalids)
			}
			t.Logf("users %v, commits %d (refused %d), op 31 %d, epoch %d", n.users, n.commits, n.rejected, n.invalids, n.s.Epoch())
		})
	}
}

// joinAsync connects u without draining the queue: the voice server's op 11 to everyone (the
// joiner learns the whole call), then what the DAVE server says, then u's key package.
func (n *daveyNet) joinAsync(u uint64) {
	n.t.Helper()
	n.t.Logf("action: %d joins", u)
	r := n.d.call(map[string]any{"op": "new", "user": n.id(u), "channel": n.id(daveyChannel)})
	if !r.OK {
		n.t.Fatal(r.Error)
	}
	n.known[u] = map[uint64]bool{}
	n.push([]Out{{To: slices.Clone(n.users), Op: voice.OpClientsConnect, JSON: []uint64{u}}})
	n.users = append(n.users, u)
	n.push([]Out{{To: []uint64{u}, Op: voice.OpClientsConnect, JSON: slices.Clone(n.users)}})
	n.push(n.s.Join(u, 1))
	n.sendKP(u, r.KP)
}

// leaveAsync disconnects u without draining the queue: op 13 to the others, then what the
// DAVE server says.
func (n *daveyNet) leaveAsync(u uint64) {
	n.t.Logf("action: %d leaves", u)
	n.users = slices.DeleteFunc(n.users, func(v uint64) bool { return v == u })
	n.queue = slices.DeleteFunc(n.queue, func(d delivery) bool { return d.to == u })
	n.push([]Out{{To: slices.Clone(n.users), Op: voice.OpClientDisconnect, JSON: u}})
	n.push(n.s.Leave(u))
}
