package mls

import (
	"bytes"
	"fmt"
	"slices"
)

// CredentialTypeBasic is the only credential type DAVE uses.
const CredentialTypeBasic uint16 = 1

// Extension types from RFC 9420 that DAVE touches.
const (
	ExtensionRatchetTree     uint16 = 2
	ExtensionExternalSenders uint16 = 5
)

// Proposal types.
const (
	ProposalTypeAdd    uint16 = 1
	ProposalTypeRemove uint16 = 3
)

// Credential is a basic credential: identity bytes (DAVE: the user id as big-endian u64).
type Credential struct {
	Type     uint16
	Identity []byte
}

func (c *Credential) marshal(w *writer) {
	w.u16(c.Type)
	w.opaque(c.Identity)
}

func (c *Credential) unmarshal(r *reader) {
	defer r.enter("Credential")()
	c.Type = r.u16()
	if r.err == nil && c.Type != CredentialTypeBasic {
		r.pos -= 2
		r.fail(ErrInvalidValue, fmt.Sprintf("credential type %d not supported", c.Type))
		return
	}
	c.Identity = r.opaque()
}

// Capabilities lists what a client supports (RFC 9420 §7.2).
type Capabilities struct {
	Versions     []uint16
	CipherSuites []uint16
	Extensions   []uint16
	Proposals    []uint16
	Credentials  []uint16
}

func writeU16s(w *writer, v []uint16) {
	w.vector(func(w *writer) {
		for _, x := range v {
			w.u16(x)
		}
	})
}

func readU16s(r *reader) []uint16 {
	var out []uint16
	r.vector(func(r *reader) {
		if r.remaining() < 2 {
			r.fail(ErrTruncated, "u16 list")
			return
		}
		out = append(out, r.u16())
	})
	return out
}

func (c *Capabilities) marshal(w *writer) {
	writeU16s(w, c.Versions)
	writeU16s(w, c.CipherSuites)
	writeU16s(w, c.Extensions)
	writeU16s(w, c.Proposals)
	writeU16s(w, c.Credentials)
}

func (c *Capabilities) unmarshal(r *reader) {
	defer r.enter("Capabilities")()
	c.Versions = readU16s(r)
	c.CipherSuites = readU16s(r)
	c.Extensions = readU16s(r)
	c.Proposals = readU16s(r)
	c.Credentials = readU16s(r)
}

// DAVECapabilities is what DAVE leaves advertise: version 1, suite 2, basic credentials.
func DAVECapabilities() Capabilities {
	return Capabilities{
		Versions:     []uint16{mls10},
		CipherSuites: []uint16{uint16(CipherSuiteP256)},
		Credentials:  []uint16{CredentialTypeBasic},
	}
}

// Extension is a typed opaque extension.
type Extension struct {
	Type uint16
	Data []byte
}

func writeExtensions(w *writer, exts []Extension) {
	w.vector(func(w *writer) {
		for _, e := range exts {
			w.u16(e.Type)
			w.opaque(e.Data)
		}
	})
}

func readExtensions(r *reader) []Extension {
	defer r.enter("Extension")()
	var out []Extension
	r.vector(func(r *reader) {
		e := Extension{Type: r.u16(), Data: r.opaque()}
		for _, o := range out {
			if o.Type == e.Type && r.err == nil {
				r.fail(ErrInvalidValue, fmt.Sprintf("duplicate extension %d", e.Type))
			}
		}
		out = append(out, e)
	})
	return out
}

func findExtension(exts []Extension, t uint16) ([]byte, bool) {
	for _, e := range exts {
		if e.Type == t {
			return e.Data, true
		}
	}
	return nil, false
}

// Leaf node sources.
const (
	leafSourceKeyPackage uint8 = 1
	leafSourceUpdate     uint8 = 2
	leafSourceCommit     uint8 = 3
)

// LeafNode is RFC 9420 §7.2 LeafNode.
type LeafNode struct {
	EncryptionKey []byte
	SignatureKey  []byte
	Credential    Credential
	Capabilities  Capabilities
	Source        uint8
	NotBefore     uint64 // source key_package
	NotAfter      uint64 // source key_package
	ParentHash    []byte // source commit
	Extensions    []Extension
	Signature     []byte
}

