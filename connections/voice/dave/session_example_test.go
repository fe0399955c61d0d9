package dave_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/cordage/cordage/connections/voice/dave"
	"github.com/cordage/cordage/connections/voice/mls"
	"github.com/cordage/cordage/events/voice"
)

// Two members form a DAVE group the way the voice gateway leads them, then exchange a frame.
// The gateway's part (external sender, proposal, announce, welcome, execute) is played here
// with the mls package; in a call the voice runtime feeds the gateway's messages to
// HandleBinary and HandleJSON and writes back what they return.
func ExampleSession() {
	const channel = 42
	gwKey, _ := mls.GenerateSignatureKey()
	gateway, _ := mls.NewSigner(gwKey)
	op25, _ := voice.ExternalSender{SignatureKey: gateway.PublicKey(), Identity: []byte("gateway")}.AppendTo(nil)

	alice, _ := dave.NewSession(dave.SessionConfig{UserID: 1, ChannelID: channel})
	bob, _ := dave.NewSession(dave.SessionConfig{UserID: 2, ChannelID: channel})
	bin := func(s *dave.Session, op voice.Op, payload []byte) []dave.Message {
		out, err := s.HandleBinary(voice.BinaryMessage{Op: op, Payload: payload})
		if err != nil {
			panic(err)
		}
		return out
	}
	for _, s := range []*dave.Session{alice, bob} {
		s.ClientsConnect([]uint64{1, 2}) // op 11
		bin(s, voice.OpDAVEMLSExternalSender, op25)
	}

	// Session description (op 4) with dave_protocol_version 1: each answers with a key package.
	_, _ = alice.SetProtocolVersion(1)
	out, _ := bob.SetProtocolVersion(1)
	fmt.Println("bob sends op", int(out[0].Op))

	// The gateway proposes adding bob to alice's group; alice commits, with a welcome for bob.
	kp, _ := mls.DecodeKeyPackage(out[0].Binary)
	groupID := binary.BigEndian.AppendUint64(nil, channel)
	proposal, _ := mls.ExternalProposal(gateway, 0, groupID, 0, &mls.Proposal{Type: mls.ProposalTypeAdd, Add: kp})
	op27, _ := voice.Proposals{Op: voice.ProposalsAppend, Messages: proposal}.AppendTo(nil)
	out = bin(alice, voice.OpDAVEMLSProposals, op27)
	fmt.Println("alice sends op", int(out[0].Op))
	_, n, _ := mls.ReadMLSMessage(out[0].Binary)
	commit, welcome := out[0].Binary[:n], out[0].Binary[n:]

	// The gateway announces the commit as transition 7 and welcomes bob; both say ready.
	out = bin(alice, voice.OpDAVEMLSAnnounceCommit, voice.Transition{TransitionID: 7, Data: commit}.AppendTo(nil))
	fmt.Println("alice sends op", int(out[0].Op))
	out = bin(bob, voice.OpDAVEMLSWelcome, voice.Transition{TransitionID: 7, Data: welcome}.AppendTo(nil))
	fmt.Println("bob sends op", int(out[0].Op))

	// Execute transition 7: senders switch to the new epoch.
	execute, _ := json.Marshal(voice.DAVEExecuteTransition{TransitionID: 7})
	_, _ = alice.HandleJSON(voice.OpDAVEExecuteTransition, execute)
	_, _ = bob.HandleJSON(voice.OpDAVEExecuteTransition, execute)

	frame, _ := alice.Encrypt(nil, []byte("opus"))
	opus, err := bob.Decrypt(1, nil, frame)
	fmt.Println(string(opus), err)
	fmt.Println("epoch", bob.Epoch(), "same privacy code:", alice.PrivacyCode() == bob.PrivacyCode())
	// Output:
	// bob sends op 26
	// alice sends op 28
	// alice sends op 23
	// bob sends op 23
	// opus <nil>
	// epoch 1 same privacy code: true
}
