package mls

import (
	"bytes"
	"fmt"
	"slices"
)

// parentNode is RFC 9420 ParentNode.
type parentNode struct {
	EncryptionKey []byte
	ParentHash    []byte
	Unmerged      []uint32
}

func (p *parentNode) marshal(w *writer) {
	w.opaque(p.EncryptionKey)
	w.opaque(p.ParentHash)
	w.vector(func(w *writer) {
		for _, u := range p.Unmerged {
			w.u32(u)
		}
	})
}

func (p *parentNode) unmarshal(r *reader) {
	defer r.enter("ParentNode")()
	p.EncryptionKey = r.opaque()
	p.ParentHash = r.opaque()
	r.vector(func(r *reader) {
		if r.remaining() < 4 {
			r.fail(ErrTruncated, "unmerged leaf")
			return
		}
		p.Unmerged = append(p.Unmerged, r.u32())
	})
}

// node is one slot of the array tree: a leaf, a parent, or blank (both nil).
type node struct {
	leaf   *LeafNode
	parent *parentNode
}

func (n node) blank() bool { return n.leaf == nil && n.parent == nil }

// ratchetTree is the public ratchet tree; len(nodes) is always nodeWidth of a power of two.
type ratchetTree struct {
	nodes []node
}

func (t *ratchetTree) leafCount() uint32 { return uint32(len(t.nodes)+1) / 2 }

func (t *ratchetTree) leaf(i uint32) *LeafNode {
	// Compare leaf indexes, not node indexes: 2*i wraps for hostile indexes >= 2^31.
	if i >= t.leafCount() {
		return nil
	}
	return t.nodes[leafNodeIndex(i)].leaf
}

func (t *ratchetTree) clone() *ratchetTree {
	c := &ratchetTree{nodes: make([]node, len(t.nodes))}
	for i, n := range t.nodes {
		if n.leaf != nil {
			c.nodes[i].leaf = n.leaf.clone()
		}
		if n.parent != nil {
			p := *n.parent
			p.Unmerged = slices.Clone(p.Unmerged)
			c.nodes[i].parent = &p
		}
	}
	return c
}

func (t *ratchetTree) encryptionKey(x uint32) []byte {
	n := t.nodes[x]
	switch {
	case n.leaf != nil:
		return n.leaf.EncryptionKey
	case n.parent != nil:
		return n.parent.EncryptionKey
	}
	return nil
}

// resolution is RFC 9420 §4.1.1: the non-blank nodes covering the subtree of x, with unmerged
// leaves of non-blank parents.
func (t *ratchetTree) resolution(x uint32) []uint32 {
	n := t.nodes[x]
	switch {
	case n.leaf != nil:
		return []uint32{x}
	case n.parent != nil:
		out := []uint32{x}
		for _, u := range n.parent.Unmerged {
			out = append(out, leafNodeIndex(u))
		}
		return out
	case level(x) == 0:
		return nil
	}
	return append(t.resolution(left(x)), t.resolution(right(x))...)
}

// filteredDirectPath is the direct path of leaf i without the nodes whose copath child has an
// empty resolution, together with those copath children.
func (t *ratchetTree) filteredDirectPath(i uint32) (path, copathChildren []uint32) {
	n := t.leafCount()
	x := leafNodeIndex(i)
	dp := directPath(x, n)
	cp := copath(x, n)
	for k, p := range dp {
		if len(t.resolution(cp[k])) > 0 {
			path = append(path, p)
			copathChildren = append(copathChildren, cp[k])
		}
	}
	return path, copathChildren
}

