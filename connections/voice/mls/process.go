package mls

import (
	"bytes"
	"crypto/hpke"
	"fmt"
	"maps"
	"slices"
	"time"
)

// ErrOwnCommit is returned by ProcessCommit for a commit this member sent; adopt
// CommitResult.Next instead.
var ErrOwnCommit = fmt.Errorf("%w: own commit", ErrInvalidCommit)

// ErrRemoved is returned by ProcessCommit when the commit removes this member.
var ErrRemoved = fmt.Errorf("%w: this member is removed", ErrInvalidCommit)

// ProcessCommit verifies and applies another member's commit (an MLSMessage carrying a
// PublicMessage) that references queued proposals, and returns the state of the next epoch.
// The receiver is not changed.
func (g *Group) ProcessCommit(msg []byte) (*Group, error) {
	m, err := DecodeMLSMessage(msg)
	if err != nil {
		return nil, err
	}
	if m.Public == nil || m.Public.Content.ContentType != ContentCommit {
		return nil, fmt.Errorf("mls: %w: not a public commit message", ErrInvalidCommit)
	}
	pm := m.Public
	if err := g.verifyPublic(pm); err != nil {
		return nil, err
	}
	committer := pm.Content.Sender.Index
	if committer == g.own {
		return nil, ErrOwnCommit
	}
	commit := pm.Content.Commit
	props := make([]*Proposal, 0, len(commit.Proposals))
	var seen [][]byte
	for _, por := range commit.Proposals {
		if por.Proposal != nil {
			return nil, fmt.Errorf("mls: %w: inline proposals are not accepted", ErrInvalidCommit)
		}
		if slices.ContainsFunc(seen, func(r []byte) bool { return bytes.Equal(r, por.Reference) }) {
			return nil, fmt.Errorf("mls: %w: proposal referenced twice", ErrInvalidCommit)
		}
		seen = append(seen, por.Reference)
		i := slices.IndexFunc(g.pending, func(p pendingProposal) bool { return bytes.Equal(p.ref, por.Reference) })
		if i < 0 {
			return nil, fmt.Errorf("mls: %w", ErrUnknownProposal)
		}
		p := g.pending[i].proposal
		if p.Type == ProposalTypeRemove && p.Remove == g.own {
			return nil, ErrRemoved
		}
		props = append(props, p)
	}
	t := g.tree.clone()
	added, _, pathRequired, err := g.applyProposals(t, props, committer)
	if err != nil {
		return nil, err
	}
	if pathRequired && commit.Path == nil {
		return nil, fmt.Errorf("mls: %w: update path required", ErrInvalidCommit)
	}
	priv := maps.Clone(g.priv)
	pruneKeys(t, priv)
	commitSecret := make([]byte, hashLen)
	if commit.Path != nil {
		if commitSecret, err = g.applyPath(t, priv, committer, commit.Path, added); err != nil {
			return nil, err
		}
	}
	pruneKeys(t, priv)

	next := g.successor(t, priv)
	next.ctx.ConfirmedTranscriptHash = confirmedTranscriptHash(g.interim, &pm.Content, pm.Signature)
	next.ctxBytes = next.ctx.Marshal()
	joiner := joinerSecret(g.secrets.init, commitSecret, next.ctxBytes)
	_, next.secrets = fromJoiner(joiner, next.ctxBytes)
	if !macEqual(pm.ConfirmationTag, mac(next.secrets.confirmation, next.ctx.ConfirmedTranscriptHash)) {
		return nil, fmt.Errorf("mls: %w", ErrBadConfirmationTag)
	}
	next.interim = interimTranscriptHash(next.ctx.ConfirmedTranscriptHash, pm.ConfirmationTag)
	return next, nil
}