func (l *LeafNode) marshalTBSBody(w *writer) {
	w.opaque(l.EncryptionKey)
	w.opaque(l.SignatureKey)
	l.Credential.marshal(w)
	l.Capabilities.marshal(w)
	w.u8(l.Source)
	switch l.Source {
	case leafSourceKeyPackage:
		w.u64(l.NotBefore)
		w.u64(l.NotAfter)
	case leafSourceCommit:
		w.opaque(l.ParentHash)
	}
	writeExtensions(w, l.Extensions)
}

func (l *LeafNode) marshal(w *writer) {
	l.marshalTBSBody(w)
	w.opaque(l.Signature)
}

// Marshal returns the wire encoding.
func (l *LeafNode) Marshal() []byte { return encode(l.marshal) }

func (l *LeafNode) tbs(groupID []byte, leafIndex uint32) []byte {
	return encode(func(w *writer) {
		l.marshalTBSBody(w)
		if l.Source == leafSourceUpdate || l.Source == leafSourceCommit {
			w.opaque(groupID)
			w.u32(leafIndex)
		}
	})
}

func (l *LeafNode) unmarshal(r *reader) {
	defer r.enter("LeafNode")()
	l.EncryptionKey = r.opaque()
	l.SignatureKey = r.opaque()
	l.Credential.unmarshal(r)
	l.Capabilities.unmarshal(r)
	l.Source = r.u8()
	switch l.Source {
	case leafSourceKeyPackage:
		l.NotBefore = r.u64()
		l.NotAfter = r.u64()
	case leafSourceUpdate:
	case leafSourceCommit:
		l.ParentHash = r.opaque()
	default:
		if r.err == nil {
			r.pos--
			r.fail(ErrInvalidValue, fmt.Sprintf("leaf node source %d", l.Source))
		}
		return
	}
	l.Extensions = readExtensions(r)
	l.Signature = r.opaque()
}

// DecodeLeafNode parses a LeafNode.
func DecodeLeafNode(b []byte) (*LeafNode, error) {
	r := newReader(b, "LeafNode")
	l := new(LeafNode)
	l.unmarshal(r)
	if err := r.finish(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *LeafNode) sign(s *Signer, groupID []byte, leafIndex uint32) error {
	sig, err := signWithLabel(s.key, "LeafNodeTBS", l.tbs(groupID, leafIndex))
	if err != nil {
		return err
	}
	l.Signature = sig
	return nil
}

// verify checks the leaf's own signature and that it can live in a DAVE group.
func (l *LeafNode) verify(groupID []byte, leafIndex uint32) error {
	if !verifyWithLabel(l.SignatureKey, "LeafNodeTBS", l.tbs(groupID, leafIndex), l.Signature) {
		return fmt.Errorf("mls: %w: leaf node %d", ErrBadSignature, leafIndex)
	}
	if _, err := hpkeKEM.NewPublicKey(l.EncryptionKey); err != nil {
		return fmt.Errorf("mls: %w: leaf encryption key: %v", ErrInvalidLeafNode, err)
	}
	c := l.Capabilities
	if !slices.Contains(c.Versions, mls10) || !slices.Contains(c.CipherSuites, uint16(CipherSuiteP256)) {
		return fmt.Errorf("mls: %w: capabilities lack version 1 or suite 2", ErrInvalidLeafNode)
	}
	if len(c.Credentials) > 0 && !slices.Contains(c.Credentials, CredentialTypeBasic) {
		return fmt.Errorf("mls: %w: capabilities lack basic credentials", ErrInvalidLeafNode)
	}
	return nil
}

func (l *LeafNode) clone() *LeafNode {
	if l == nil {
		return nil
	}
	c := *l
	return &c
}

func (l *LeafNode) equal(o *LeafNode) bool {
	return bytes.Equal(l.Marshal(), o.Marshal())
}
