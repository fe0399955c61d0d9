package mls

import (
	"bytes"
	"crypto/hpke"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Group is one member's view of an MLS group at one epoch. Operations that change the epoch
// (Commit, ProcessCommit) return a new *Group and leave the receiver untouched, so a caller can
// keep the previous epoch or discard a speculative commit. Proposal queuing mutates the receiver.
// A Group is not safe for concurrent use.
type Group struct {
	ctx      GroupContext
	ctxBytes []byte
	tree     *ratchetTree
	own      uint32
	signer   *Signer
	priv     map[uint32]hpke.PrivateKey
	secrets  epochSecrets
	interim  []byte
	external []ExternalSender
	pending  []pendingProposal
	now      func() time.Time
}

type pendingProposal struct {
	ref      []byte
	proposal *Proposal
	sender   Sender
}

// ReceivedProposal describes a proposal accepted into the queue.
type ReceivedProposal struct {
	Ref      []byte // ProposalRef
	Proposal *Proposal
	Sender   Sender
}

// Member is a leaf of the group.
type Member struct {
	LeafIndex    uint32
	Identity     []byte
	SignatureKey []byte
}

// NewGroup creates a group at epoch 0 whose only member is the leaf of bundle. extensions become
// the GroupContext extensions (DAVE: one external_senders extension).
func NewGroup(groupID []byte, bundle *KeyPackageBundle, extensions ...Extension) (*Group, error) {
	if bundle == nil || bundle.KeyPackage == nil {
		return nil, fmt.Errorf("mls: %w: nil key package bundle", ErrInvalidKeyPackage)
	}
	ext, err := externalSendersOf(extensions)
	if err != nil {
		return nil, err
	}
	t := &ratchetTree{nodes: []node{{leaf: bundle.KeyPackage.LeafNode.clone()}}}
	g := &Group{
		ctx: GroupContext{
			Version:                 mls10,
			CipherSuite:             CipherSuiteP256,
			GroupID:                 slices.Clone(groupID),
			Epoch:                   0,
			TreeHash:                t.rootHash(),
			ConfirmedTranscriptHash: []byte{},
			Extensions:              slices.Clone(extensions),
		},
		tree:     t,
		own:      0,
		signer:   bundle.signer,
		priv:     map[uint32]hpke.PrivateKey{0: bundle.encryptionKey},
		secrets:  deriveEpochSecrets(randomBytes(hashLen)),
		external: ext,
		now:      time.Now,
	}
	g.ctxBytes = g.ctx.Marshal()
	g.interim = interimTranscriptHash(g.ctx.ConfirmedTranscriptHash, mac(g.secrets.confirmation, g.ctx.ConfirmedTranscriptHash))
	return g, nil
}

func externalSendersOf(exts []Extension) ([]ExternalSender, error) {
	data, ok := findExtension(exts, ExtensionExternalSenders)
	if !ok {
		return nil, nil
	}
	return decodeExternalSenders(data)
}

// GroupID returns the group id.
func (g *Group) GroupID() []byte { return slices.Clone(g.ctx.GroupID) }

// Epoch returns the current epoch.
func (g *Group) Epoch() uint64 { return g.ctx.Epoch }

// OwnLeafIndex returns this member's leaf index.
func (g *Group) OwnLeafIndex() uint32 { return g.own }

// EpochAuthenticator returns the epoch authenticator; equal across members of one epoch.
func (g *Group) EpochAuthenticator() []byte { return slices.Clone(g.secrets.authenticator) }

// TreeHash returns the tree hash of the current epoch.
func (g *Group) TreeHash() []byte { return slices.Clone(g.ctx.TreeHash) }

// ExternalSenders returns the entries of the group's external_senders extension.
func (g *Group) ExternalSenders() []ExternalSender { return slices.Clone(g.external) }

// Export is MLS-Exporter(label, context, length) for the current epoch.
func (g *Group) Export(label string, context []byte, length int) ([]byte, error) {
	if length <= 0 || length > 255*hashLen || length > 0xffff {
		return nil, fmt.Errorf("mls: %w: exporter length %d", ErrUnsupported, length)
	}
	return exporter(g.secrets.exporter, label, context, length), nil
}

// Members lists the non-blank leaves in leaf order.
func (g *Group) Members() []Member {
	var out []Member
	for i := uint32(0); i < g.tree.leafCount(); i++ {
		if l := g.tree.leaf(i); l != nil {
			out = append(out, Member{LeafIndex: i, Identity: slices.Clone(l.Credential.Identity), SignatureKey: slices.Clone(l.SignatureKey)})
		}
	}
	return out
}

// PendingProposals returns the queued proposals in arrival order.
func (g *Group) PendingProposals() []ReceivedProposal {
	out := make([]ReceivedProposal, len(g.pending))
	for i, p := range g.pending {
		out[i] = ReceivedProposal{Ref: slices.Clone(p.ref), Proposal: p.proposal, Sender: p.sender}
	}
	return out
}

// verifyPublic authenticates a PublicMessage framed for this epoch.
func (g *Group) verifyPublic(pm *PublicMessage) error {
	c := &pm.Content
	if !bytes.Equal(c.GroupID, g.ctx.GroupID) {
		return fmt.Errorf("mls: %w", ErrWrongGroup)
	}
	if c.Epoch != g.ctx.Epoch {
		return fmt.Errorf("mls: %w: message epoch %d, group epoch %d", ErrWrongEpoch, c.Epoch, g.ctx.Epoch)
	}
	var sigKey []byte
	switch c.Sender.Type {
	case SenderExternal:
		if int64(c.Sender.Index) >= int64(len(g.external)) {
			return fmt.Errorf("mls: %w: external sender %d", ErrUnknownSender, c.Sender.Index)
		}
		sigKey = g.external[c.Sender.Index].SignatureKey
	case SenderMember:
		l := g.tree.leaf(c.Sender.Index)
		if l == nil {
			return fmt.Errorf("mls: %w: leaf %d", ErrUnknownSender, c.Sender.Index)
		}
		sigKey = l.SignatureKey
		if !macEqual(pm.MembershipTag, mac(g.secrets.membership, pm.tbm(g.ctxBytes))) {
			return fmt.Errorf("mls: %w", ErrBadMembershipTag)
		}
	default:
		return fmt.Errorf("mls: %w: sender type %d", ErrUnknownSender, c.Sender.Type)
	}
	if !verifyWithLabel(sigKey, "FramedContentTBS", c.tbs(g.ctxBytes), pm.Signature) {
		return fmt.Errorf("mls: %w: framed content", ErrBadSignature)
	}
	return nil
}

// ReceiveProposal verifies an MLSMessage carrying an Add or Remove proposal (from an external
// sender, as DAVE's voice server sends them, or from a member) and queues it for the next commit.
// Policy checks that MLS does not know about (DAVE: the sender must be external, an added user
// must be in the recognized set) belong to the caller, who drops a refused proposal with
// RevokeProposal(ref).
func (g *Group) ReceiveProposal(msg []byte) (*ReceivedProposal, error) {
	m, err := DecodeMLSMessage(msg)
	if err != nil {
		return nil, err
	}
	if m.Public == nil || m.Public.Content.ContentType != ContentProposal {
		return nil, fmt.Errorf("mls: %w: not a public proposal message", ErrInvalidProposal)
	}
	if err := g.verifyPublic(m.Public); err != nil {
		return nil, err
	}
	p := m.Public.Content.Proposal
	if err := g.checkProposal(p); err != nil {
		return nil, err
	}
	ref := refHash("MLS 1.0 Proposal Reference", m.Public.authenticatedContent())
	for _, q := range g.pending {
		if bytes.Equal(q.ref, ref) {
			return nil, fmt.Errorf("mls: %w: duplicate proposal", ErrInvalidProposal)
		}
	}
	pp := pendingProposal{ref: ref, proposal: p, sender: m.Public.Content.Sender}
	g.pending = append(g.pending, pp)
	return &ReceivedProposal{Ref: slices.Clone(ref), Proposal: p, Sender: pp.sender}, nil
}

// RevokeProposal drops a queued proposal by reference.
func (g *Group) RevokeProposal(ref []byte) error {
	for i, q := range g.pending {
		if bytes.Equal(q.ref, ref) {
			g.pending = slices.Delete(g.pending, i, i+1)
			return nil
		}
	}
	return fmt.Errorf("mls: %w", ErrUnknownProposal)
}

func (g *Group) checkProposal(p *Proposal) error {
	switch p.Type {
	case ProposalTypeAdd:
		if err := p.Add.Verify(uint64(g.now().Unix())); err != nil {
			return fmt.Errorf("mls: %w: add: %w", ErrInvalidProposal, err)
		}
	case ProposalTypeRemove:
		if g.tree.leaf(p.Remove) == nil {
			return fmt.Errorf("mls: %w: remove of blank or missing leaf %d", ErrInvalidProposal, p.Remove)
		}
	default:
		return fmt.Errorf("mls: %w: type %d", ErrUnsupported, p.Type)
	}
	return nil
}

// applyProposals applies removes then adds to t and reports the new leaves and whether the
// commit needs an UpdatePath (RFC 9420 §12.4: empty commits and removes do).
func (g *Group) applyProposals(t *ratchetTree, props []*Proposal, committer uint32) (added []uint32, kps []*KeyPackage, pathRequired bool, err error) {
	pathRequired = len(props) == 0
	var removed []uint32
	for _, p := range props {
		if err := g.checkProposal(p); err != nil {
			return nil, nil, false, err
		}
		if p.Type != ProposalTypeRemove {
			continue
		}
		pathRequired = true
		if p.Remove == committer {
			return nil, nil, false, fmt.Errorf("mls: %w: committer removes itself", ErrInvalidCommit)
		}
		if slices.Contains(removed, p.Remove) {
			return nil, nil, false, fmt.Errorf("mls: %w: leaf %d removed twice", ErrInvalidCommit, p.Remove)
		}
		removed = append(removed, p.Remove)
		t.removeLeaf(p.Remove)
	}
	for _, p := range props {
		if p.Type != ProposalTypeAdd {
			continue
		}
		ln := &p.Add.LeafNode
		for i := uint32(0); i < t.leafCount(); i++ {
			if l := t.leaf(i); l != nil && (bytes.Equal(l.SignatureKey, ln.SignatureKey) || bytes.Equal(l.EncryptionKey, ln.EncryptionKey)) {
				return nil, nil, false, fmt.Errorf("mls: %w: added leaf reuses a key of leaf %d", ErrInvalidCommit, i)
			}
		}
		added = append(added, t.addLeaf(ln.clone()))
		kps = append(kps, p.Add)
	}
	return added, kps, pathRequired, nil
}

// pruneKeys keeps only private keys whose public half still sits at that node.
func pruneKeys(t *ratchetTree, priv map[uint32]hpke.PrivateKey) {
	for x, k := range priv {
		if int(x) >= len(t.nodes) || !bytes.Equal(t.encryptionKey(x), k.PublicKey().Bytes()) {
			delete(priv, x)
		}
	}
}

// setPathParentHashes fills parent hashes top-down along a freshly set filtered direct path and
// returns the value the committer's leaf must carry.
func setPathParentHashes(t *ratchetTree, fdp, cpc []uint32) []byte {
	var ph []byte
	for k := len(fdp) - 1; k >= 0; k-- {
		t.nodes[fdp[k]].parent.ParentHash = ph
		ph = t.parentHash(fdp[k], cpc[k])
	}
	return ph
}

func (g *Group) provisionalContext(treeHash []byte) []byte {
	c := g.ctx
	c.Epoch++
	c.TreeHash = treeHash
	return c.Marshal()
}

func resolutionWithout(t *ratchetTree, x uint32, added []uint32) []uint32 {
	return slices.DeleteFunc(t.resolution(x), func(y uint32) bool {
		return level(y) == 0 && slices.Contains(added, y/2)
	})
}

// CommitResult is the outcome of Commit. Next is the state to adopt if the server announces
// this commit; Welcome is nil when nobody was added.
type CommitResult struct {
	Commit  []byte // MLSMessage(PublicMessage)
	Welcome []byte // bare Welcome
	Next    *Group
}

// Commit commits every queued proposal by reference, with an UpdatePath when required, and
// builds a Welcome (with an inline ratchet tree) for the added members. The receiver is not
// changed.
func (g *Group) Commit() (*CommitResult, error) {
	props := make([]*Proposal, len(g.pending))
	commit := &Commit{}
	for i, p := range g.pending {
		props[i] = p.proposal
		commit.Proposals = append(commit.Proposals, ProposalOrRef{Reference: slices.Clone(p.ref)})
	}
	t := g.tree.clone()
	added, kps, pathRequired, err := g.applyProposals(t, props, g.own)
	if err != nil {
		return nil, err
	}
	priv := maps.Clone(g.priv)
	commitSecret := make([]byte, hashLen)
	var pathSecrets map[uint32][]byte
	if pathRequired {
		commit.Path, commitSecret, pathSecrets, err = g.createPath(t, priv, added)
		if err != nil {
			return nil, err
		}
	}
	pruneKeys(t, priv)

	content := FramedContent{
		GroupID:     g.ctx.GroupID,
		Epoch:       g.ctx.Epoch,
		Sender:      Sender{Type: SenderMember, Index: g.own},
		ContentType: ContentCommit,
		Commit:      commit,
	}
	sig, err := signWithLabel(g.signer.key, "FramedContentTBS", content.tbs(g.ctxBytes))
	if err != nil {
		return nil, err
	}
	next := g.successor(t, priv)
	next.ctx.ConfirmedTranscriptHash = confirmedTranscriptHash(g.interim, &content, sig)
	next.ctxBytes = next.ctx.Marshal()
	joiner := joinerSecret(g.secrets.init, commitSecret, next.ctxBytes)
	welcomeSecret, secrets := fromJoiner(joiner, next.ctxBytes)
	next.secrets = secrets
	tag := mac(secrets.confirmation, next.ctx.ConfirmedTranscriptHash)
	next.interim = interimTranscriptHash(next.ctx.ConfirmedTranscriptHash, tag)

	pm := &PublicMessage{Content: content, Signature: sig, ConfirmationTag: tag}
	pm.MembershipTag = mac(g.secrets.membership, pm.tbm(g.ctxBytes))
	res := &CommitResult{
		Commit: (&MLSMessage{WireFormat: WireFormatPublicMessage, Public: pm}).Marshal(),
		Next:   next,
	}
	if len(added) > 0 {
		w, err := next.welcome(tag, joiner, welcomeSecret, added, kps, pathSecrets)
		if err != nil {
			return nil, err
		}
		res.Welcome = w.Marshal()
	}
	return res, nil
}

// successor copies the epoch-independent parts of g into a new state for epoch+1.
func (g *Group) successor(t *ratchetTree, priv map[uint32]hpke.PrivateKey) *Group {
	next := &Group{
		ctx:      g.ctx,
		tree:     t,
		own:      g.own,
		signer:   g.signer,
		priv:     priv,
		external: g.external,
		now:      g.now,
	}
	next.ctx.Epoch++
	next.ctx.TreeHash = t.rootHash()
	return next
}

// createPath replaces the committer's direct path in t with fresh keys and encrypts the path
// secrets to the copath resolutions (excluding new members). It returns the UpdatePath, the
// commit secret and the path secret per node (for Welcomes).
func (g *Group) createPath(t *ratchetTree, priv map[uint32]hpke.PrivateKey, added []uint32) (*UpdatePath, []byte, map[uint32][]byte, error) {
	own := leafNodeIndex(g.own)
	fdp, cpc := t.filteredDirectPath(g.own)
	for _, p := range directPath(own, t.leafCount()) {
		t.nodes[p] = node{}
	}
	leafSecret := randomBytes(hashLen)
	leafKey, err := deriveNodeKey(leafSecret)
	if err != nil {
		return nil, nil, nil, err
	}
	secrets := make(map[uint32][]byte, len(fdp))
	ps := leafSecret
	path := &UpdatePath{}
	for _, p := range fdp {
		ps = deriveSecret(ps, "path")
		k, err := deriveNodeKey(ps)
		if err != nil {
			return nil, nil, nil, err
		}
		secrets[p] = ps
		priv[p] = k
		t.nodes[p].parent = &parentNode{EncryptionKey: k.PublicKey().Bytes()}
	}
	commitSecret := deriveSecret(ps, "path")
	leafPH := setPathParentHashes(t, fdp, cpc)

	leaf := t.nodes[own].leaf.clone()
	leaf.EncryptionKey = leafKey.PublicKey().Bytes()
	leaf.Source = leafSourceCommit
	leaf.NotBefore, leaf.NotAfter = 0, 0
	leaf.ParentHash = leafPH
	if err := leaf.sign(g.signer, g.ctx.GroupID, g.own); err != nil {
		return nil, nil, nil, err
	}
	t.nodes[own].leaf = leaf
	priv[own] = leafKey
	path.LeafNode = *leaf

	ctxBytes := g.provisionalContext(t.rootHash())
	for k, p := range fdp {
		upn := UpdatePathNode{EncryptionKey: t.nodes[p].parent.EncryptionKey}
		for _, r := range resolutionWithout(t, cpc[k], added) {
			ct, err := encryptWithLabel(t.encryptionKey(r), "UpdatePathNode", ctxBytes, secrets[p])
			if err != nil {
				return nil, nil, nil, err
			}
			upn.Secrets = append(upn.Secrets, ct)
		}
		path.Nodes = append(path.Nodes, upn)
	}
	return path, commitSecret, secrets, nil
}

// welcome builds the Welcome for the added leaves; called on the new epoch's state.
func (g *Group) welcome(tag, joiner, welcomeSecret []byte, added []uint32, kps []*KeyPackage, pathSecrets map[uint32][]byte) (*Welcome, error) {
	gi := &GroupInfo{
		GroupContext:    g.ctx,
		Extensions:      []Extension{{Type: ExtensionRatchetTree, Data: encode(g.tree.marshal)}},
		ConfirmationTag: tag,
		Signer:          g.own,
	}
	sig, err := signWithLabel(g.signer.key, "GroupInfoTBS", encode(gi.marshalTBS))
	if err != nil {
		return nil, err
	}
	gi.Signature = sig
	key, nonce := welcomeKeyNonce(welcomeSecret)
	w := &Welcome{CipherSuite: CipherSuiteP256, EncryptedGroupInfo: aeadSeal(key, nonce, gi.Marshal())}
	for i, leaf := range added {
		gs := groupSecrets{JoinerSecret: joiner}
		if pathSecrets != nil {
			gs.PathSecret = pathSecrets[commonAncestor(leafNodeIndex(g.own), leafNodeIndex(leaf))]
		}
		ct, err := encryptWithLabel(kps[i].InitKey, "Welcome", w.EncryptedGroupInfo, encode(gs.marshal))
		if err != nil {
			return nil, err
		}
		w.Secrets = append(w.Secrets, EncryptedGroupSecrets{NewMember: kps[i].Ref(), Secrets: ct})
	}
	return w, nil
}