// applyPath merges the committer's UpdatePath into t, checks its parent hash chain, decrypts the
// path secret meant for this member and returns the commit secret.
func (g *Group) applyPath(t *ratchetTree, priv map[uint32]hpke.PrivateKey, committer uint32, path *UpdatePath, added []uint32) ([]byte, error) {
	cx := leafNodeIndex(committer)
	fdp, cpc := t.filteredDirectPath(committer)
	if len(path.Nodes) != len(fdp) {
		return nil, fmt.Errorf("mls: %w: update path has %d nodes, filtered direct path %d", ErrInvalidCommit, len(path.Nodes), len(fdp))
	}
	for k := range fdp {
		if len(path.Nodes[k].Secrets) != len(resolutionWithout(t, cpc[k], added)) {
			return nil, fmt.Errorf("mls: %w: update path node %d has %d ciphertexts", ErrInvalidCommit, k, len(path.Nodes[k].Secrets))
		}
		if _, err := hpkeKEM.NewPublicKey(path.Nodes[k].EncryptionKey); err != nil {
			return nil, fmt.Errorf("mls: %w: update path key: %v", ErrInvalidCommit, err)
		}
	}
	leaf := path.LeafNode
	if leaf.Source != leafSourceCommit {
		return nil, fmt.Errorf("mls: %w: update path leaf source %d", ErrInvalidLeafNode, leaf.Source)
	}
	if err := leaf.verify(g.ctx.GroupID, committer); err != nil {
		return nil, err
	}
	old := t.nodes[cx].leaf
	if !bytes.Equal(old.SignatureKey, leaf.SignatureKey) && !bytes.Equal(old.Credential.Identity, leaf.Credential.Identity) {
		return nil, fmt.Errorf("mls: %w: committer changed identity", ErrInvalidLeafNode)
	}
	for _, p := range directPath(cx, t.leafCount()) {
		t.nodes[p] = node{}
	}
	for k, p := range fdp {
		t.nodes[p].parent = &parentNode{EncryptionKey: path.Nodes[k].EncryptionKey}
	}
	if ph := setPathParentHashes(t, fdp, cpc); !bytes.Equal(ph, leaf.ParentHash) {
		return nil, fmt.Errorf("mls: %w: committer leaf", ErrParentHash)
	}
	t.nodes[cx].leaf = leaf.clone()
	pruneKeys(t, priv)
	ctxBytes := g.provisionalContext(t.rootHash())

	own := leafNodeIndex(g.own)
	k := slices.IndexFunc(cpc, func(c uint32) bool { return isAncestor(c, own) })
	if k < 0 {
		return nil, fmt.Errorf("mls: %w: no copath node covers this member", ErrInvalidCommit)
	}
	res := resolutionWithout(t, cpc[k], added)
	j := slices.IndexFunc(res, func(x uint32) bool { _, ok := priv[x]; return ok })
	if j < 0 {
		return nil, fmt.Errorf("mls: %w: no private key for the copath resolution", ErrDecrypt)
	}
	ps, err := decryptWithLabel(priv[res[j]], "UpdatePathNode", ctxBytes, path.Nodes[k].Secrets[j])
	if err != nil {
		return nil, err
	}
	for m := k; m < len(fdp); m++ {
		if m > k {
			ps = deriveSecret(ps, "path")
		}
		key, err := deriveNodeKey(ps)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(key.PublicKey().Bytes(), path.Nodes[m].EncryptionKey) {
			return nil, fmt.Errorf("mls: %w: path secret does not match node %d", ErrInvalidCommit, fdp[m])
		}
		priv[fdp[m]] = key
	}
	return deriveSecret(ps, "path"), nil
}

// JoinWelcome builds the group state from a bare Welcome addressed to bundle's KeyPackage. It
// verifies the GroupInfo signature, the tree hash, parent hashes, every leaf signature and the
// confirmation tag.
func JoinWelcome(welcome []byte, bundle *KeyPackageBundle) (*Group, error) {
	return joinWelcome(welcome, bundle, nil)
}

