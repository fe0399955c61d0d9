package mls

import "fmt"

// GroupContext is RFC 9420 §8.1 GroupContext.
type GroupContext struct {
	Version                 uint16
	CipherSuite             CipherSuite
	GroupID                 []byte
	Epoch                   uint64
	TreeHash                []byte
	ConfirmedTranscriptHash []byte
	Extensions              []Extension
}

func (g *GroupContext) marshal(w *writer) {
	w.u16(g.Version)
	w.u16(uint16(g.CipherSuite))
	w.opaque(g.GroupID)
	w.u64(g.Epoch)
	w.opaque(g.TreeHash)
	w.opaque(g.ConfirmedTranscriptHash)
	writeExtensions(w, g.Extensions)
}

// Marshal returns the wire encoding.
func (g *GroupContext) Marshal() []byte { return encode(g.marshal) }

func (g *GroupContext) unmarshal(r *reader) {
	defer r.enter("GroupContext")()
	g.Version = r.u16()
	g.CipherSuite = CipherSuite(r.u16())
	if r.err == nil && (g.Version != mls10 || g.CipherSuite != CipherSuiteP256) {
		r.pos -= 4
		r.fail(ErrInvalidValue, fmt.Sprintf("version %d suite %d", g.Version, g.CipherSuite))
		return
	}
	g.GroupID = r.opaque()
	g.Epoch = r.u64()
	g.TreeHash = r.opaque()
	g.ConfirmedTranscriptHash = r.opaque()
	g.Extensions = readExtensions(r)
}

// GroupInfo is RFC 9420 §12.4.3 GroupInfo.
type GroupInfo struct {
	GroupContext    GroupContext
	Extensions      []Extension
	ConfirmationTag []byte
	Signer          uint32
	Signature       []byte
}

func (g *GroupInfo) marshalTBS(w *writer) {
	g.GroupContext.marshal(w)
	writeExtensions(w, g.Extensions)
	w.opaque(g.ConfirmationTag)
	w.u32(g.Signer)
}

func (g *GroupInfo) marshal(w *writer) {
	g.marshalTBS(w)
	w.opaque(g.Signature)
}

// Marshal returns the wire encoding.
func (g *GroupInfo) Marshal() []byte { return encode(g.marshal) }

func (g *GroupInfo) unmarshal(r *reader) {
	defer r.enter("GroupInfo")()
	g.GroupContext.unmarshal(r)
	g.Extensions = readExtensions(r)
	g.ConfirmationTag = r.opaque()
	g.Signer = r.u32()
	g.Signature = r.opaque()
}

// DecodeGroupInfo parses a GroupInfo.
func DecodeGroupInfo(b []byte) (*GroupInfo, error) {
	r := newReader(b, "GroupInfo")
	g := new(GroupInfo)
	g.unmarshal(r)
	if err := r.finish(); err != nil {
		return nil, err
	}
	return g, nil
}

// EncryptedGroupSecrets addresses one new member by KeyPackageRef.
type EncryptedGroupSecrets struct {
	NewMember []byte
	Secrets   hpkeCiphertext
}

// Welcome is RFC 9420 §12.4.3.1 Welcome.
type Welcome struct {
	CipherSuite        CipherSuite
	Secrets            []EncryptedGroupSecrets
	EncryptedGroupInfo []byte
}

func (wl *Welcome) marshal(w *writer) {
	w.u16(uint16(wl.CipherSuite))
	w.vector(func(w *writer) {
		for _, s := range wl.Secrets {
			w.opaque(s.NewMember)
			s.Secrets.marshal(w)
		}
	})
	w.opaque(wl.EncryptedGroupInfo)
}

// Marshal returns the bare Welcome encoding (what DAVE ops 28 and 30 carry).
func (wl *Welcome) Marshal() []byte { return encode(wl.marshal) }

func (wl *Welcome) unmarshal(r *reader) {
	defer r.enter("Welcome")()
	wl.CipherSuite = CipherSuite(r.u16())
	if r.err == nil && wl.CipherSuite != CipherSuiteP256 {
		r.pos -= 2
		r.fail(ErrInvalidValue, fmt.Sprintf("suite %d", wl.CipherSuite))
		return
	}
	r.vector(func(r *reader) {
		defer r.enter("EncryptedGroupSecrets")()
		var s EncryptedGroupSecrets
		s.NewMember = r.opaque()
		s.Secrets.unmarshal(r)
		wl.Secrets = append(wl.Secrets, s)
	})
	wl.EncryptedGroupInfo = r.opaque()
}

// DecodeWelcome parses a bare Welcome.
func DecodeWelcome(b []byte) (*Welcome, error) {
	r := newReader(b, "Welcome")
	wl := new(Welcome)
	wl.unmarshal(r)
	if err := r.finish(); err != nil {
		return nil, err
	}
	return wl, nil
}

// groupSecrets is RFC 9420 GroupSecrets without PSKs (a non-empty PSK list fails to decode).
type groupSecrets struct {
	JoinerSecret []byte
	PathSecret   []byte
}

func (g *groupSecrets) marshal(w *writer) {
	w.opaque(g.JoinerSecret)
	w.optional(g.PathSecret != nil)
	if g.PathSecret != nil {
		w.opaque(g.PathSecret)
	}
	w.opaque(nil) // psks
}

func decodeGroupSecrets(b []byte) (*groupSecrets, error) {
	r := newReader(b, "GroupSecrets")
	g := new(groupSecrets)
	g.JoinerSecret = r.opaque()
	if r.optional() {
		g.PathSecret = r.opaque()
	}
	if n := r.varint(); r.err == nil && n != 0 {
		r.fail(ErrInvalidValue, "pre-shared keys not supported")
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	return g, nil
}

// ExternalSender is an entry of the external_senders extension (and DAVE op 25's payload).
type ExternalSender struct {
	SignatureKey []byte
	Credential   Credential
}

func (e *ExternalSender) marshal(w *writer) {
	w.opaque(e.SignatureKey)
	e.Credential.marshal(w)
}

func (e *ExternalSender) unmarshal(r *reader) {
	defer r.enter("ExternalSender")()
	e.SignatureKey = r.opaque()
	e.Credential.unmarshal(r)
}

// Marshal returns the wire encoding.
func (e *ExternalSender) Marshal() []byte { return encode(e.marshal) }

// DecodeExternalSender parses one ExternalSender.
func DecodeExternalSender(b []byte) (*ExternalSender, error) {
	r := newReader(b, "ExternalSender")
	e := new(ExternalSender)
	e.unmarshal(r)
	if err := r.finish(); err != nil {
		return nil, err
	}
	return e, nil
}

// ExternalSendersExtension builds the external_senders group context extension.
func ExternalSendersExtension(senders ...ExternalSender) Extension {
	return Extension{Type: ExtensionExternalSenders, Data: encode(func(w *writer) {
		w.vector(func(w *writer) {
			for i := range senders {
				senders[i].marshal(w)
			}
		})
	})}
}

func decodeExternalSenders(b []byte) ([]ExternalSender, error) {
	r := newReader(b, "ExternalSenders")
	var out []ExternalSender
	r.vector(func(r *reader) {
		var e ExternalSender
		e.unmarshal(r)
		out = append(out, e)
	})
	if err := r.finish(); err != nil {
		return nil, err
	}
	return out, nil
}
