package daveserver

import (
	"testing"
)

// The decoders read network input: any input gives a value or an error, never a panic, and
// nothing is allocated from a length read off the wire (vectors alias the input).

func FuzzKeyPackage(f *testing.F) {
	sig := newSigKey(f)
	f.Add(makeKeyPackage(f, defaultKP(42, sig)))
	s := defaultKP(42, sig)
	s.capExts, s.leafExts, s.kpExt = []uint16{0xf000}, []uint16{0xf000}, true
	f.Add(makeKeyPackage(f, s))
	f.Add([]byte{0, 1, 0, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		kp, err := parseKeyPackage(b)
		if err != nil {
			return
		}
		if len(kp.raw) != len(b) || len(kp.tbs) >= len(kp.raw) {
			t.Fatalf("raw %d tbs %d of %d bytes", len(kp.raw), len(kp.tbs), len(b))
		}
		_ = kp.validate(42)
		_ = kp.ref()
	})
}

func FuzzCommit(f *testing.F) {
	sig := newSigKey(f)
	gid := []byte{0, 0, 1, 0x1f, 0x71, 0xfb, 0x04, 0xcb}
	f.Add(makeCommit(f, commitSpec{groupID: gid, epoch: 3, leaf: 1, refs: [][]byte{make([]byte, 32)}}))
	f.Add(makeCommit(f, commitSpec{groupID: gid, epoch: 3, leaf: 1, refs: [][]byte{make([]byte, 32), make([]byte, 32)}, path: true, pathUser: 7, pathSig: sigPub(f, sig)}))
	f.Add(append(makeCommit(f, commitSpec{groupID: gid, refs: [][]byte{make([]byte, 32)}}), makeWelcome(make([]byte, 32))...))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &reader{dec: decCommit, b: b}
		c := readCommitMessage(r)
		if r.err != nil {
			return
		}
		if len(c.raw) != r.off || r.off > len(b) {
			t.Fatalf("commit of %d bytes ends at %d", len(c.raw), r.off)
		}
		_, _ = parseWelcome(b[r.off:])
	})
}

func FuzzWelcome(f *testing.F) {
	f.Add(makeWelcome(make([]byte, 32)))
	f.Add(makeWelcome(make([]byte, 32), []byte{1, 2, 3}))
	f.Add(append([]byte{0, 1, 0, 3}, makeWelcome(make([]byte, 32))...))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := parseWelcome(b)
		if err != nil {
			return
		}
		for i := range w.secrets {
			sub := w.subset(i)
			w2, err := parseWelcome(sub)
			if err != nil || len(w2.secrets) != 1 || string(w2.secrets[0].raw) != string(w.secrets[i].raw) {
				t.Fatalf("subset %d does not read back: %v", i, err)
			}
		}
	})
}
