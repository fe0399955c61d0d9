package mls

import "math/bits"

// Tree math for the array representation of a complete binary tree (RFC 9420 §4.1, Appendix C).
// Leaves sit at even indexes, leaf i at node 2i. The trees here always have a power-of-two
// number of leaves, so every formula works on a full tree.

// level is the number of trailing one bits of x: 0 for leaves.
func level(x uint32) uint {
	return uint(bits.TrailingZeros32(^x))
}

// nodeWidth is the number of nodes in a tree with n leaves.
func nodeWidth(n uint32) uint32 {
	if n == 0 {
		return 0
	}
	return 2*(n-1) + 1
}

// root is the root node of a tree with n leaves (n a power of two).
func root(n uint32) uint32 {
	w := nodeWidth(n)
	return (uint32(1) << (bits.Len32(w) - 1)) - 1
}

func left(x uint32) uint32 {
	k := level(x)
	if k == 0 {
		return x
	}
	return x ^ (1 << (k - 1))
}

func right(x uint32) uint32 {
	k := level(x)
	if k == 0 {
		return x
	}
	return x ^ (3 << (k - 1))
}

func parent(x uint32) uint32 {
	k := level(x)
	b := (x >> (k + 1)) & 1
	return (x | (1 << k)) ^ (b << (k + 1))
}

func sibling(x uint32) uint32 {
	p := parent(x)
	if x < p {
		return right(p)
	}
	return left(p)
}

// directPath lists the parents of x from just above x up to the root of an n-leaf tree.
func directPath(x, n uint32) []uint32 {
	r := root(n)
	var d []uint32
	for x != r {
		x = parent(x)
		d = append(d, x)
	}
	return d
}

// copath lists the siblings of x and of each node of its direct path except the root.
func copath(x, n uint32) []uint32 {
	r := root(n)
	if x == r {
		return nil
	}
	d := append([]uint32{x}, directPath(x, n)...)
	d = d[:len(d)-1]
	out := make([]uint32, len(d))
	for i, y := range d {
		out[i] = sibling(y)
	}
	return out
}

// isAncestor reports whether a is an ancestor of (or equal to) x.
func isAncestor(a, x uint32) bool {
	k := level(a)
	lo := a - (1 << k) + 1
	hi := a + (1 << k) - 1
	return x >= lo && x <= hi
}

// commonAncestor is the lowest common ancestor of two nodes.
func commonAncestor(x, y uint32) uint32 {
	if level(x) > level(y) {
		x, y = y, x
	}
	for !isAncestor(x, y) {
		x = parent(x)
	}
	return x
}

func leafNodeIndex(leaf uint32) uint32 { return 2 * leaf }
