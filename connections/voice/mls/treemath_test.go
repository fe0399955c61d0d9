package mls

import (
	"slices"
	"testing"
)

// refTree builds a complete binary tree by in-order numbering, independently of the bit formulas,
// and records each node's parent, children and level.
type refTree struct {
	parent, left, right map[uint32]uint32
	level               map[uint32]uint
	root                uint32
}

func buildRefTree(leaves uint32) *refTree {
	rt := &refTree{parent: map[uint32]uint32{}, left: map[uint32]uint32{}, right: map[uint32]uint32{}, level: map[uint32]uint{}}
	next := uint32(0)
	var build func(n uint32, lvl uint) uint32
	build = func(n uint32, lvl uint) uint32 {
		if n == 1 {
			x := next
			next++
			rt.level[x] = 0
			return x
		}
		l := build(n/2, lvl-1)
		x := next
		next++
		r := build(n/2, lvl-1)
		rt.left[x], rt.right[x] = l, r
		rt.parent[l], rt.parent[r] = x, x
		rt.level[x] = lvl
		return x
	}
	lvl := uint(0)
	for n := leaves; n > 1; n /= 2 {
		lvl++
	}
	rt.root = build(leaves, lvl)
	return rt
}

func TestTreeMathAgainstReference(t *testing.T) {
	for leaves := uint32(1); leaves <= 256; leaves *= 2 {
		rt := buildRefTree(leaves)
		if got := root(leaves); got != rt.root {
			t.Fatalf("root(%d) = %d, want %d", leaves, got, rt.root)
		}
		if nodeWidth(leaves) != uint32(len(rt.level)) {
			t.Fatalf("nodeWidth(%d) = %d, want %d", leaves, nodeWidth(leaves), len(rt.level))
		}
		for x := uint32(0); x < nodeWidth(leaves); x++ {
			if level(x) != rt.level[x] {
				t.Fatalf("level(%d) = %d, want %d", x, level(x), rt.level[x])
			}
			if rt.level[x] > 0 && (left(x) != rt.left[x] || right(x) != rt.right[x]) {
				t.Fatalf("children of %d: %d,%d want %d,%d", x, left(x), right(x), rt.left[x], rt.right[x])
			}
			if x == rt.root {
				if directPath(x, leaves) != nil || copath(x, leaves) != nil {
					t.Fatalf("root %d has a direct path", x)
				}
				continue
			}
			p := rt.parent[x]
			if parent(x) != p {
				t.Fatalf("parent(%d) = %d, want %d", x, parent(x), p)
			}
			sib := rt.left[p]
			if sib == x {
				sib = rt.right[p]
			}
			if sibling(x) != sib {
				t.Fatalf("sibling(%d) = %d, want %d", x, sibling(x), sib)
			}
			var dp, cp []uint32
			for y := x; y != rt.root; y = rt.parent[y] {
				dp = append(dp, rt.parent[y])
				s := rt.left[rt.parent[y]]
				if s == y {
					s = rt.right[rt.parent[y]]
				}
				cp = append(cp, s)
			}
			if !slices.Equal(directPath(x, leaves), dp) || !slices.Equal(copath(x, leaves), cp) {
				t.Fatalf("paths of %d in %d leaves: dp %v cp %v, want %v %v", x, leaves, directPath(x, leaves), copath(x, leaves), dp, cp)
			}
		}
		// Lowest common ancestor: the first shared node walking up from both.
		for a := uint32(0); a < nodeWidth(leaves) && leaves <= 32; a++ {
			for b := uint32(0); b < nodeWidth(leaves); b++ {
				up := map[uint32]bool{}
				for y := a; ; y = rt.parent[y] {
					up[y] = true
					if y == rt.root {
						break
					}
				}
				want := b
				for !up[want] {
					want = rt.parent[want]
				}
				if got := commonAncestor(a, b); got != want {
					t.Fatalf("commonAncestor(%d,%d) = %d, want %d", a, b, got, want)
				}
			}
		}
	}
}

