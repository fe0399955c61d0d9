package mls_test

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cordage/cordage/connections/voice/mls"
)

func newSigner() *mls.Signer {
	k, err := mls.GenerateSignatureKey()
	if err != nil {
		panic(err)
	}
	s, err := mls.NewSigner(k)
	if err != nil {
		panic(err)
	}
	return s
}

// A voice server (the external sender) adds Bob to Alice's group; Alice commits, Bob joins from
// the Welcome, and both derive the same DAVE sender key base and epoch authenticator.
func Example() {
	server := newSigner()
	ext := mls.ExternalSender{SignatureKey: server.PublicKey(), Credential: mls.Credential{Type: mls.CredentialTypeBasic, Identity: []byte("server")}}
	channel := binary.BigEndian.AppendUint64(nil, 1001)

	aliceKP, _ := mls.NewKeyPackage(newSigner(), binary.BigEndian.AppendUint64(nil, 1))
	alice, err := mls.NewGroup(channel, aliceKP, mls.ExternalSendersExtension(ext))
	if err != nil {
		panic(err)
	}

	bobKP, _ := mls.NewKeyPackage(newSigner(), binary.BigEndian.AppendUint64(nil, 2))
	proposal, _ := mls.ExternalProposal(server, 0, channel, alice.Epoch(), &mls.Proposal{Type: mls.ProposalTypeAdd, Add: bobKP.KeyPackage})
	if _, err := alice.ReceiveProposal(proposal); err != nil {
		panic(err)
	}
	res, err := alice.Commit()
	if err != nil {
		panic(err)
	}
	alice = res.Next // the server announced Alice's commit
	bob, err := mls.JoinWelcome(res.Welcome, bobKP)
	if err != nil {
		panic(err)
	}

	senderID := binary.LittleEndian.AppendUint64(nil, 1)
	a, _ := alice.Export("Discord Secure Frames v0", senderID, 16)
	b, _ := bob.Export("Discord Secure Frames v0", senderID, 16)
	fmt.Println("epoch:", bob.Epoch(), "members:", len(bob.Members()))
	fmt.Println("same sender key base:", bytes.Equal(a, b))
	fmt.Println("same epoch authenticator:", bytes.Equal(alice.EpochAuthenticator(), bob.EpochAuthenticator()))
	// Output:
	// epoch: 1 members: 2
	// same sender key base: true
	// same epoch authenticator: true
}
