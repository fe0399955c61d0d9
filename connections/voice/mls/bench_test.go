package mls

import (
	"fmt"
	"testing"
)

// benchGroup builds a group of n members: one creator adds n-1 members in one commit, then a
// remove-and-re-add round gives the tree populated parent nodes like a long-lived call.
func benchGroup(b *testing.B, n int) (*harness, uint64) {
	h := newHarness(b)
	first := h.start()
	for range n - 1 {
		h.proposeAdd()
	}
	if n > 1 {
		h.commitBy(first)
	}
	return h, first
}

func other(h *harness, not uint64) uint64 {
	for u := range h.members {
		if u != not {
			return u
		}
	}
	return not
}

// BenchmarkCommit reports, per group size, the time to create a commit adding one member (with
// its Welcome), to process it as another member, to join from the Welcome, and the same for a
// commit removing one member (which carries an UpdatePath).
func BenchmarkCommit(b *testing.B) {
	for _, n := range []int{2, 10, 25} {
		h, first := benchGroup(b, n)
		proc := other(h, first)
		h.proposeAdd()
		var bundle *KeyPackageBundle
		for _, kb := range h.pendKP {
			bundle = kb
		}
		g := h.members[first]
		res, err := g.Commit()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("add_commit_welcome/%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := g.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("add_process/%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := h.members[proc].ProcessCommit(res.Commit); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("join_welcome/%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := JoinWelcome(res.Welcome, bundle); err != nil {
					b.Fatal(err)
				}
			}
		})
		h.commitBy(first)
		if n < 3 {
			continue
		}
		victim := other(h, first)
		h.proposeRemove(victim)
		proc = first
		for u := range h.members {
			if u != first && u != victim {
				proc = u
				break
			}
		}
		g = h.members[first]
		res, err = g.Commit()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("remove_commit_path/%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := g.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("remove_process/%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := h.members[proc].ProcessCommit(res.Commit); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
