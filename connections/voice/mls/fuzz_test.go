package mls

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fuzzSeeds builds real encodings of every structure from a small Go-only group: one creator,
// two adds (welcome), one remove (commit with path).
type fuzzSeeds struct {
	keyPackage, leafNode, proposal, commitMsg, commit, welcome, groupInfo, tree []byte
	bundle                                                                      *KeyPackageBundle
	group                                                                       *Group
}

func makeFuzzSeeds(t testing.TB) *fuzzSeeds {
	h := newHarness(t)
	creator := h.start()
	h.proposeAdd()
	h.proposeAdd()
	res, err := h.members[creator].Commit()
	if err != nil {
		t.Fatal(err)
	}
	s := &fuzzSeeds{commitMsg: res.Commit, welcome: res.Welcome}
	for _, b := range h.pendKP {
		s.bundle = b
		s.keyPackage = b.KeyPackage.Marshal()
		s.leafNode = b.KeyPackage.LeafNode.Marshal()
	}
	s.tree = encode(res.Next.tree.marshal)
	gi := &GroupInfo{GroupContext: res.Next.ctx, Extensions: []Extension{{Type: ExtensionRatchetTree, Data: s.tree}}, ConfirmationTag: make([]byte, 32)}
	s.groupInfo = gi.Marshal()
	h.commitBy(creator)
	// A remove forces a path.
	var victim uint64
	for u := range h.members {
		if u != creator {
			victim = u
		}
	}
	h.proposeRemove(victim)
	s.proposal, _ = ExternalProposal(h.ext, 0, h.groupID, h.members[creator].Epoch(), &Proposal{Type: ProposalTypeRemove, Remove: 1})
	res2, err := h.members[creator].Commit()
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeMLSMessage(res2.Commit)
	if err != nil {
		t.Fatal(err)
	}
	s.commit = m.Public.Content.Commit.Marshal()
	s.commitMsg = res2.Commit
	s.group = h.members[creator]
	return s
}

// TestWriteFuzzSeeds regenerates testdata/fuzz seed files when MLS_WRITE_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("MLS_WRITE_SEEDS") == "" {
		t.Skip("set MLS_WRITE_SEEDS=1 to regenerate seed corpus")
	}
	s := makeFuzzSeeds(t)
	for name, b := range map[string][]byte{
		"FuzzKeyPackage": s.keyPackage, "FuzzLeafNode": s.leafNode, "FuzzMLSMessage": s.commitMsg,
		"FuzzCommit": s.commit, "FuzzWelcome": s.welcome, "FuzzGroupInfo": s.groupInfo, "FuzzRatchetTree": s.tree,
	} {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := "go test fuzz v1\n[]byte(" + quoteBytes(b) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, "seed-real"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	body := "go test fuzz v1\n[]byte(" + quoteBytes(s.proposal) + ")\n"
	if err := os.WriteFile(filepath.Join("testdata", "fuzz", "FuzzMLSMessage", "seed-proposal"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func quoteBytes(b []byte) string {
	var sb bytes.Buffer
	sb.WriteByte('"')
	for _, c := range b {
		sb.WriteString(`\x`)
		sb.WriteByte("0123456789abcdef"[c>>4])
		sb.WriteByte("0123456789abcdef"[c&15])
	}
	sb.WriteByte('"')
	return sb.String()
}

// checkDecodeErr asserts that a failure is a typed decode error (or a typed validation error).
func checkDecodeErr(t *testing.T, err error) {
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("untyped decode error: %v", err)
	}
	if de.Offset < 0 {
		t.Fatalf("negative offset: %v", err)
	}
}

func roundTrip(t *testing.T, in, out []byte) {
	if !bytes.Equal(in, out) {
		t.Fatalf("re-encoding differs:\n in %x\nout %x", in, out)
	}
}

func FuzzKeyPackage(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		kp, err := DecodeKeyPackage(b)
		if err != nil {
			checkDecodeErr(t, err)
			return
		}
		roundTrip(t, b, kp.Marshal())
		_ = kp.Verify(0)
	})
}

func FuzzLeafNode(f *testing.F) {
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodeLeafNode(b)
		if err != nil {
			checkDecodeErr(t, err)
			return
		}
		roundTrip(t, b, l.Marshal())
		_ = l.verify(nil, 0)
	})
}

func FuzzMLSMessage(f *testing.F) {
	s := makeFuzzSeeds(f)
	f.Add(s.commitMsg)
	f.Add(s.proposal)
	g := s.group
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMLSMessage(b)
		if err != nil {
			checkDecodeErr(t, err)
			return
		}
		roundTrip(t, b, m.Marshal())
		// Authenticating garbage must fail without touching g's epoch.
		c := *g
		c.pending = append([]pendingProposal(nil), g.pending...)
		if _, err := c.ProcessCommit(b); err == nil && !bytes.Equal(b, s.commitMsg) {
			t.Fatal("forged commit accepted")
		}
		_, _ = c.ReceiveProposal(b)
	})
}

func FuzzCommit(f *testing.F) {
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommit(b)
		if err != nil {
			checkDecodeErr(t, err)
			return
		}
		roundTrip(t, b, c.Marshal())
	})
}

func FuzzWelcome(f *testing.F) {
	s := makeFuzzSeeds(f)
	f.Add(s.welcome)
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := DecodeWelcome(b)
		if err != nil {
			checkDecodeErr(t, err)
			return
		}
		roundTrip(t, b, w.Marshal())
		_, _ = JoinWelcome(b, s.bundle)
	})
}

func FuzzGroupInfo(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := DecodeGroupInfo(b)
		if err != nil {
			checkDecodeErr(t, err)
			return
		}
		roundTrip(t, b, g.Marshal())
	})
}

func FuzzRatchetTree(f *testing.F) {
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := decodeRatchetTree(b)
		if err != nil {
			checkDecodeErr(t, err)
			return
		}
		roundTrip(t, b, encode(tr.marshal))
		_ = verifyTree(tr, nil, tr.rootHash())
	})
}
