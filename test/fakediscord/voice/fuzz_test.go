package voicesim

import (
	"bytes"
	"testing"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/voice"
	"github.com/cordage/cordage/test/fakediscord/internal/outbox"
)

// FuzzClientMessages feeds arbitrary client messages to the websocket handlers of a detached
// connection (no socket): whatever arrives, the server answers or closes, and never panics.
// Input: messages separated by a 0xFF byte; a message starting with 'b' is binary (the rest is
// the frame), any other is text.
func FuzzClientMessages(f *testing.F) {
	id, _ := voice.Encode(voice.OpIdentify, voice.Identify{ServerID: 1, UserID: 10, SessionID: "s", Token: "voice.fuzz", MaxDAVEProtocolVersion: 1})
	sel, _ := voice.Encode(voice.OpSelectProtocol, voice.SelectProtocol{Protocol: "udp", Data: voice.SelectProtocolData{Address: "127.0.0.1", Port: 9, Mode: voice.ModeAES256GCMRTPSize}})
	hb, _ := voice.Encode(voice.OpHeartbeat, voice.Heartbeat{T: 1, SeqAck: 2})
	sp, _ := voice.Encode(voice.OpSpeaking, voice.Speaking{Speaking: 1})
	res, _ := voice.Encode(voice.OpResume, voice.Resume{ServerID: 1, SessionID: "s", Token: "voice.fuzz", SeqAck: 1})
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, []byte{0xFF}) }
	f.Add(join(id, sel, hb, sp))
	f.Add(join(id, sel, []byte("b\x1a\x00\x01"), []byte(`{"op":23,"d":{"transition_id":1}}`)))
	f.Add(join(res, hb))
	f.Add(join(id, []byte(`{"op":3,"d":"x"}`), []byte(`{"op":5,"d":{"speaking":1,"ssrc":1e99}}`)))
	f.Add(join([]byte("b\x1c"), id, []byte("b\x1c\x00\x01\x00\x02")))
	f.Add([]byte(`{"op":1}`))

	srv, err := New(WithDAVE(1, false))
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	f.Fuzz(func(t *testing.T, in []byte) {
		s := srv
		s.mu.Lock()
		defer s.mu.Unlock()
		s.grants = map[string]*grant{"voice.fuzz": {guild: 1, channel: 2, user: 10, sessionID: "s", token: "voice.fuzz"}}
		s.calls = map[events.Snowflake]*call{}
		s.bySSRC = map[uint32]*session{}
		s.ledger = Ledger{}
		c := &wsConn{s: s, out: outbox.New[outItem](nil), quit: make(chan struct{}), connIdx: -1, opened: s.clk.Now()}
		for _, msg := range bytes.Split(in, []byte{0xFF}) {
			if len(msg) > 0 && msg[0] == 'b' {
				s.handleBinaryLocked(c, msg[1:])
			} else {
				s.handleTextLocked(c, msg)
			}
		}
		if c.sess != nil {
			s.endSessionLocked(c.sess, "fuzz", 0)
		}
	})
}
