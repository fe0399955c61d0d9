package daveserver

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// MLS constants DAVE uses (RFC 9420 §17).
const (
	mls10          = 1 // ProtocolVersion
	suiteP256      = 2 // MLS_128_DHKEMP256_AES128GCM_SHA256_P256
	credBasic      = 1
	sourceKeyPkg   = 1 // LeafNodeSource
	sourceUpdate   = 2
	sourceCommit   = 3
	p256PointBytes = 65 // uncompressed SEC1 point
)

// credential is an MLS Credential; only basic credentials carry an identity DAVE reads.
type credential struct {
	typ      uint16
	identity []byte // basic only
}

func readCredential(r *reader) credential {
	c := credential{typ: r.u16("credential type")}
	switch c.typ {
	case credBasic:
		c.identity = r.vec("credential identity")
	case 2: // x509: certificates<V>; skipped whole
		r.vec("x509 certificate chain")
	default:
		r.fail(fmt.Sprintf("unknown credential type %d", c.typ))
	}
	return c
}

// capabilities is an MLS Capabilities struct.
type capabilities struct {
	versions, suites, extensions, proposals, credentials []uint16
}

func readCapabilities(r *reader) capabilities {
	return capabilities{
		versions:    r.u16List("capabilities versions"),
		suites:      r.u16List("capabilities cipher suites"),
		extensions:  r.u16List("capabilities extensions"),
		proposals:   r.u16List("capabilities proposals"),
		credentials: r.u16List("capabilities credentials"),
	}
}

// readExtensions reads Extension extensions<V> and returns the extension types.
func readExtensions(r *reader, what string) []uint16 {
	s := r.sub(what)
	var types []uint16
	for s.err == nil && s.off < len(s.b) {
		types = append(types, s.u16(what+" type"))
		s.vec(what + " data")
	}
	if s.err != nil && r.err == nil {
		r.err = s.err
	}
	return types
}

// leafNode is an MLS LeafNode (RFC 9420 §7.2).
type leafNode struct {
	raw                 []byte // the whole encoding
	tbs                 []byte // raw without the signature: LeafNodeTBS for source key_package
	encryptionKey       []byte
	signatureKey        []byte
	cred                credential
	caps                capabilities
	source              uint8
	notBefore, notAfter uint64 // source key_package
	extensions          []uint16
	signature           []byte
}

func readLeafNode(r *reader) leafNode {
	start := r.off
	var n leafNode
	n.encryptionKey = r.vec("leaf encryption key")
	n.signatureKey = r.vec("leaf signature key")
	n.cred = readCredential(r)
	n.caps = readCapabilities(r)
	n.source = r.u8("leaf node source")
	switch n.source {
	case sourceKeyPkg:
		n.notBefore = r.u64("lifetime not_before")
		n.notAfter = r.u64("lifetime not_after")
	case sourceUpdate:
	case sourceCommit:
		r.vec("parent hash")
	default:
		if r.err == nil {
			r.fail(fmt.Sprintf("unknown leaf node source %d", n.source))
		}
	}
	n.extensions = readExtensions(r, "leaf extensions")
	tbsEnd := r.off
	n.signature = r.vec("leaf signature")
	if r.err == nil {
		n.raw = r.b[start:r.off:r.off]
		n.tbs = r.b[start:tbsEnd:tbsEnd]
	}
	return n
}

// keyPackage is an MLS KeyPackage (RFC 9420 §10), as op 26 carries it: bare, not wrapped in an
// MLSMessage.
type keyPackage struct {
	raw        []byte // the whole encoding: what an Add proposal carries and the ref hashes
	tbs        []byte // KeyPackageTBS: raw without the signature
	version    uint16
	suite      uint16
	initKey    []byte
	leaf       leafNode
	extensions []uint16
	signature  []byte
}

const decKeyPackage = "daveserver.KeyPackage"

// parseKeyPackage decodes a bare KeyPackage that fills b exactly. It checks structure only;
// validate checks the content.
func parseKeyPackage(b []byte) (keyPackage, error) {
	r := &reader{dec: decKeyPackage, b: b}
	kp := readKeyPackage(r)
	if r.err == nil && r.off != len(b) {
		r.fail("trailing bytes after the key package")
	}
	if r.err != nil {
		return keyPackage{}, r.err
	}
	return kp, nil
}

