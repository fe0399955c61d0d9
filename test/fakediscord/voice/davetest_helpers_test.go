package voicesim

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"testing"

	"github.com/cordage/cordage/events"
)

// Just enough client-side MLS to drive the DAVE routing through the voice server: a valid
// KeyPackage (the DAVE server checks its signatures), proposal refs, and a commit and welcome
// whose structure is right (the server cannot check their cryptography; real clients do, and the
// interop tests cover that). Written here from RFC 9420, independently of connections/voice/mls.

func mlsVarint(dst []byte, n int) []byte {
	switch {
	case n < 1<<6:
		return append(dst, byte(n))
	case n < 1<<14:
		return binary.BigEndian.AppendUint16(dst, uint16(n)|0x4000)
	}
	return binary.BigEndian.AppendUint32(dst, uint32(n)|0x80000000)
}

func mlsVec(dst, v []byte) []byte { return append(mlsVarint(dst, len(v)), v...) }

func signWithLabel(t testing.TB, key *ecdsa.PrivateKey, label string, content []byte) []byte {
	t.Helper()
	tbs := mlsVec(mlsVec(nil, []byte("MLS 1.0 "+label)), content)
	h := sha256.Sum256(tbs)
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func refHash(label string, value []byte) []byte {
	h := sha256.Sum256(mlsVec(mlsVec(nil, []byte(label)), value))
	return h[:]
}

func p256Point(t testing.TB) []byte {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k.PublicKey().Bytes()
}

// keyPackage returns a bare RFC 9420 KeyPackage for user (suite 2, basic credential with the
// user id as a big-endian u64, lifetime 0..2^64-1) and its KeyPackageRef.
func keyPackage(t testing.TB, user events.Snowflake) (kp, ref []byte) {
	t.Helper()
	sk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sigPub, err := sk.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	leaf := mlsVec(nil, p256Point(t))             // encryption_key
	leaf = mlsVec(leaf, sigPub)                   // signature_key
	leaf = binary.BigEndian.AppendUint16(leaf, 1) // credential: basic
	leaf = mlsVec(leaf, binary.BigEndian.AppendUint64(nil, uint64(user)))
	leaf = mlsVec(leaf, []byte{0, 1})             // versions: mls10
	leaf = mlsVec(leaf, []byte{0, 2})             // cipher suites: 2
	leaf = mlsVec(leaf, nil)                      // extensions
	leaf = mlsVec(leaf, nil)                      // proposals
	leaf = mlsVec(leaf, []byte{0, 1})             // credentials: basic
	leaf = append(leaf, 1)                        // source: key_package
	leaf = binary.BigEndian.AppendUint64(leaf, 0) // not_before
	leaf = binary.BigEndian.AppendUint64(leaf, math.MaxUint64)
	leaf = mlsVec(leaf, nil) // leaf extensions
	leaf = mlsVec(leaf, signWithLabel(t, sk, "LeafNodeTBS", leaf))

	kp = binary.BigEndian.AppendUint16(nil, 1) // mls10
	kp = binary.BigEndian.AppendUint16(kp, 2)  // suite
	kp = mlsVec(kp, p256Point(t))              // init_key
	kp = append(kp, leaf...)
	kp = mlsVec(kp, nil) // extensions
	kp = mlsVec(kp, signWithLabel(t, sk, "KeyPackageTBS", kp))
	return kp, refHash("MLS 1.0 KeyPackage Reference", kp)
}

// proposalRef is the ProposalRef of one external proposal MLSMessage: the hash of its
// AuthenticatedContent (wire format, content, signature), i.e. the message without its version.
func proposalRef(msg []byte) []byte { return refHash("MLS 1.0 Proposal Reference", msg[2:]) }

// commitByRef builds an MLSMessage PublicMessage commit from leaf 0 at epoch, committing refs,
// with no path and placeholder signature and tags.
func commitByRef(groupID []byte, epoch uint64, refs ...[]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, 1) // mls10
	b = binary.BigEndian.AppendUint16(b, 1)    // public_message
	b = mlsVec(b, groupID)
	b = binary.BigEndian.AppendUint64(b, epoch)
	b = append(b, 1)                        // sender: member
	b = binary.BigEndian.AppendUint32(b, 0) // leaf 0
	b = mlsVec(b, nil)                      // authenticated data
	b = append(b, 3)                        // content type: commit
	var ps []byte
	for _, r := range refs {
		ps = mlsVec(append(ps, 2), r) // reference
	}
	b = mlsVec(b, ps)
	b = append(b, 0)                   // no path
	b = mlsVec(b, make([]byte, 70))    // signature
	b = mlsVec(b, make([]byte, 32))    // confirmation tag
	return mlsVec(b, make([]byte, 32)) // membership tag
}

// welcomeFor builds a bare Welcome with one (placeholder) secret per KeyPackageRef.
func welcomeFor(refs ...[]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, 2)
	var secrets []byte
	for _, r := range refs {
		secrets = mlsVec(secrets, r)
		secrets = mlsVec(secrets, make([]byte, 65)) // kem output
		secrets = mlsVec(secrets, make([]byte, 48)) // encrypted group secrets
	}
	b = mlsVec(b, secrets)
	return mlsVec(b, make([]byte, 100)) // encrypted group info
}
