package daveserver

import (
	"crypto/ecdsa"
	"fmt"
)

// RFC 9420 enumerations the server writes or reads.
const (
	wirePublicMessage = 1 // WireFormat
	wireWelcome       = 3

	senderMember   = 1 // SenderType
	senderExternal = 2

	contentProposal = 2 // ContentType
	contentCommit   = 3

	proposalAdd    = 1 // ProposalType
	proposalRemove = 3

	porProposal  = 1 // ProposalOrRefType
	porReference = 2
)

// externalProposal is one signed proposal from the external sender, ready for op 27.
type externalProposal struct {
	msg []byte // MLSMessage(PublicMessage)
	ref []byte // ProposalRef: RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent)
}

// signExternalProposal frames proposal (an encoded Proposal) as a PublicMessage from external
// sender 0 (RFC 9420 §6). For sender type external the FramedContentTBS carries no GroupContext
// (§6.1), and a PublicMessage carries no membership_tag (§6.2): the signature is all the
// authentication there is, which is why the server needs no group secret.
func signExternalProposal(key *ecdsa.PrivateKey, groupID []byte, epoch uint64, proposal []byte) (externalProposal, error) {
	content := make([]byte, 0, len(groupID)+len(proposal)+32)
	content = appendVec(content, groupID)
	content = appendU64(content, epoch)
	content = append(content, senderExternal)
	content = appendU32(content, 0) // sender_index: the one entry of external_senders
	content = appendVec(content, nil)
	content = append(content, contentProposal)
	content = append(content, proposal...)

	tbs := appendU16(appendU16(make([]byte, 0, len(content)+4), mls10), wirePublicMessage)
	tbs = append(tbs, content...)
	sig, err := signWithLabel(key, "FramedContentTBS", tbs)
	if err != nil {
		return externalProposal{}, err
	}
	// MLSMessage = version, wire_format, PublicMessage{content, auth{signature}}; a proposal
	// has no confirmation tag.
	msg := appendVec(tbs, sig)
	// AuthenticatedContent = wire_format, content, auth: the MLSMessage minus its version.
	return externalProposal{msg: msg, ref: refHash("MLS 1.0 Proposal Reference", msg[2:])}, nil
}

func addProposal(kp []byte) []byte { return append(appendU16(nil, proposalAdd), kp...) }

func removeProposal(leaf uint32) []byte { return appendU32(appendU16(nil, proposalRemove), leaf) }

// commitMessage is what the server reads of an op 28 commit: enough to order commits, check
// they commit pending proposals by reference, and know whom they add. It cannot check the
// signature (the FramedContentTBS of a member sender includes the GroupContext, whose tree hash
// the server does not track) nor the membership tag; clients do.
type commitMessage struct {
	raw      []byte // the MLSMessage
	groupID  []byte
	epoch    uint64
	leaf     uint32 // sender leaf index
	refs     [][]byte
	hasPath  bool
	pathLeaf leafNode
}

const decCommit = "daveserver.Commit"

// readCommitMessage reads one MLSMessage holding a PublicMessage commit from a member; r is
// left after it.
func readCommitMessage(r *reader) commitMessage {
	start := r.off
	var c commitMessage
	if v := r.u16("version"); r.err == nil && v != mls10 {
		r.fail(fmt.Sprintf("protocol version %d is not mls10", v))
	}
	if w := r.u16("wire format"); r.err == nil && w != wirePublicMessage {
		r.fail(fmt.Sprintf("wire format %d is not public_message", w))
	}
	c.groupID = r.vec("group id")
	c.epoch = r.u64("epoch")
	if st := r.u8("sender type"); r.err == nil && st != senderMember {
		r.fail(fmt.Sprintf("sender type %d is not member", st))
	}
	c.leaf = r.u32("sender leaf index")
	r.vec("authenticated data")
	if ct := r.u8("content type"); r.err == nil && ct != contentCommit {
		r.fail(fmt.Sprintf("content type %d is not commit", ct))
	}
	// Commit: ProposalOrRef proposals<V>; optional<UpdatePath> path.
	ps := r.sub("commit proposals")
	for ps.err == nil && ps.off < len(ps.b) {
		switch t := ps.u8("proposal or ref type"); t {
		case porReference:
			c.refs = append(c.refs, ps.vec("proposal ref"))
		case porProposal:
			// DAVE commits only by reference; an inline proposal is refused without being read.
			ps.fail("inline proposal in a commit (DAVE commits by reference only)")
		default:
			ps.fail(fmt.Sprintf("unknown proposal or ref type %d", t))
		}
	}
	if ps.err != nil && r.err == nil {
		r.err = ps.err
	}
	switch p := r.u8("path presence"); p {
	case 0:
	case 1:
		c.hasPath = true
		c.pathLeaf = readLeafNode(r)
		r.vec("update path nodes")
	default:
		r.fail("optional path presence byte is not 0 or 1")
	}
	r.vec("signature")
	r.vec("confirmation tag")
	r.vec("membership tag")
	if r.err == nil {
		c.raw = r.b[start:r.off:r.off]
	}
	return c
}

// welcome is the part of a Welcome the server routes by (RFC 9420 §12.4.3.1).
type welcome struct {
	suite     uint16
	secrets   []welcomeSecret
	groupInfo []byte // encrypted_group_info
}

type welcomeSecret struct {
	newMember []byte // KeyPackageRef
	raw       []byte // the whole EncryptedGroupSecrets entry
}

const decWelcome = "daveserver.Welcome"

// parseWelcome reads a Welcome that fills b: bare (as libdave sends it) or wrapped in an
// MLSMessage with wire format welcome.
func parseWelcome(b []byte) (welcome, error) {
	r := &reader{dec: decWelcome, b: b}
	if len(b) >= 4 && b[0] == 0 && b[1] == mls10 && b[2] == 0 && b[3] == wireWelcome {
		r.off = 4
	}
	var w welcome
	w.suite = r.u16("cipher suite")
	if r.err == nil && w.suite != suiteP256 {
		r.fail(fmt.Sprintf("cipher suite %d is not 2", w.suite))
	}
	s := r.sub("secrets")
	for s.err == nil && s.off < len(s.b) {
		start := s.off
		ref := s.vec("new member ref")
		s.vec("kem output")
		s.vec("encrypted group secrets")
		if s.err == nil {
			w.secrets = append(w.secrets, welcomeSecret{newMember: ref, raw: s.b[start:s.off:s.off]})
		}
	}
	if s.err != nil && r.err == nil {
		r.err = s.err
	}
	w.groupInfo = r.vec("encrypted group info")
	if r.err == nil && r.off != len(b) {
		r.fail("trailing bytes after the welcome")
	}
	if r.err != nil {
		return welcome{}, r.err
	}
	return w, nil
}

// subset encodes a bare Welcome holding only secret i, which is what one joiner receives in op
// 30. The encrypted group info is the same for every joiner.
func (w *welcome) subset(i int) []byte {
	e := w.secrets[i].raw
	b := make([]byte, 0, len(e)+len(w.groupInfo)+16)
	b = appendU16(b, w.suite)
	b = appendVec(b, e)
	return appendVec(b, w.groupInfo)
}