func readKeyPackage(r *reader) keyPackage {
	start := r.off
	var kp keyPackage
	kp.version = r.u16("version")
	if r.err == nil && kp.version != mls10 {
		// A wrapped MLSMessage also starts with 0x0001, so the suite check below is what
		// catches that form; any other version is unreadable.
		r.fail(fmt.Sprintf("protocol version %d is not mls10", kp.version))
	}
	kp.suite = r.u16("cipher suite")
	if r.err == nil && kp.suite == 5 {
		r.fail("looks like an MLSMessage-wrapped key package (wire format 5); DAVE sends a bare KeyPackage")
	}
	if r.err == nil && kp.suite != suiteP256 {
		r.fail(fmt.Sprintf("cipher suite %d is not 2 (P-256)", kp.suite))
	}
	kp.initKey = r.vec("init key")
	kp.leaf = readLeafNode(r)
	kp.extensions = readExtensions(r, "key package extensions")
	tbsEnd := r.off
	kp.signature = r.vec("key package signature")
	if r.err == nil {
		kp.raw = r.b[start:r.off:r.off]
		kp.tbs = r.b[start:tbsEnd:tbsEnd]
	}
	return kp
}

// ErrKeyPackage matches every key package rejection (structure or content).
var ErrKeyPackage = errors.New("daveserver: key package rejected")

func kpError(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrKeyPackage}, a...)...)
}

// validate checks a parsed key package as Discord's gateway does for op 26 (RFC 9420 §10.1
// plus DAVE's rules): suite 2, valid P-256 keys, basic credential naming userID as a big-endian
// u64, capabilities that cover what the group uses, the 0..2^64-1 lifetime, and both
// signatures made with the leaf's signature key.
func (kp *keyPackage) validate(userID uint64) error {
	if _, err := ecdh.P256().NewPublicKey(kp.initKey); err != nil {
		return kpError("init key is not a P-256 point")
	}
	leaf := &kp.leaf
	if _, err := ecdh.P256().NewPublicKey(leaf.encryptionKey); err != nil {
		return kpError("leaf encryption key is not a P-256 point")
	}
	if bytes.Equal(kp.initKey, leaf.encryptionKey) {
		return kpError("init key equals the leaf encryption key")
	}
	sigKey, err := ecdsa.ParseUncompressedPublicKey(ecdhCurve(), leaf.signatureKey)
	if err != nil {
		return kpError("leaf signature key is not a P-256 point")
	}
	if leaf.cred.typ != credBasic {
		return kpError("credential type %d is not basic", leaf.cred.typ)
	}
	if len(leaf.cred.identity) != 8 || binary.BigEndian.Uint64(leaf.cred.identity) != userID {
		return kpError("credential identity is not the sender's user id as a big-endian u64")
	}
	caps := &leaf.caps
	if !slices.Contains(caps.versions, mls10) {
		return kpError("capabilities lack protocol version mls10")
	}
	if !slices.Contains(caps.suites, suiteP256) {
		return kpError("capabilities lack cipher suite 2")
	}
	if !slices.Contains(caps.credentials, credBasic) {
		return kpError("capabilities lack the basic credential")
	}
	for _, t := range leaf.extensions {
		if !slices.Contains(caps.extensions, t) {
			return kpError("leaf extension %d is not in its capabilities", t)
		}
	}
	if leaf.source != sourceKeyPkg {
		return kpError("leaf node source %d is not key_package", leaf.source)
	}
	// The whitepaper (Key Packages, Validation): the gateway requires the widest lifetime, so
	// that no member's clock matters; members do not check lifetimes.
	if leaf.notBefore != 0 || leaf.notAfter != math.MaxUint64 {
		return kpError("lifetime %d..%d is not 0..2^64-1", leaf.notBefore, leaf.notAfter)
	}
	if !verifyWithLabel(sigKey, "LeafNodeTBS", leaf.tbs, leaf.signature) {
		return kpError("leaf node signature does not verify")
	}
	if !verifyWithLabel(sigKey, "KeyPackageTBS", kp.tbs, kp.signature) {
		return kpError("key package signature does not verify")
	}
	return nil
}

// ref is the KeyPackageRef that Welcome secrets name (RFC 9420 §5.2).
func (kp *keyPackage) ref() []byte { return refHash("MLS 1.0 KeyPackage Reference", kp.raw) }
