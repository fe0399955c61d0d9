package daveserver

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"strings"
	"testing"

	"github.com/cordage/cordage/events/voice"
)

func TestKeyPackageValidation(t *testing.T) {
	const user = 1090123456789012345
	sig := newSigKey(t)
	other := newSigKey(t)
	cases := []struct {
		name      string
		spec      func(*kpSpec)
		mangle    func([]byte) []byte
		malformed bool // also a voice.ErrMalformed
	}{
		{name: "valid"},
		{name: "valid with a key package extension", spec: func(s *kpSpec) { s.kpExt = true }},
		{name: "valid with a listed leaf extension", spec: func(s *kpSpec) { s.capExts = []uint16{0xf000}; s.leafExts = []uint16{0xf000} }},
		{name: "bad leaf signature", spec: func(s *kpSpec) { s.badLeafSig = true }},
		{name: "bad key package signature", spec: func(s *kpSpec) { s.badKPSig = true }},
		{name: "identity of another user", spec: func(s *kpSpec) { s.user = user + 1 }},
		{name: "identity not 8 bytes", spec: func(s *kpSpec) { s.identity = []byte("1090123456789012345") }},
		{name: "x509 credential", spec: func(s *kpSpec) { s.credType = 2 }},
		{name: "suite 1", spec: func(s *kpSpec) { s.suite = 1 }, malformed: true},
		{name: "lifetime not the widest", spec: func(s *kpSpec) { s.notAfter = 1 << 40 }},
		{name: "lifetime starts late", spec: func(s *kpSpec) { s.notBefore = 1 }},
		{name: "no mls10 capability", spec: func(s *kpSpec) { s.versions = []uint16{2} }},
		{name: "no suite 2 capability", spec: func(s *kpSpec) { s.suites = []uint16{1, 3} }},
		{name: "no basic credential capability", spec: func(s *kpSpec) { s.creds = []uint16{2} }},
		{name: "leaf extension not in capabilities", spec: func(s *kpSpec) { s.leafExts = []uint16{0xf000} }},
		{name: "init key equals encryption key", spec: func(s *kpSpec) { s.sameInitKey = true }},
		{name: "signed by another key"},
		{name: "trailing byte", mangle: func(b []byte) []byte { return append(b, 0) }, malformed: true},
		{name: "truncated", mangle: func(b []byte) []byte { return b[:len(b)-5] }, malformed: true},
		{name: "wrapped in an MLSMessage", mangle: func(b []byte) []byte { return append([]byte{0, 1, 0, 5}, b...) }, malformed: true},
		{name: "init key not a point", mangle: func(b []byte) []byte { b = bytes.Clone(b); b[6] ^= 0xff; return b }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := defaultKP(user, sig)
			if tc.spec != nil {
				tc.spec(&spec)
			}
			b := makeKeyPackage(t, spec)
			if tc.name == "signed by another key" {
				// Re-sign the whole package with a key that is not the leaf's.
				spec.sig = sig
				b = makeKeyPackage(t, spec)
				b = resignKP(t, b, other)
			}
			if tc.mangle != nil {
				b = tc.mangle(b)
			}
			kp, err := parseKeyPackage(b)
			if err == nil {
				err = kp.validate(user)
			}
			if strings.HasPrefix(tc.name, "valid") {
				if err != nil {
					t.Fatalf("valid key package rejected: %v", err)
				}
				if !bytes.Equal(kp.ref(), tRef("MLS 1.0 KeyPackage Reference", b)) {
					t.Fatal("KeyPackageRef differs from the test's RefHash")
				}
				return
			}
			if err == nil {
				t.Fatal("invalid key package accepted")
			}
			if tc.malformed && !errors.Is(err, voice.ErrMalformed) {
				t.Fatalf("want a malformed error, got %v", err)
			}
		})
	}
}

// resignKP replaces the key package signature (the last vector) with one by key.
func resignKP(t *testing.T, b []byte, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	kp, err := parseKeyPackage(b)
	if err != nil {
		t.Fatal(err)
	}
	return (&enc{}).raw(kp.tbs).vec(tSign(t, key, "KeyPackageTBS", kp.tbs)).b
}

func TestHandleKeyPackageErrors(t *testing.T) {
	h := newHarness(t)
	h.join(1)
	good := makeKeyPackage(t, defaultKP(1, h.clients[1].sig))
	if _, err := h.s.HandleBinary(2, voice.BinaryMessage{Op: voice.OpDAVEMLSKeyPackage, Payload: good}); !errors.Is(err, ErrNotMember) {
		t.Fatalf("key package from a user who never joined: %v", err)
	}
	bad := makeKeyPackage(t, defaultKP(2, h.clients[1].sig))
	_, err := h.s.HandleBinary(1, voice.BinaryMessage{Op: voice.OpDAVEMLSKeyPackage, Payload: bad})
	if !errors.Is(err, ErrKeyPackage) {
		t.Fatalf("key package naming another user: %v", err)
	}
	_, err = h.s.HandleBinary(1, voice.BinaryMessage{Op: voice.OpDAVEMLSKeyPackage, Payload: []byte{0, 1, 0, 5, 0, 1}})
	if !errors.Is(err, ErrKeyPackage) || !errors.Is(err, voice.ErrMalformed) {
		t.Fatalf("wrapped key package: %v", err)
	}
	if _, err := h.s.HandleBinary(1, voice.BinaryMessage{Op: voice.OpDAVEMLSExternalSender}); !errors.Is(err, ErrUnexpectedOp) {
		t.Fatalf("op 25 from a client: %v", err)
	}
	if _, err := h.s.HandleJSON(1, voice.OpDAVEReadyForTransition, []byte(`{"x":1}`)); !errors.Is(err, voice.ErrMalformed) {
		t.Fatalf("op 23 without transition_id: %v", err)
	}
	if _, err := h.s.HandleJSON(1, voice.OpSpeaking, []byte(`{}`)); !errors.Is(err, ErrUnexpectedOp) {
		t.Fatalf("op 5 to HandleJSON: %v", err)
	}
}
