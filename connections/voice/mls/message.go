package mls

import "fmt"

// Wire formats (RFC 9420 §6).
const (
	WireFormatPublicMessage  uint16 = 1
	WireFormatPrivateMessage uint16 = 2
	WireFormatWelcome        uint16 = 3
	WireFormatGroupInfo      uint16 = 4
	WireFormatKeyPackage     uint16 = 5
)

// Sender types.
const (
	SenderMember   uint8 = 1
	SenderExternal uint8 = 2
)

// Content types.
const (
	ContentProposal uint8 = 2
	ContentCommit   uint8 = 3
)

// Proposal is an Add or Remove proposal; other proposal types fail to decode.
type Proposal struct {
	Type   uint16
	Add    *KeyPackage // Type == ProposalTypeAdd
	Remove uint32      // Type == ProposalTypeRemove: leaf index
}

func (p *Proposal) marshal(w *writer) {
	w.u16(p.Type)
	switch p.Type {
	case ProposalTypeAdd:
		p.Add.marshal(w)
	case ProposalTypeRemove:
		w.u32(p.Remove)
	}
}

func (p *Proposal) unmarshal(r *reader) {
	defer r.enter("Proposal")()
	p.Type = r.u16()
	switch {
	case r.err != nil:
	case p.Type == ProposalTypeAdd:
		p.Add = new(KeyPackage)
		p.Add.unmarshal(r)
	case p.Type == ProposalTypeRemove:
		p.Remove = r.u32()
	default:
		r.pos -= 2
		r.fail(ErrInvalidValue, fmt.Sprintf("proposal type %d not supported", p.Type))
	}
}

// Sender identifies who framed a message.
type Sender struct {
	Type  uint8
	Index uint32 // leaf index (member) or external sender index
}

// ProposalOrRef is a commit entry: an inline proposal or a ProposalRef.
type ProposalOrRef struct {
	Proposal  *Proposal
	Reference []byte
}

// UpdatePathNode carries a new parent key and the path secret encrypted to the copath resolution.
type UpdatePathNode struct {
	EncryptionKey []byte
	Secrets       []hpkeCiphertext
}

// UpdatePath is the committer's new leaf and direct-path keys.
type UpdatePath struct {
	LeafNode LeafNode
	Nodes    []UpdatePathNode
}

// Commit is RFC 9420 §12.4 Commit.
type Commit struct {
	Proposals []ProposalOrRef
	Path      *UpdatePath
}

func (c *Commit) marshal(w *writer) {
	w.vector(func(w *writer) {
		for _, p := range c.Proposals {
			if p.Proposal != nil {
				w.u8(1)
				p.Proposal.marshal(w)
			} else {
				w.u8(2)
				w.opaque(p.Reference)
			}
		}
	})
	w.optional(c.Path != nil)
	if c.Path != nil {
		c.Path.LeafNode.marshal(w)
		w.vector(func(w *writer) {
			for _, n := range c.Path.Nodes {
				w.opaque(n.EncryptionKey)
				w.vector(func(w *writer) {
					for _, s := range n.Secrets {
						s.marshal(w)
					}
				})
			}
		})
	}
}

// Marshal returns the wire encoding.
func (c *Commit) Marshal() []byte { return encode(c.marshal) }

func (c *Commit) unmarshal(r *reader) {
	defer r.enter("Commit")()
	r.vector(func(r *reader) {
		defer r.enter("ProposalOrRef")()
		var p ProposalOrRef
		switch t := r.u8(); {
		case r.err != nil:
			return
		case t == 1:
			p.Proposal = new(Proposal)
			p.Proposal.unmarshal(r)
		case t == 2:
			p.Reference = r.opaque()
		default:
			r.pos--
			r.fail(ErrInvalidValue, fmt.Sprintf("proposal-or-ref type %d", t))
			return
		}
		c.Proposals = append(c.Proposals, p)
	})
	if r.optional() {
		defer r.enter("UpdatePath")()
		c.Path = new(UpdatePath)
		c.Path.LeafNode.unmarshal(r)
		r.vector(func(r *reader) {
			defer r.enter("UpdatePathNode")()
			var n UpdatePathNode
			n.EncryptionKey = r.opaque()
			r.vector(func(r *reader) {
				var ct hpkeCiphertext
				ct.unmarshal(r)
				n.Secrets = append(n.Secrets, ct)
			})
			c.Path.Nodes = append(c.Path.Nodes, n)
		})
	}
}

// DecodeCommit parses a Commit.
func DecodeCommit(b []byte) (*Commit, error) {
	r := newReader(b, "Commit")
	c := new(Commit)
	c.unmarshal(r)
	if err := r.finish(); err != nil {
		return nil, err
	}
	return c, nil
}

// FramedContent is RFC 9420 §6 FramedContent for proposals and commits.
type FramedContent struct {
	GroupID           []byte
	Epoch             uint64
	Sender            Sender
	AuthenticatedData []byte
	ContentType       uint8
	Proposal          *Proposal
	Commit            *Commit
}

func (f *FramedContent) marshal(w *writer) {
	w.opaque(f.GroupID)
	w.u64(f.Epoch)
	w.u8(f.Sender.Type)
	if f.Sender.Type == SenderMember || f.Sender.Type == SenderExternal {
		w.u32(f.Sender.Index)
	}
	w.opaque(f.AuthenticatedData)
	w.u8(f.ContentType)
	switch f.ContentType {
	case ContentProposal:
		f.Proposal.marshal(w)
	case ContentCommit:
		f.Commit.marshal(w)
	}
}

