package daveserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
)

func ecdhCurve() elliptic.Curve { return elliptic.P256() }

// signContent is RFC 9420 §5.1.2's SignContent: the label with its "MLS 1.0 " prefix, then the
// content, both as opaque<V>.
func signContent(label string, content []byte) []byte {
	b := make([]byte, 0, len(label)+len(content)+16)
	b = appendVec(b, []byte("MLS 1.0 "+label))
	return appendVec(b, content)
}

// signWithLabel signs with ECDSA P-256/SHA-256 (suite 2), DER-encoded.
func signWithLabel(key *ecdsa.PrivateKey, label string, content []byte) ([]byte, error) {
	h := sha256.Sum256(signContent(label, content))
	return ecdsa.SignASN1(rand.Reader, key, h[:])
}

func verifyWithLabel(pub *ecdsa.PublicKey, label string, content, sig []byte) bool {
	h := sha256.Sum256(signContent(label, content))
	return ecdsa.VerifyASN1(pub, h[:], sig)
}

// refHash is RFC 9420 §5.2's RefHash: SHA-256 over the label and value, both as opaque<V>. The
// label is used as given (it already carries "MLS 1.0 ").
func refHash(label string, value []byte) []byte {
	b := make([]byte, 0, len(label)+len(value)+16)
	b = appendVec(b, []byte(label))
	b = appendVec(b, value)
	h := sha256.Sum256(b)
	return h[:]
}