// joinWelcome accepts the tree out of band when the GroupInfo carries none (test vectors do).
func joinWelcome(welcome []byte, bundle *KeyPackageBundle, outOfBandTree []byte) (*Group, error) {
	w, err := DecodeWelcome(welcome)
	if err != nil {
		return nil, err
	}
	ref := bundle.KeyPackage.Ref()
	i := slices.IndexFunc(w.Secrets, func(s EncryptedGroupSecrets) bool { return bytes.Equal(s.NewMember, ref) })
	if i < 0 {
		return nil, fmt.Errorf("mls: %w", ErrNoMatchingKeyPackage)
	}
	pt, err := decryptWithLabel(bundle.initKey, "Welcome", w.EncryptedGroupInfo, w.Secrets[i].Secrets)
	if err != nil {
		return nil, err
	}
	gs, err := decodeGroupSecrets(pt)
	if err != nil {
		return nil, err
	}
	if len(gs.JoinerSecret) != hashLen {
		return nil, fmt.Errorf("mls: %w: joiner secret length", ErrInvalidWelcome)
	}
	member := extract(gs.JoinerSecret, make([]byte, hashLen))
	key, nonce := welcomeKeyNonce(deriveSecret(member, "welcome"))
	giBytes, err := aeadOpen(key, nonce, w.EncryptedGroupInfo)
	if err != nil {
		return nil, fmt.Errorf("mls: %w: group info: %v", ErrDecrypt, err)
	}
	gi, err := DecodeGroupInfo(giBytes)
	if err != nil {
		return nil, err
	}
	treeData, ok := findExtension(gi.Extensions, ExtensionRatchetTree)
	if !ok && outOfBandTree != nil {
		treeData, ok = outOfBandTree, true
	}
	if !ok {
		return nil, fmt.Errorf("mls: %w: no ratchet_tree extension", ErrInvalidWelcome)
	}
	t, err := decodeRatchetTree(treeData)
	if err != nil {
		return nil, err
	}
	ext, err := externalSendersOf(gi.GroupContext.Extensions)
	if err != nil {
		return nil, err
	}
	signer := t.leaf(gi.Signer)
	if signer == nil {
		return nil, fmt.Errorf("mls: %w: group info signer %d", ErrUnknownSender, gi.Signer)
	}
	if !verifyWithLabel(signer.SignatureKey, "GroupInfoTBS", encode(gi.marshalTBS), gi.Signature) {
		return nil, fmt.Errorf("mls: %w: group info", ErrBadSignature)
	}
	if err := verifyTree(t, gi.GroupContext.GroupID, gi.GroupContext.TreeHash); err != nil {
		return nil, err
	}
	own := uint32(0)
	found := false
	for li := uint32(0); li < t.leafCount(); li++ {
		if l := t.leaf(li); l != nil && l.equal(&bundle.KeyPackage.LeafNode) {
			own, found = li, true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("mls: %w: own leaf not in tree", ErrInvalidWelcome)
	}
	priv := map[uint32]hpke.PrivateKey{leafNodeIndex(own): bundle.encryptionKey}
	if gs.PathSecret != nil {
		if err := derivePathKeys(t, priv, own, gi.Signer, gs.PathSecret); err != nil {
			return nil, err
		}
	}
	g := &Group{
		ctx:      gi.GroupContext,
		tree:     t,
		own:      own,
		signer:   bundle.signer,
		priv:     priv,
		external: ext,
		now:      time.Now,
	}
	g.ctxBytes = g.ctx.Marshal()
	_, g.secrets = fromJoiner(gs.JoinerSecret, g.ctxBytes)
	if !macEqual(gi.ConfirmationTag, mac(g.secrets.confirmation, g.ctx.ConfirmedTranscriptHash)) {
		return nil, fmt.Errorf("mls: %w: welcome", ErrBadConfirmationTag)
	}
	g.interim = interimTranscriptHash(g.ctx.ConfirmedTranscriptHash, gi.ConfirmationTag)
	return g, nil
}

// derivePathKeys turns the Welcome's path secret (for the lowest common ancestor of the joiner and
// the committer) into private keys for that node and the non-blank nodes above it.
func derivePathKeys(t *ratchetTree, priv map[uint32]hpke.PrivateKey, own, committer uint32, ps []byte) error {
	if own == committer {
		return fmt.Errorf("mls: %w: signer is the joiner", ErrInvalidWelcome)
	}
	x := commonAncestor(leafNodeIndex(own), leafNodeIndex(committer))
	nodes := append([]uint32{x}, directPath(x, t.leafCount())...)
	first := true
	for _, p := range nodes {
		if t.nodes[p].blank() {
			continue
		}
		if !first {
			ps = deriveSecret(ps, "path")
		}
		first = false
		key, err := deriveNodeKey(ps)
		if err != nil {
			return err
		}
		if !bytes.Equal(key.PublicKey().Bytes(), t.encryptionKey(p)) {
			return fmt.Errorf("mls: %w: path secret does not match node %d", ErrInvalidWelcome, p)
		}
		priv[p] = key
	}
	return nil
}

// verifyTree checks a received tree: tree hash, parent hashes, leaf signatures, distinct keys.
func verifyTree(t *ratchetTree, groupID, treeHash []byte) error {
	if !bytes.Equal(t.rootHash(), treeHash) {
		return fmt.Errorf("mls: %w", ErrTreeHash)
	}
	if err := t.verifyParentHashes(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i := uint32(0); i < t.leafCount(); i++ {
		l := t.leaf(i)
		if l == nil {
			continue
		}
		var gid []byte
		if l.Source != leafSourceKeyPackage {
			gid = groupID
		}
		if err := l.verify(gid, i); err != nil {
			return err
		}
		for _, k := range [][]byte{l.SignatureKey, l.EncryptionKey} {
			if seen[string(k)] {
				return fmt.Errorf("mls: %w: duplicate key at leaf %d", ErrInvalidTree, i)
			}
			seen[string(k)] = true
		}
	}
	for x := uint32(1); int(x) < len(t.nodes); x += 2 {
		if p := t.nodes[x].parent; p != nil {
			if seen[string(p.EncryptionKey)] {
				return fmt.Errorf("mls: %w: duplicate key at node %d", ErrInvalidTree, x)
			}
			seen[string(p.EncryptionKey)] = true
		}
	}
	return nil
}

// ExternalProposal frames and signs an Add or Remove proposal from external sender senderIndex,
// the way DAVE's voice server does (PublicMessage, no membership tag). It serves tests and
// simulators.
func ExternalProposal(signer *Signer, senderIndex uint32, groupID []byte, epoch uint64, p *Proposal) ([]byte, error) {
	if p == nil || (p.Type == ProposalTypeAdd && p.Add == nil) || (p.Type != ProposalTypeAdd && p.Type != ProposalTypeRemove) {
		return nil, fmt.Errorf("mls: %w: proposal", ErrUnsupported)
	}
	content := FramedContent{
		GroupID:     slices.Clone(groupID),
		Epoch:       epoch,
		Sender:      Sender{Type: SenderExternal, Index: senderIndex},
		ContentType: ContentProposal,
		Proposal:    p,
	}
	sig, err := signWithLabel(signer.key, "FramedContentTBS", content.tbs(nil))
	if err != nil {
		return nil, err
	}
	pm := &PublicMessage{Content: content, Signature: sig}
	return (&MLSMessage{WireFormat: WireFormatPublicMessage, Public: pm}).Marshal(), nil
}
