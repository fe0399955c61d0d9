package voice

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestServerBinaryRoundTrip(t *testing.T) {
	es := ExternalSender{SignatureKey: bytes.Repeat([]byte{4}, 65), Identity: []byte{0, 0, 0, 0, 0, 0, 0, 1}}
	p, err := es.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	// 65 needs the 2-byte varint form: 0x40 0x41, as on the wire.
	if !bytes.HasPrefix(p, []byte{0x40, 0x41, 4}) || !bytes.Equal(p[67:70], []byte{0, 1, 8}) {
		t.Fatalf("% x", p[:10])
	}
	msg := AppendServerBinary(nil, 0x1234, OpDAVEMLSExternalSender, p)
	got, err := ParseServerBinary(msg)
	if err != nil || got.Seq != 0x1234 || got.Op != OpDAVEMLSExternalSender {
		t.Fatal(got, err)
	}
	es2, err := ParseExternalSender(got.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(es, es2); diff != "" {
		t.Fatal(diff)
	}

	for _, pr := range []Proposals{
		{Op: ProposalsAppend, Messages: bytes.Repeat([]byte{9}, 300)},
		{Op: ProposalsRevoke, Refs: [][]byte{bytes.Repeat([]byte{1}, 32), {2, 3}}},
		{Op: ProposalsAppend, Messages: []byte{}},
	} {
		b, err := pr.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseProposals(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(pr, back); diff != "" {
			t.Fatal(diff)
		}
	}
	tr := Transition{TransitionID: 7, Data: []byte{1, 2, 3}}
	back, err := ParseTransition(tr.AppendTo(nil))
	if err != nil || back.TransitionID != 7 || !bytes.Equal(back.Data, tr.Data) {
		t.Fatal(back, err)
	}
	cm, err := ParseClientBinary(AppendClientBinary(nil, OpDAVEMLSCommitWelcome, AppendCommitWelcome(nil, []byte{1}, []byte{2})))
	if err != nil || cm.Op != OpDAVEMLSCommitWelcome || !bytes.Equal(cm.Payload, []byte{1, 2}) {
		t.Fatal(cm, err)
	}
}

func TestMalformedBinary(t *testing.T) {
	cases := []struct {
		name    string
		run     func() error
		decoder string
		offset  int
	}{
		{"short", func() error { _, err := ParseServerBinary([]byte{0, 1}); return err }, decServerBinary, 2},
		{"json op", func() error { _, err := ParseServerBinary([]byte{0, 1, 21}); return err }, decServerBinary, 2},
		{"client op from server", func() error { _, err := ParseServerBinary([]byte{0, 1, 26}); return err }, decServerBinary, 2},
		{"server op from client", func() error { _, err := ParseClientBinary([]byte{25}); return err }, decClientBinary, 0},
		{"empty client", func() error { _, err := ParseClientBinary(nil); return err }, decClientBinary, 0},
		{"reserved varint", func() error { _, err := ParseExternalSender([]byte{0xC0}); return err }, decExternalSender, 0},
		{"non-minimal varint", func() error { _, err := ParseExternalSender([]byte{0x40, 0x01, 0}); return err }, decExternalSender, 0},
		{"vector overruns", func() error { _, err := ParseExternalSender([]byte{5, 1, 2}); return err }, decExternalSender, 0},
		{"not basic", func() error { _, err := ParseExternalSender([]byte{1, 9, 0, 2, 0}); return err }, decExternalSender, 2},
		{"trailing", func() error { _, err := ParseExternalSender([]byte{1, 9, 0, 1, 1, 7, 0}); return err }, decExternalSender, 6},
		{"no proposals op", func() error { _, err := ParseProposals(nil); return err }, decProposals, 0},
		{"bad proposals op", func() error { _, err := ParseProposals([]byte{2, 0}); return err }, decProposals, 0},
		{"bad ref", func() error { _, err := ParseProposals([]byte{1, 3, 1, 5, 6}); return err }, decProposals, 4},
		{"transition short", func() error { _, err := ParseTransition([]byte{1}); return err }, decTransition, 1},
		{"transition empty", func() error { _, err := ParseTransition([]byte{1, 2}); return err }, decTransition, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			var me *MalformedError
			if !errors.As(err, &me) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v", err)
			}
			if me.Decoder != c.decoder || me.Offset != c.offset {
				t.Fatalf("got %s@%d, want %s@%d (%v)", me.Decoder, me.Offset, c.decoder, c.offset, err)
			}
		})
	}
}

func TestVarint(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 16383, 16384, maxVarint} {
		b := appendVarint(nil, n)
		v, off, err := readVarint("t", b, 0)
		if err != nil || int(v) != n || off != len(b) {
			t.Fatalf("%d: %d %d %v", n, v, off, err)
		}
	}
	if _, _, err := readVarint("t", []byte{0x80, 0, 0x3f, 0xff}, 0); err == nil {
		t.Fatal("accepted non-minimal 4-byte form")
	}
}