func (f *FramedContent) unmarshal(r *reader) {
	defer r.enter("FramedContent")()
	f.GroupID = r.opaque()
	f.Epoch = r.u64()
	f.Sender.Type = r.u8()
	switch f.Sender.Type {
	case SenderMember, SenderExternal:
		f.Sender.Index = r.u32()
	default:
		if r.err == nil {
			r.pos--
			r.fail(ErrInvalidValue, fmt.Sprintf("sender type %d not supported", f.Sender.Type))
		}
		return
	}
	f.AuthenticatedData = r.opaque()
	f.ContentType = r.u8()
	switch {
	case r.err != nil:
	case f.ContentType == ContentProposal:
		f.Proposal = new(Proposal)
		f.Proposal.unmarshal(r)
	case f.ContentType == ContentCommit:
		if f.Sender.Type != SenderMember {
			r.pos--
			r.fail(ErrInvalidValue, "commit from a non-member")
			return
		}
		f.Commit = new(Commit)
		f.Commit.unmarshal(r)
	default:
		r.pos--
		r.fail(ErrInvalidValue, fmt.Sprintf("content type %d not supported", f.ContentType))
	}
}

// tbs is FramedContentTBS; ctx is the encoded GroupContext for member senders, nil otherwise.
func (f *FramedContent) tbs(ctx []byte) []byte {
	return encode(func(w *writer) {
		w.u16(mls10)
		w.u16(WireFormatPublicMessage)
		f.marshal(w)
		if f.Sender.Type == SenderMember {
			w.b = append(w.b, ctx...)
		}
	})
}

// PublicMessage is RFC 9420 §6.2 PublicMessage.
type PublicMessage struct {
	Content         FramedContent
	Signature       []byte
	ConfirmationTag []byte // commits only
	MembershipTag   []byte // member senders only
}

func (p *PublicMessage) marshalAuth(w *writer) {
	w.opaque(p.Signature)
	if p.Content.ContentType == ContentCommit {
		w.opaque(p.ConfirmationTag)
	}
}

func (p *PublicMessage) marshal(w *writer) {
	p.Content.marshal(w)
	p.marshalAuth(w)
	if p.Content.Sender.Type == SenderMember {
		w.opaque(p.MembershipTag)
	}
}

func (p *PublicMessage) unmarshal(r *reader) {
	defer r.enter("PublicMessage")()
	p.Content.unmarshal(r)
	p.Signature = r.opaque()
	if p.Content.ContentType == ContentCommit {
		p.ConfirmationTag = r.opaque()
	}
	if p.Content.Sender.Type == SenderMember {
		p.MembershipTag = r.opaque()
	}
}

// authenticatedContent is the AuthenticatedContent encoding (input to ProposalRef).
func (p *PublicMessage) authenticatedContent() []byte {
	return encode(func(w *writer) {
		w.u16(WireFormatPublicMessage)
		p.Content.marshal(w)
		p.marshalAuth(w)
	})
}

// tbm is AuthenticatedContentTBM, the membership tag input.
func (p *PublicMessage) tbm(ctx []byte) []byte {
	return append(p.Content.tbs(ctx), encode(p.marshalAuth)...)
}

// MLSMessage is the RFC 9420 MLSMessage envelope. Exactly one field is set. PrivateMessage is not
// supported (DAVE never sends it).
type MLSMessage struct {
	WireFormat uint16
	Public     *PublicMessage
	Welcome    *Welcome
	GroupInfo  *GroupInfo
	KeyPackage *KeyPackage
}

// Marshal returns the wire encoding.
func (m *MLSMessage) Marshal() []byte {
	return encode(func(w *writer) {
		w.u16(mls10)
		w.u16(m.WireFormat)
		switch m.WireFormat {
		case WireFormatPublicMessage:
			m.Public.marshal(w)
		case WireFormatWelcome:
			m.Welcome.marshal(w)
		case WireFormatGroupInfo:
			m.GroupInfo.marshal(w)
		case WireFormatKeyPackage:
			m.KeyPackage.marshal(w)
		}
	})
}

// DecodeMLSMessage parses an MLSMessage that fills b exactly.
func DecodeMLSMessage(b []byte) (*MLSMessage, error) {
	r := newReader(b, "MLSMessage")
	m := readMLSMessage(r)
	if err := r.finish(); err != nil {
		return nil, err
	}
	return m, nil
}

// readMLSMessage reads one MLSMessage from r; on failure r.err says why.
func readMLSMessage(r *reader) *MLSMessage {
	m := new(MLSMessage)
	if v := r.u16(); r.err == nil && v != mls10 {
		r.pos -= 2
		r.fail(ErrInvalidValue, fmt.Sprintf("protocol version %d", v))
	}
	m.WireFormat = r.u16()
	switch {
	case r.err != nil:
	case m.WireFormat == WireFormatPublicMessage:
		m.Public = new(PublicMessage)
		m.Public.unmarshal(r)
	case m.WireFormat == WireFormatWelcome:
		m.Welcome = new(Welcome)
		m.Welcome.unmarshal(r)
	case m.WireFormat == WireFormatGroupInfo:
		m.GroupInfo = new(GroupInfo)
		m.GroupInfo.unmarshal(r)
	case m.WireFormat == WireFormatKeyPackage:
		m.KeyPackage = new(KeyPackage)
		m.KeyPackage.unmarshal(r)
	default:
		r.pos -= 2
		r.fail(ErrInvalidValue, fmt.Sprintf("wire format %d not supported", m.WireFormat))
	}
	return m
}
