package daveserver_test

import (
	"fmt"

	"github.com/cordage/cordage/events/voice"
	"github.com/cordage/cordage/test/fakediscord/voice/daveserver"
)

// A voice server creates one Server per call and sends what each event returns. Here two
// users join a DAVE call; each gets the external sender (op 25) and would answer with its key
// package (op 26, passed to HandleBinary).
func Example() {
	s, err := daveserver.New(daveserver.Config{ProtocolVersion: 1, ChannelID: 1234567890123456789})
	if err != nil {
		panic(err)
	}
	for _, user := range []uint64{1001, 1002} {
		for _, out := range s.Join(user, voice.DAVEProtocolVersion) {
			es, err := voice.ParseExternalSender(out.Binary)
			fmt.Println(out.Op, out.To, len(es.SignatureKey), err)
		}
	}
	fmt.Println("epoch", s.Epoch(), "members", s.Members())
	// Output:
	// DAVEMLSExternalSender [1001] 65 <nil>
	// DAVEMLSExternalSender [1002] 65 <nil>
	// epoch 0 members []
}
