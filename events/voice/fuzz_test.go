package voice

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzServerBinary feeds any bytes to the server-side binary decoders: each gives a value or a
// *MalformedError, never a panic, and what decodes re-encodes to the same bytes.
func FuzzServerBinary(f *testing.F) {
	es, _ := ExternalSender{SignatureKey: bytes.Repeat([]byte{4}, 65), Identity: []byte{1, 2, 3, 4, 5, 6, 7, 8}}.AppendTo(nil)
	f.Add(AppendServerBinary(nil, 1, OpDAVEMLSExternalSender, es))
	rv, _ := Proposals{Op: ProposalsRevoke, Refs: [][]byte{{1, 2}, bytes.Repeat([]byte{3}, 32)}}.AppendTo(nil)
	f.Add(AppendServerBinary(nil, 2, OpDAVEMLSProposals, rv))
	ap, _ := Proposals{Op: ProposalsAppend, Messages: []byte{0, 1, 0, 1}}.AppendTo(nil)
	f.Add(AppendServerBinary(nil, 3, OpDAVEMLSProposals, ap))
	f.Add(AppendServerBinary(nil, 4, OpDAVEMLSAnnounceCommit, Transition{TransitionID: 9, Data: []byte{0, 1}}.AppendTo(nil)))
	f.Add(AppendServerBinary(nil, 5, OpDAVEMLSWelcome, Transition{TransitionID: 9, Data: []byte{0, 1}}.AppendTo(nil)))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseServerBinary(b)
		if err != nil {
			checkMalformed(t, err)
			return
		}
		if !bytes.Equal(AppendServerBinary(nil, m.Seq, m.Op, m.Payload), b) {
			t.Fatal("framing does not round-trip")
		}
		var re []byte
		switch m.Op {
		case OpDAVEMLSExternalSender:
			v, err := ParseExternalSender(m.Payload)
			if err != nil {
				checkMalformed(t, err)
				return
			}
			re, err = v.AppendTo(nil)
			if err != nil {
				t.Fatal(err)
			}
		case OpDAVEMLSProposals:
			v, err := ParseProposals(m.Payload)
			if err != nil {
				checkMalformed(t, err)
				return
			}
			re, err = v.AppendTo(nil)
			if err != nil {
				t.Fatal(err)
			}
		default:
			v, err := ParseTransition(m.Payload)
			if err != nil {
				checkMalformed(t, err)
				return
			}
			re = v.AppendTo(nil)
		}
		if !bytes.Equal(re, m.Payload) {
			t.Fatalf("payload does not round-trip:\n% x\n% x", m.Payload, re)
		}
	})
}

// FuzzClientBinary covers the simulator's side: client binary framing.
func FuzzClientBinary(f *testing.F) {
	f.Add([]byte{26, 0, 1, 0, 2})
	f.Add([]byte{28, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseClientBinary(b)
		if err != nil {
			checkMalformed(t, err)
			return
		}
		if !bytes.Equal(AppendClientBinary(nil, m.Op, m.Payload), b) {
			t.Fatal("does not round-trip")
		}
	})
}

func checkMalformed(t *testing.T, err error) {
	t.Helper()
	var me *MalformedError
	if !errors.As(err, &me) || me.Offset < 0 || me.Decoder == "" {
		t.Fatalf("untyped error %v", err)
	}
}