// addLeaf places a leaf in the leftmost blank slot, growing the tree if full, and records it as
// unmerged at each non-blank parent above it.
func (t *ratchetTree) addLeaf(l *LeafNode) uint32 {
	n := t.leafCount()
	idx := n
	for i := uint32(0); i < n; i++ {
		if t.nodes[leafNodeIndex(i)].blank() {
			idx = i
			break
		}
	}
	if idx == n {
		if n == 0 {
			t.nodes = make([]node, 1)
		} else {
			t.nodes = append(t.nodes, make([]node, int(nodeWidth(2*n))-len(t.nodes))...)
		}
	}
	x := leafNodeIndex(idx)
	t.nodes[x] = node{leaf: l}
	for _, p := range directPath(x, t.leafCount()) {
		if t.nodes[p].parent != nil {
			t.nodes[p].parent.Unmerged = append(t.nodes[p].parent.Unmerged, idx)
		}
	}
	return idx
}

// removeLeaf blanks leaf i and its direct path, then truncates while the right half is blank.
func (t *ratchetTree) removeLeaf(i uint32) {
	x := leafNodeIndex(i)
	t.nodes[x] = node{}
	for _, p := range directPath(x, t.leafCount()) {
		t.nodes[p] = node{}
	}
	for t.leafCount() > 1 {
		n := t.leafCount()
		half := nodeWidth(n / 2)
		allBlank := true
		for _, nd := range t.nodes[half:] {
			if !nd.blank() {
				allBlank = false
				break
			}
		}
		if !allBlank {
			break
		}
		t.nodes = t.nodes[:half]
	}
}

// treeHash is RFC 9420 §7.8 tree hash of the subtree at x. Leaves in exclude are hashed as blank
// and dropped from unmerged lists (the "original sibling tree hash" of §7.9).
func (t *ratchetTree) treeHash(x uint32, exclude []uint32) []byte {
	n := t.nodes[x]
	if level(x) == 0 {
		li := x / 2
		return hashBytes(encode(func(w *writer) {
			w.u8(1)
			w.u32(li)
			present := n.leaf != nil && !slices.Contains(exclude, li)
			w.optional(present)
			if present {
				n.leaf.marshal(w)
			}
		}))
	}
	lh := t.treeHash(left(x), exclude)
	rh := t.treeHash(right(x), exclude)
	return hashBytes(encode(func(w *writer) {
		w.u8(2)
		w.optional(n.parent != nil)
		if n.parent != nil {
			p := *n.parent
			if len(exclude) > 0 {
				p.Unmerged = slices.DeleteFunc(slices.Clone(p.Unmerged), func(u uint32) bool {
					return slices.Contains(exclude, u)
				})
			}
			p.marshal(w)
		}
		w.opaque(lh)
		w.opaque(rh)
	}))
}

func (t *ratchetTree) rootHash() []byte { return t.treeHash(root(t.leafCount()), nil) }

// parentHash is the hash a child of p stores: over p's key, p's own parent hash and the
// original tree hash of the child's sibling s.
func (t *ratchetTree) parentHash(p, s uint32) []byte {
	pn := t.nodes[p].parent
	return hashBytes(encode(func(w *writer) {
		w.opaque(pn.EncryptionKey)
		w.opaque(pn.ParentHash)
		w.opaque(t.treeHash(s, pn.Unmerged))
	}))
}

// verifyParentHashes checks that every non-blank parent is parent-hash valid with respect to
// one of its children (RFC 9420 §7.9.2).
func (t *ratchetTree) verifyParentHashes() error {
	for x := uint32(1); int(x) < len(t.nodes); x += 2 {
		pn := t.nodes[x].parent
		if pn == nil {
			continue
		}
		ok := false
		for _, c := range []uint32{left(x), right(x)} {
			want := t.parentHash(x, sibling(c))
			for _, d := range t.chainCandidates(c) {
				if level(d) == 0 && slices.Contains(pn.Unmerged, d/2) {
					continue
				}
				var ph []byte
				if l := t.nodes[d].leaf; l != nil {
					if l.Source != leafSourceCommit {
						continue
					}
					ph = l.ParentHash
				} else {
					ph = t.nodes[d].parent.ParentHash
				}
				if bytes.Equal(ph, want) {
					ok = true
					break
				}
			}
			if ok {
				break
			}
		}
		if !ok {
			return fmt.Errorf("mls: %w: node %d", ErrParentHash, x)
		}
	}
	return nil
}

