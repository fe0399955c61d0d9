package mls

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestSplitMLSMessagesAndProposalRef(t *testing.T) {
	key, _ := GenerateSignatureKey()
	ext, _ := NewSigner(key)
	mkey, _ := GenerateSignatureKey()
	member, _ := NewSigner(mkey)
	own, err := NewKeyPackage(member, binary.BigEndian.AppendUint64(nil, 1))
	if err != nil {
		t.Fatal(err)
	}
	groupID := binary.BigEndian.AppendUint64(nil, 99)
	g, err := NewGroup(groupID, own, ExternalSendersExtension(ExternalSender{SignatureKey: ext.PublicKey(), Credential: Credential{Type: CredentialTypeBasic, Identity: []byte("gw")}}))
	if err != nil {
		t.Fatal(err)
	}
	var run [][]byte
	for id := uint64(2); id <= 3; id++ {
		k, _ := GenerateSignatureKey()
		s, _ := NewSigner(k)
		kp, err := NewKeyPackage(s, binary.BigEndian.AppendUint64(nil, id))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := ExternalProposal(ext, 0, groupID, 0, &Proposal{Type: ProposalTypeAdd, Add: kp.KeyPackage})
		if err != nil {
			t.Fatal(err)
		}
		run = append(run, msg)
	}
	body := bytes.Join(run, nil)
	parts, err := SplitMLSMessages(body)
	if err != nil || len(parts) != 2 || !bytes.Equal(parts[0], run[0]) || !bytes.Equal(parts[1], run[1]) {
		t.Fatalf("split: %d parts, %v", len(parts), err)
	}
	for _, p := range parts {
		rp, err := g.ReceiveProposal(p)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := ProposalRef(p)
		if err != nil || !bytes.Equal(ref, rp.Ref) {
			t.Fatalf("ProposalRef differs from the group's: %v", err)
		}
	}
	// A commit followed by a welcome: ReadMLSMessage finds where the welcome starts.
	res, err := g.Commit()
	if err != nil {
		t.Fatal(err)
	}
	both := append(append([]byte(nil), res.Commit...), res.Welcome...)
	m, n, err := ReadMLSMessage(both)
	if err != nil || m.Public == nil || n != len(res.Commit) {
		t.Fatalf("read commit: n=%d of %d, %v", n, len(res.Commit), err)
	}
	if _, err := DecodeWelcome(both[n:]); err != nil {
		t.Fatal(err)
	}
	if _, err := ProposalRef(res.Commit); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("ProposalRef of a commit: %v", err)
	}
	// Truncation in the second message reports an offset inside it.
	_, err = SplitMLSMessages(body[:len(body)-3])
	var de *DecodeError
	if !errors.As(err, &de) || de.Offset < len(run[0]) {
		t.Fatalf("truncated run: %v", err)
	}
}
