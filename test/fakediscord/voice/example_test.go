package voicesim_test

import (
	"encoding/json"
	"fmt"

	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/events/voice"
	voicesim "github.com/cordage/cordage/test/fakediscord/voice"
)

// Example joins a call as user 10 with a token the test issues itself (the gateway simulator does
// it on op 4 when wired with fakediscord.WithVoiceServer), and reads Hello and Ready.
func Example() {
	srv, err := voicesim.New(voicesim.WithDAVE(0, false))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	token, endpoint := srv.IssueToken(1, 2, 10, "session-a")

	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+endpoint+"/?v=8", nil)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	defer ws.Close()
	var env voice.Envelope
	_ = ws.ReadJSON(&env)
	fmt.Println("first op:", env.Op)
	id, _ := voice.Encode(voice.OpIdentify, voice.Identify{ServerID: 1, UserID: 10, SessionID: "session-a",
		Token: voice.Token(token), MaxDAVEProtocolVersion: voice.DAVEProtocolVersion})
	_ = ws.WriteMessage(websocket.TextMessage, id)
	_, b, _ := ws.ReadMessage()
	_ = json.Unmarshal(b, &env)
	var ready voice.Ready
	_ = env.Decode(&ready)
	fmt.Println(env.Op, "seq", env.Seq, "modes", ready.Modes, "udp", ready.Port == srv.UDPAddr().Port())
	// Output:
	// first op: Hello
	// Ready seq 1 modes [aead_aes256_gcm_rtpsize aead_xchacha20_poly1305_rtpsize] udp true
}
