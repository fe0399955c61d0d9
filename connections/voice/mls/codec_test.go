package mls

import (
	"bytes"
	"errors"
	"testing"
)

func TestVarintBoundaries(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 16383, 16384, 1 << 20, maxVectorLen} {
		b := appendVarint(nil, n)
		r := newReader(b, "v")
		if got := r.varint(); got != n || r.finish() != nil {
			t.Fatalf("varint %d: got %d err %v (enc %x)", n, got, r.err, b)
		}
	}
	bad := map[string][]byte{
		"non-minimal 2": {0x40, 0x3f},
		"non-minimal 4": {0x80, 0x00, 0x3f, 0xff},
		"8-byte form":   {0xc0, 0, 0, 0, 0, 0, 0, 1},
		"truncated":     {0x40},
	}
	for name, b := range bad {
		r := newReader(b, "v")
		r.varint()
		var de *DecodeError
		if !errors.As(r.err, &de) {
			t.Fatalf("%s: no decode error", name)
		}
	}
}

func TestDecodeErrorNamesStructureAndOffset(t *testing.T) {
	s := makeFuzzSeeds(t)
	kp := s.keyPackage
	_, err := DecodeKeyPackage(kp[:len(kp)-10])
	var de *DecodeError
	if !errors.As(err, &de) || !errors.Is(err, ErrTruncated) {
		t.Fatalf("want truncated decode error, got %v", err)
	}
	if de.Struct != "KeyPackage" || de.Offset <= 0 || de.Offset > len(kp) {
		t.Fatalf("bad error location: %+v", de)
	}
	_, err = DecodeKeyPackage(append(bytes.Clone(kp), 0))
	if !errors.Is(err, ErrTrailing) {
		t.Fatalf("want trailing error, got %v", err)
	}
	// A leaf node with an unknown source names LeafNode.
	ln := bytes.Clone(s.leafNode)
	l, _ := DecodeLeafNode(ln)
	off := len(encode(func(w *writer) {
		w.opaque(l.EncryptionKey)
		w.opaque(l.SignatureKey)
		l.Credential.marshal(w)
		l.Capabilities.marshal(w)
	}))
	ln[off] = 9
	_, err = DecodeLeafNode(ln)
	if !errors.As(err, &de) || de.Struct != "LeafNode" || de.Offset != off || !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("want LeafNode invalid value at %d, got %v", off, err)
	}
	// A huge declared vector length with few bytes present must not allocate or panic.
	_, err = DecodeCommit([]byte{0xbf, 0xff, 0xff, 0xff})
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("want truncated, got %v", err)
	}
}

func TestEncodingRoundTrips(t *testing.T) {
	s := makeFuzzSeeds(t)
	kp, err := DecodeKeyPackage(s.keyPackage)
	if err != nil || !bytes.Equal(kp.Marshal(), s.keyPackage) {
		t.Fatalf("key package: %v", err)
	}
	if err := kp.Verify(1); err != nil {
		t.Fatalf("decoded key package does not verify: %v", err)
	}
	for name, b := range map[string][]byte{"commit": s.commitMsg, "proposal": s.proposal} {
		m, err := DecodeMLSMessage(b)
		if err != nil || !bytes.Equal(m.Marshal(), b) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	c, err := DecodeCommit(s.commit)
	if err != nil || !bytes.Equal(c.Marshal(), s.commit) || c.Path == nil {
		t.Fatalf("commit: %v", err)
	}
	w, err := DecodeWelcome(s.welcome)
	if err != nil || !bytes.Equal(w.Marshal(), s.welcome) || len(w.Secrets) != 2 {
		t.Fatalf("welcome: %v", err)
	}
	gi, err := DecodeGroupInfo(s.groupInfo)
	if err != nil || !bytes.Equal(gi.Marshal(), s.groupInfo) {
		t.Fatalf("group info: %v", err)
	}
	es := ExternalSender{SignatureKey: []byte{1, 2, 3}, Credential: Credential{Type: CredentialTypeBasic, Identity: []byte("x")}}
	d, err := DecodeExternalSender(es.Marshal())
	if err != nil || !bytes.Equal(d.Marshal(), es.Marshal()) {
		t.Fatalf("external sender: %v", err)
	}
	// MLSMessage can also wrap a KeyPackage; the whitepaper describes that form.
	m := &MLSMessage{WireFormat: WireFormatKeyPackage, KeyPackage: kp}
	dm, err := DecodeMLSMessage(m.Marshal())
	if err != nil || !bytes.Equal(dm.KeyPackage.Marshal(), s.keyPackage) {
		t.Fatalf("wrapped key package: %v", err)
	}
	if _, err := DecodeMLSMessage([]byte{0, 1, 0, 2, 0}); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("private message should be rejected, got %v", err)
	}
}
