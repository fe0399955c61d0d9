package mls

import (
	"crypto/ecdsa"
	"crypto/hpke"
	"fmt"
	"math"
)

// Signer is a member's ECDSA P-256 signature key with its MLS public encoding.
type Signer struct {
	key *ecdsa.PrivateKey
	pub []byte
}

// NewSigner wraps an ECDSA P-256 private key.
func NewSigner(key *ecdsa.PrivateKey) (*Signer, error) {
	if key == nil {
		return nil, fmt.Errorf("mls: %w: nil signature key", ErrInvalidKey)
	}
	pub, err := SignaturePublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	return &Signer{key: key, pub: pub}, nil
}

// PublicKey returns the 65-byte uncompressed public key.
func (s *Signer) PublicKey() []byte { return append([]byte(nil), s.pub...) }

// KeyPackage is RFC 9420 §10 KeyPackage.
type KeyPackage struct {
	Version     uint16
	CipherSuite CipherSuite
	InitKey     []byte
	LeafNode    LeafNode
	Extensions  []Extension
	Signature   []byte
}

func (k *KeyPackage) marshalTBS(w *writer) {
	w.u16(k.Version)
	w.u16(uint16(k.CipherSuite))
	w.opaque(k.InitKey)
	k.LeafNode.marshal(w)
	writeExtensions(w, k.Extensions)
}

func (k *KeyPackage) marshal(w *writer) {
	k.marshalTBS(w)
	w.opaque(k.Signature)
}

// Marshal returns the bare KeyPackage encoding (what DAVE op 26 carries).
func (k *KeyPackage) Marshal() []byte { return encode(k.marshal) }

func (k *KeyPackage) unmarshal(r *reader) {
	defer r.enter("KeyPackage")()
	k.Version = r.u16()
	k.CipherSuite = CipherSuite(r.u16())
	if r.err == nil && (k.Version != mls10 || k.CipherSuite != CipherSuiteP256) {
		r.pos -= 4
		r.fail(ErrInvalidValue, fmt.Sprintf("version %d suite %d", k.Version, k.CipherSuite))
		return
	}
	k.InitKey = r.opaque()
	k.LeafNode.unmarshal(r)
	k.Extensions = readExtensions(r)
	k.Signature = r.opaque()
}

// DecodeKeyPackage parses a bare KeyPackage.
func DecodeKeyPackage(b []byte) (*KeyPackage, error) {
	r := newReader(b, "KeyPackage")
	k := new(KeyPackage)
	k.unmarshal(r)
	if err := r.finish(); err != nil {
		return nil, err
	}
	return k, nil
}

// Ref is the KeyPackageRef: RefHash("MLS 1.0 KeyPackage Reference", KeyPackage).
func (k *KeyPackage) Ref() []byte {
	return refHash("MLS 1.0 KeyPackage Reference", k.Marshal())
}

// Verify checks the key package and leaf signatures and the DAVE-relevant fields: suite 2,
// a key_package leaf source, distinct init and encryption keys, and now within the lifetime
// (now is seconds since the Unix epoch).
func (k *KeyPackage) Verify(now uint64) error {
	if k.Version != mls10 || k.CipherSuite != CipherSuiteP256 {
		return fmt.Errorf("mls: %w: version/suite", ErrInvalidKeyPackage)
	}
	if k.LeafNode.Source != leafSourceKeyPackage {
		return fmt.Errorf("mls: %w: leaf source %d", ErrInvalidKeyPackage, k.LeafNode.Source)
	}
	if now < k.LeafNode.NotBefore || now > k.LeafNode.NotAfter {
		return fmt.Errorf("mls: %w: outside lifetime", ErrInvalidKeyPackage)
	}
	if string(k.InitKey) == string(k.LeafNode.EncryptionKey) {
		return fmt.Errorf("mls: %w: init key equals encryption key", ErrInvalidKeyPackage)
	}
	if _, err := hpkeKEM.NewPublicKey(k.InitKey); err != nil {
		return fmt.Errorf("mls: %w: init key: %v", ErrInvalidKeyPackage, err)
	}
	if err := k.LeafNode.verify(nil, 0); err != nil {
		return err
	}
	if !verifyWithLabel(k.LeafNode.SignatureKey, "KeyPackageTBS", encode(k.marshalTBS), k.Signature) {
		return fmt.Errorf("mls: %w: key package", ErrBadSignature)
	}
	return nil
}

// KeyPackageBundle is a KeyPackage with the private keys needed to create a group with its leaf
// or to join from a Welcome addressed to it. Key packages are single use.
type KeyPackageBundle struct {
	KeyPackage    *KeyPackage
	signer        *Signer
	initKey       hpke.PrivateKey
	encryptionKey hpke.PrivateKey
}

// NewKeyPackage builds and signs a DAVE-shaped KeyPackage: basic credential with identity,
// DAVE capabilities, lifetime 0..2^64-1, no extensions.
func NewKeyPackage(signer *Signer, identity []byte) (*KeyPackageBundle, error) {
	initKey, err := generateHPKEKey()
	if err != nil {
		return nil, err
	}
	encKey, err := generateHPKEKey()
	if err != nil {
		return nil, err
	}
	kp := &KeyPackage{
		Version:     mls10,
		CipherSuite: CipherSuiteP256,
		InitKey:     initKey.PublicKey().Bytes(),
		LeafNode: LeafNode{
			EncryptionKey: encKey.PublicKey().Bytes(),
			SignatureKey:  signer.PublicKey(),
			Credential:    Credential{Type: CredentialTypeBasic, Identity: append([]byte(nil), identity...)},
			Capabilities:  DAVECapabilities(),
			Source:        leafSourceKeyPackage,
			NotBefore:     0,
			NotAfter:      math.MaxUint64,
		},
	}
	if err := kp.LeafNode.sign(signer, nil, 0); err != nil {
		return nil, err
	}
	sig, err := signWithLabel(signer.key, "KeyPackageTBS", encode(kp.marshalTBS))
	if err != nil {
		return nil, err
	}
	kp.Signature = sig
	return &KeyPackageBundle{KeyPackage: kp, signer: signer, initKey: initKey, encryptionKey: encKey}, nil
}

// Signer returns the signature key the bundle's leaf was signed with.
func (b *KeyPackageBundle) Signer() *Signer { return b.signer }