// The worked example from RFC 9420 Appendix C / §4.1: eight leaves.
func TestTreeMathRFCExample(t *testing.T) {
	if root(8) != 7 {
		t.Fatal("root")
	}
	if !slices.Equal(directPath(0, 8), []uint32{1, 3, 7}) || !slices.Equal(copath(0, 8), []uint32{2, 5, 11}) {
		t.Fatal("leaf 0 paths")
	}
	if !slices.Equal(directPath(10, 8), []uint32{9, 11, 7}) || !slices.Equal(copath(10, 8), []uint32{8, 13, 3}) {
		t.Fatal("leaf 5 paths")
	}
}

func leafWithKey(k byte) *LeafNode {
	return &LeafNode{EncryptionKey: []byte{k}, SignatureKey: []byte{k}, Source: leafSourceKeyPackage}
}

func TestResolutionAndTreeOps(t *testing.T) {
	tr := &ratchetTree{nodes: []node{{leaf: leafWithKey(1)}}}
	for k := byte(2); k <= 5; k++ {
		tr.addLeaf(leafWithKey(k))
	}
	if tr.leafCount() != 8 {
		t.Fatalf("5 leaves need an 8-leaf tree, got %d", tr.leafCount())
	}
	// Blank parents resolve to their leaves.
	if got := tr.resolution(7); !slices.Equal(got, []uint32{0, 2, 4, 6, 8}) {
		t.Fatalf("resolution(root) = %v", got)
	}
	// A non-blank parent covers its subtree plus its unmerged leaves.
	tr.nodes[3].parent = &parentNode{EncryptionKey: []byte{9}}
	if i := tr.addLeaf(leafWithKey(6)); i != 5 {
		t.Fatalf("added at %d", i)
	}
	tr.removeLeaf(1)
	if i := tr.addLeaf(leafWithKey(7)); i != 1 {
		t.Fatalf("leftmost blank not reused: %d", i)
	}
	// removeLeaf(1) blanked node 3 (its direct path), so 3 is blank again.
	if got := tr.resolution(3); !slices.Equal(got, []uint32{0, 2, 4, 6}) {
		t.Fatalf("resolution(3) = %v", got)
	}
	tr.nodes[3].parent = &parentNode{EncryptionKey: []byte{9}}
	tr.addLeaf(leafWithKey(8)) // leaf 6, not under node 3
	tr.removeLeaf(2)
	tr.addLeaf(leafWithKey(10)) // fills leaf 2 under node 3? node 3 was blanked by removeLeaf(2)
	tr.nodes[3].parent = &parentNode{EncryptionKey: []byte{9}, Unmerged: []uint32{3}}
	if got := tr.resolution(3); !slices.Equal(got, []uint32{3, 6}) {
		t.Fatalf("resolution with unmerged = %v", got)
	}
	// Truncation: removing everything right of leaf 1 shrinks the tree.
	for _, i := range []uint32{7, 6, 5, 4, 3, 2} {
		if tr.leaf(i) != nil {
			tr.removeLeaf(i)
		}
	}
	if tr.leafCount() != 2 {
		t.Fatalf("not truncated: %d leaves", tr.leafCount())
	}
	tr.removeLeaf(1)
	if tr.leafCount() != 1 {
		t.Fatalf("not truncated to one leaf: %d", tr.leafCount())
	}
}

func TestTreeEncodingRoundTrip(t *testing.T) {
	h := newHarness(t)
	first := h.start()
	for range 4 {
		h.proposeAdd()
	}
	h.commitBy(first)
	g := h.members[first]
	b := encode(g.tree.marshal)
	tr, err := decodeRatchetTree(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tr.rootHash(), g.ctx.TreeHash) {
		t.Fatal("tree hash changed across encoding")
	}
	if err := verifyTree(tr, g.ctx.GroupID, g.ctx.TreeHash); err != nil {
		t.Fatal(err)
	}
	// Blank trailing node, even length, wrong node type: all rejected.
	for _, bad := range [][]byte{{0}, {2, 1, 0}, {3, 1, 2, 0}} {
		if _, err := decodeRatchetTree(bad); err == nil {
			t.Fatalf("accepted %x", bad)
		} else {
			checkDecodeErr(t, err)
		}
	}
}
