package voice

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections/voice/rtp"
	vgw "github.com/cordage/cordage/events/voice"
)

// FuzzDatagram feeds the UDP reader arbitrary datagrams: whatever arrives, it delivers,
// holds, counts or drops, and never panics.
func FuzzDatagram(f *testing.F) {
	se, _ := rtp.NewSealer(vgw.ModeAES256GCMRTPSize, testKey)
	f.Add(se.Seal(nil, &rtp.Header{PayloadType: rtp.PayloadTypeOpus, SSRC: 99}, benchFrame))
	f.Add(se.Seal(nil, &rtp.Header{PayloadType: rtp.PayloadTypeOpus, SSRC: 7}, []byte{1}))
	f.Add([]byte{0x80, 200, 0, 6, 0, 0, 0, 9})
	f.Add([]byte{0x90, 0x78, 0, 1, 0, 0, 0, 1, 0, 0, 0, 99, 0xBE, 0xDE, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, _ := newOfflineConn(t, clock.NewManual(testEpoch))
		c.ssrcs.set(99, testBot)
		c.setE2EE(nil)
		r := receiver{c: c, tr: c.transport(), plain: make([]byte, maxDatagram), dec: make([]byte, maxDatagram)}
		r.datagram(b)
		r.datagram(b)
		select {
		case p := <-c.packets:
			if p.UserID != testBot || len(p.Opus) > len(b) {
				t.Fatalf("packet %+v from %d bytes", p, len(b))
			}
		default:
		}
	})
}

// FuzzServerMessage feeds the session arbitrary websocket messages (JSON or binary) after the
// handshake: malformed ones are ignored or end the session with an error, never a panic. Ready
// is left out: it makes the client send UDP to the address inside.
func FuzzServerMessage(f *testing.F) {
	f.Add(false, []byte(`{"op":5,"d":{"speaking":1,"ssrc":7,"user_id":"12"},"seq":3}`))
	f.Add(false, []byte(`{"op":11,"d":{"user_ids":["1","2"]},"seq":4}`))
	f.Add(false, []byte(`{"op":13,"d":{"user_id":"1"}}`))
	f.Add(false, []byte(`{"op":8,"d":{"v":8,"heartbeat_interval":13750.5}}`))
	f.Add(false, []byte(`{"op":4,"d":{"mode":"aead_aes256_gcm_rtpsize","secret_key":[1,2,3]}}`))
	f.Add(false, []byte(`{"op":24,"d":{"protocol_version":1,"epoch":1,"transition_id":3}}`))
	f.Add(false, []byte(`{"op":12,"d":null}`))
	f.Add(true, vgw.AppendServerBinary(nil, 9, vgw.OpDAVEMLSExternalSender, []byte{0, 1, 2}))
	f.Add(true, []byte{0, 1, 30, 0, 5})
	f.Fuzz(func(t *testing.T, binary bool, b []byte) {
		var env struct {
			Op *vgw.Op `json:"op"`
		}
		if !binary && json.Unmarshal(b, &env) == nil && env.Op != nil && *env.Op == vgw.OpReady {
			t.Skip()
		}
		c, _ := newOfflineConn(t, clock.NewManual(testEpoch))
		d, err := c.newE2EE(uint64(testChannel))
		if err != nil {
			t.Fatal(err)
		}
		c.setE2EE(d)
		st := &sessionState{pol: newRetryPolicy(3), acked: true}
		defer func() {
			if st.hb != nil {
				st.hb.Stop()
			}
		}()
		_ = c.handleFrame(st, wsFrame{binary: binary, data: b})
	})
}

var testEpoch = time.Unix(1_700_000_000, 0)
