package mls

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

type davey struct {
	t   *testing.T
	in  *json.Encoder
	out *bufio.Scanner
}

func (d *davey) call(m map[string]any) map[string]any {
	d.t.Helper()
	if err := d.in.Encode(m); err != nil {
		d.t.Fatal(err)
	}
	if !d.out.Scan() {
		d.t.Fatal("peer gone")
	}
	var r map[string]any
	json.Unmarshal(d.out.Bytes(), &r)
	if e, ok := r["error"]; ok {
		d.t.Fatalf("davey %v: %v", m["cmd"], e)
	}
	return r
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
func unb64(t *testing.T, v any) []byte {
	s, _ := v.(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDaveyInterop runs Go members and @snazzah/davey (OpenMLS, what discord.js uses) members in
// one DAVE-shaped group: each side commits adds and removes, each side joins from the other's
// Welcome, and every member must reach the same epoch authenticator. It skips unless Node and
// the peer's modules are present (cd testdata/davey && npm ci).
func TestDaveyInterop(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join("testdata", "davey"))
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@snazzah", "davey")); err != nil {
		t.Skip("davey not installed: cd testdata/davey && npm ci")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "peer.mjs"))
	cmd.Dir = dir
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	d := &davey{t: t, in: json.NewEncoder(stdin), out: bufio.NewScanner(stdout)}
	d.out.Buffer(make([]byte, 1<<20), 1<<22)

	server, _ := NewSigner(mustKey(t))
	es := ExternalSender{SignatureKey: server.PublicKey(), Credential: Credential{Type: CredentialTypeBasic, Identity: []byte{0}}}
	channel := binary.BigEndian.AppendUint64(nil, 1001)
	users := []string{"1", "2", "3", "4"}

	aliceKP := newBundle(t, 1)
	alice, err := NewGroup(channel, aliceKP, ExternalSendersExtension(es))
	if err != nil {
		t.Fatal(err)
	}
	newDavey := func(id, user string) *KeyPackage {
		d.call(map[string]any{"id": id, "cmd": "new", "user": user, "channel": "1001"})
		d.call(map[string]any{"id": id, "cmd": "ext", "data": b64(es.Marshal())})
		kp, err := DecodeKeyPackage(unb64(t, d.call(map[string]any{"id": id, "cmd": "kp"})["data"]))
		if err != nil {
			t.Fatal(err)
		}
		if err := kp.Verify(1 << 40); err != nil {
			t.Fatalf("davey key package: %v", err)
		}
		return kp
	}
	propVec := func(msgs ...[]byte) []byte {
		var body []byte
		for _, m := range msgs {
			body = append(body, m...)
		}
		return append(appendVarint(nil, len(body)), body...)
	}
	check := func(gs []*Group, ds ...string) {
		t.Helper()
		want := gs[0].EpochAuthenticator()
		for _, g := range gs {
			if !bytes.Equal(g.EpochAuthenticator(), want) {
				t.Fatal("go members disagree")
			}
		}
		for _, id := range ds {
			r := d.call(map[string]any{"id": id, "cmd": "auth"})
			if !bytes.Equal(unb64(t, r["data"]), want) || uint64(r["epoch"].(float64)) != gs[0].Epoch() {
				t.Fatalf("davey %s disagrees at epoch %d (davey epoch %v)", id, gs[0].Epoch(), r["epoch"])
			}
		}
		t.Logf("epoch %d agreed by %d go + %d davey members", gs[0].Epoch(), len(gs), len(ds))
	}

	// 1. Go commits the Add of davey Bob; Bob joins from Go's Welcome.
	bobKP := newDavey("bob", "2")
	p, _ := ExternalProposal(server, 0, channel, alice.Epoch(), &Proposal{Type: ProposalTypeAdd, Add: bobKP})
	if _, err := alice.ReceiveProposal(p); err != nil {
		t.Fatal(err)
	}
	res, err := alice.Commit()
	if err != nil {
		t.Fatal(err)
	}
	alice = res.Next
	d.call(map[string]any{"id": "bob", "cmd": "welcome", "data": b64(res.Welcome)})
	check([]*Group{alice}, "bob")

	// 2. davey Bob commits the Add of Go Carol; Alice processes, Carol joins from Bob's Welcome.
	carolKP := newBundle(t, 3)
	p, _ = ExternalProposal(server, 0, channel, alice.Epoch(), &Proposal{Type: ProposalTypeAdd, Add: carolKP.KeyPackage})
	if _, err := alice.ReceiveProposal(p); err != nil {
		t.Fatal(err)
	}
	r := d.call(map[string]any{"id": "bob", "cmd": "props", "op": 0, "data": b64(propVec(p)), "users": users})
	bobCommit := unb64(t, r["commit"])
	if alice, err = alice.ProcessCommit(bobCommit); err != nil {
		t.Fatalf("alice processing davey commit: %v", err)
	}
	d.call(map[string]any{"id": "bob", "cmd": "commit", "data": b64(bobCommit)})
	carol, err := JoinWelcome(unb64(t, r["welcome"]), carolKP)
	if err != nil {
		t.Fatalf("carol joining from davey welcome: %v", err)
	}
	check([]*Group{alice, carol}, "bob")
	if ex := carol.ExternalSenders(); len(ex) != 1 || !bytes.Equal(ex[0].Marshal(), es.Marshal()) {
		t.Fatal("davey's welcome lost the external sender")
	}
	for i, m := range carol.Members() {
		if binary.BigEndian.Uint64(m.Identity) != uint64(i+1) {
			t.Fatalf("member %d has identity %x", i, m.Identity)
		}
	}

	// 3. Go Alice commits the Add of davey Dave.
	daveKP := newDavey("dave", "4")
	p, _ = ExternalProposal(server, 0, channel, alice.Epoch(), &Proposal{Type: ProposalTypeAdd, Add: daveKP})
	for _, g := range []*Group{alice, carol} {
		if _, err := g.ReceiveProposal(p); err != nil {
			t.Fatal(err)
		}
	}
	d.call(map[string]any{"id": "bob", "cmd": "props", "op": 0, "data": b64(propVec(p)), "users": users})
	res, err = alice.Commit()
	if err != nil {
		t.Fatal(err)
	}
	alice = res.Next
	if carol, err = carol.ProcessCommit(res.Commit); err != nil {
		t.Fatal(err)
	}
	d.call(map[string]any{"id": "bob", "cmd": "commit", "data": b64(res.Commit)})
	d.call(map[string]any{"id": "dave", "cmd": "welcome", "data": b64(res.Welcome)})
	check([]*Group{alice, carol}, "bob", "dave")

	// 4. davey Bob commits the Remove of Carol (UpdatePath); Alice and Dave process it.
	p, _ = ExternalProposal(server, 0, channel, alice.Epoch(), &Proposal{Type: ProposalTypeRemove, Remove: 2})
	if _, err := alice.ReceiveProposal(p); err != nil {
		t.Fatal(err)
	}
	d.call(map[string]any{"id": "dave", "cmd": "props", "op": 0, "data": b64(propVec(p)), "users": users})
	r = d.call(map[string]any{"id": "bob", "cmd": "props", "op": 0, "data": b64(propVec(p)), "users": users})
	bobCommit = unb64(t, r["commit"])
	if alice, err = alice.ProcessCommit(bobCommit); err != nil {
		t.Fatalf("alice processing davey remove commit: %v", err)
	}
	d.call(map[string]any{"id": "bob", "cmd": "commit", "data": b64(bobCommit)})
	d.call(map[string]any{"id": "dave", "cmd": "commit", "data": b64(bobCommit)})
	check([]*Group{alice}, "bob", "dave")

	// 5. Go Alice commits the Remove of Bob (UpdatePath); davey Dave processes it.
	p, _ = ExternalProposal(server, 0, channel, alice.Epoch(), &Proposal{Type: ProposalTypeRemove, Remove: 1})
	if _, err := alice.ReceiveProposal(p); err != nil {
		t.Fatal(err)
	}
	d.call(map[string]any{"id": "dave", "cmd": "props", "op": 0, "data": b64(propVec(p)), "users": users})
	res, err = alice.Commit()
	if err != nil {
		t.Fatal(err)
	}
	alice = res.Next
	d.call(map[string]any{"id": "dave", "cmd": "commit", "data": b64(res.Commit)})
	check([]*Group{alice}, "dave")
}
