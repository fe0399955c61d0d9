package voice_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cordage/cordage/events/voice"
)

// A client identifies with DAVE support and reads what the server says back.
func Example() {
	msg, _ := voice.Encode(voice.OpIdentify, voice.Identify{
		ServerID: 41771983423143937, UserID: 104694319306248192, SessionID: "s",
		Token: "secret", MaxDAVEProtocolVersion: voice.DAVEProtocolVersion,
	})
	fmt.Println(len(msg) > 0)

	var env voice.Envelope
	_ = json.Unmarshal([]byte(`{"op":8,"d":{"v":8,"heartbeat_interval":13750}}`), &env)
	var hello voice.Hello
	_ = env.Decode(&hello)
	fmt.Println(env.Op, hello.HeartbeatInterval)

	// Binary DAVE messages from the server carry a seq, then the opcode.
	bin, err := voice.ParseServerBinary([]byte{0x00, 0x07, 29, 0x00, 0x01, 0xAA})
	if err == nil {
		t, _ := voice.ParseTransition(bin.Payload)
		fmt.Println(bin.Seq, bin.Op, t.TransitionID, len(t.Data))
	}
	// Output:
	// true
	// Hello 13750
	// 7 DAVEMLSAnnounceCommit 1 1
}

// What a client does after a close code, and the typed error it stops with.
func ExampleCloseCode_Policy() {
	for _, c := range []voice.CloseCode{4006, 4014, 4015, 4017} {
		fmt.Println(c, "->", c.Policy())
	}
	err := error(&voice.CloseError{Code: voice.CloseDAVERequired})
	fmt.Println(errors.Is(err, voice.ErrDAVERequired), errors.Is(err, voice.ErrClosedFatal))
	// Output:
	// 4006 Session no longer valid -> new-session
	// 4014 Disconnected -> wait-server-update
	// 4015 Voice server crashed -> resume
	// 4017 E2EE/DAVE protocol required -> fatal
	// true true
}