// chainCandidates are the first non-blank nodes below c reached through blank nodes only.
func (t *ratchetTree) chainCandidates(c uint32) []uint32 {
	if !t.nodes[c].blank() {
		return []uint32{c}
	}
	if level(c) == 0 {
		return nil
	}
	return append(t.chainCandidates(left(c)), t.chainCandidates(right(c))...)
}

// marshal writes the ratchet_tree extension body: optional<Node> nodes<V> without trailing blanks.
func (t *ratchetTree) marshal(w *writer) {
	last := len(t.nodes) - 1
	for last >= 0 && t.nodes[last].blank() {
		last--
	}
	w.vector(func(w *writer) {
		for _, n := range t.nodes[:last+1] {
			switch {
			case n.leaf != nil:
				w.u8(1)
				w.u8(1)
				n.leaf.marshal(w)
			case n.parent != nil:
				w.u8(1)
				w.u8(2)
				n.parent.marshal(w)
			default:
				w.u8(0)
			}
		}
	})
}

// maxTreeLeaves bounds decoded trees. DAVE calls hold at most a few hundred members; the bound
// keeps the cost of validating a hostile Welcome (one signature check per leaf) to a few seconds.
const maxTreeLeaves = 1 << 13

// DecodeRatchetTree parses a ratchet_tree extension body and checks its shape; it returns the
// number of leaves of the padded tree. It exists mainly for fuzzing and diagnostics.
func DecodeRatchetTree(b []byte) (leaves int, err error) {
	t, err := decodeRatchetTree(b)
	if err != nil {
		return 0, err
	}
	return int(t.leafCount()), nil
}

func decodeRatchetTree(b []byte) (*ratchetTree, error) {
	r := newReader(b, "RatchetTree")
	var nodes []node
	r.vector(func(r *reader) {
		defer r.enter("Node")()
		if len(nodes) >= int(nodeWidth(maxTreeLeaves)) {
			r.fail(ErrInvalidValue, "tree too large")
			return
		}
		var n node
		if r.optional() {
			start := r.pos
			typ := r.u8()
			wantLeaf := len(nodes)%2 == 0
			switch {
			case r.err != nil:
				return
			case typ == 1 && wantLeaf:
				n.leaf = new(LeafNode)
				n.leaf.unmarshal(r)
			case typ == 2 && !wantLeaf:
				n.parent = new(parentNode)
				n.parent.unmarshal(r)
			default:
				r.pos = start
				r.fail(ErrInvalidValue, fmt.Sprintf("node type %d at index %d", typ, len(nodes)))
				return
			}
		}
		nodes = append(nodes, n)
	})
	if err := r.finish(); err != nil {
		return nil, err
	}
	if len(nodes) == 0 || nodes[len(nodes)-1].blank() || len(nodes)%2 == 0 {
		return nil, &DecodeError{Struct: "RatchetTree", Offset: len(b), Err: ErrInvalidValue,
			Detail: "empty, even-sized or ending in a blank node"}
	}
	leaves := uint32(1)
	for leaves < uint32(len(nodes)+1)/2 {
		leaves *= 2
	}
	for len(nodes) < int(nodeWidth(leaves)) {
		nodes = append(nodes, node{})
	}
	t := &ratchetTree{nodes: nodes}
	// Unmerged leaves must name real leaves below the parent.
	for x := uint32(1); int(x) < len(nodes); x += 2 {
		if p := nodes[x].parent; p != nil {
			for _, u := range p.Unmerged {
				if u >= leaves || !isAncestor(x, leafNodeIndex(u)) || nodes[leafNodeIndex(u)].leaf == nil {
					return nil, &DecodeError{Struct: "RatchetTree", Offset: len(b), Err: ErrInvalidValue,
						Detail: fmt.Sprintf("bad unmerged leaf %d at node %d", u, x)}
				}
			}
		}
	}
	return t, nil
}
