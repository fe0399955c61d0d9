package voice

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	vgw "github.com/cordage/cordage/events/voice"
)

// TestCloseCode closes an established session with each code and checks what the client does
// next: resume, identify again, rejoin through the gateway, wait for a server update, or stop
// with a typed error.
func TestCloseCode(t *testing.T) {
	codes := []vgw.CloseCode{vgw.CloseNormal, vgw.CloseGoingAway, vgw.CloseAbnormal}
	for _, info := range vgw.CloseCodes {
		codes = append(codes, info.Code)
	}
	for _, code := range codes {
		t.Run(fmt.Sprint(int(code)), func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.ServerUpdateWait = time.Second })
			c := h.join(t)
			awaitEvent[Connected](t, c, 5*time.Second)
			h.fv.await(vgw.OpIdentify, 5*time.Second)
			h.fv.closeWith(code)
			switch {
			case code.Policy() == vgw.PolicyResume:
				rs := h.fv.await(vgw.OpResume, 5*time.Second)
				if !bytes.Contains(rs.D, []byte(`"seq_ack":2`)) || !bytes.Contains(rs.D, []byte(`"session_id":"session-1"`)) {
					t.Fatalf("resume = %s", rs.D)
				}
				if ev := awaitEvent[Connected](t, c, 5*time.Second); !ev.Resumed {
					t.Fatal("not resumed")
				}
			case code == vgw.CloseAuthenticationFailed || code == vgw.CloseSessionInvalid:
				id := h.fv.await(vgw.OpIdentify, 5*time.Second)
				if !bytes.Contains(id.D, []byte(`"token":"token-2"`)) || h.gw.callCount() != 2 {
					t.Fatalf("rejoin: identify %s after %d gateway calls", id.D, h.gw.callCount())
				}
				awaitEvent[Connected](t, c, 5*time.Second)
			case code.Policy() == vgw.PolicyNewSession:
				id := h.fv.await(vgw.OpIdentify, 5*time.Second)
				if !bytes.Contains(id.D, []byte(`"token":"token-1"`)) || h.gw.callCount() != 1 {
					t.Fatalf("new session: identify %s after %d gateway calls", id.D, h.gw.callCount())
				}
				if ev := awaitEvent[Connected](t, c, 5*time.Second); ev.Resumed || ev.SSRC != 1002 {
					t.Fatalf("connected = %+v", ev)
				}
			case code == vgw.CloseDisconnected:
				// No new VOICE_SERVER_UPDATE within ServerUpdateWait: the connection ends.
				err := awaitDone(t, c, 5*time.Second)
				if !errors.Is(err, ErrDisconnected) {
					t.Fatalf("Err = %v, want ErrDisconnected", err)
				}
				if ids, res := h.fv.counts(); ids != 1 || res != 0 {
					t.Fatalf("reconnected after 4014: %d identifies, %d resumes", ids, res)
				}
			case code.Policy() == vgw.PolicyFatal:
				err := awaitDone(t, c, 5*time.Second)
				var ce *vgw.CloseError
				if !errors.As(err, &ce) || ce.Code != code || !errors.Is(err, vgw.ErrClosedFatal) {
					t.Fatalf("Err = %v, want fatal close %d", err, code)
				}
				if code == vgw.CloseDAVERequired && !errors.Is(err, vgw.ErrDAVERequired) {
					t.Fatal("4017 does not match ErrDAVERequired")
				}
				if ids, res := h.fv.counts(); ids != 1 || res != 0 {
					t.Fatalf("retried a fatal code: %d identifies, %d resumes", ids, res)
				}
			default:
				t.Fatalf("no expectation for %v", code)
			}
		})
	}
}

func TestDisconnectedThenMoved(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ServerUpdateWait = time.Hour })
	c := h.join(t)
	awaitEvent[Connected](t, c, 5*time.Second)
	h.fv.closeWith(vgw.CloseDisconnected)
	if ev := awaitEvent[Reconnecting](t, c, 5*time.Second); ev.Action != "wait for server update" {
		t.Fatalf("reconnecting = %+v", ev)
	}
	ep := h.fv.Endpoint()
	serverUpdate(h.m, testGuild, "token-after-move", &ep)
	id := h.fv.await(vgw.OpIdentify, 5*time.Second)
	id = h.fv.await(vgw.OpIdentify, 5*time.Second)
	if !bytes.Contains(id.D, []byte("token-after-move")) {
		t.Fatalf("identify = %s", id.D)
	}
	awaitEvent[Connected](t, c, 5*time.Second)
}

func TestRetryCapPerCode(t *testing.T) {
	h := newHarness(t, nil)
	// 4001 points at our own bug: one new session, then stop.
	h.fv.onIdentify = func(n int) vgw.CloseCode {
		if n >= 2 {
			return vgw.CloseUnknownOpcode
		}
		return 0
	}
	c := h.join(t)
	awaitEvent[Connected](t, c, 5*time.Second)
	h.fv.closeWith(vgw.CloseUnknownOpcode)
	err := awaitDone(t, c, 5*time.Second)
	var re *RetryError
	var ce *vgw.CloseError
	if !errors.As(err, &re) || !errors.As(err, &ce) || ce.Code != vgw.CloseUnknownOpcode {
		t.Fatalf("Err = %v", err)
	}
	if ids, _ := h.fv.counts(); ids != 2 {
		t.Fatalf("%d identifies, want 2", ids)
	}
}

func TestRetryCapGeneral(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxRetries = 3 })
	h.fv.onIdentify = func(n int) vgw.CloseCode {
		if n >= 2 {
			return vgw.CloseSessionTimeout
		}
		return 0
	}
	c := h.join(t)
	awaitEvent[Connected](t, c, 5*time.Second)
	h.fv.closeWith(vgw.CloseSessionTimeout)
	err := awaitDone(t, c, 5*time.Second)
	var re *RetryError
	if !errors.As(err, &re) || re.Attempts != 4 {
		t.Fatalf("Err = %v", err)
	}
	if ids, _ := h.fv.counts(); ids != 4 {
		t.Fatalf("%d identifies, want 4 (1 + 3 retries)", ids)
	}
}

func TestResumeReplaysMissedMessages(t *testing.T) {
	h := newHarness(t, nil)
	c := h.join(t)
	awaitEvent[Connected](t, c, 5*time.Second)
	// seq 3 is "lost" with the dying connection; the resume must bring it back.
	h.fv.push(vgw.OpSpeaking, vgw.Speaking{Speaking: 1, SSRC: 77, UserID: 777}, false)
	h.fv.closeWith(vgw.CloseServerCrashed)
	rs := h.fv.await(vgw.OpResume, 5*time.Second)
	if !bytes.Contains(rs.D, []byte(`"seq_ack":2`)) || !bytes.Contains(rs.D, []byte(`"token":"token-1"`)) {
		t.Fatalf("resume = %s", rs.D)
	}
	ev := awaitEvent[SpeakingUpdate](t, c, 5*time.Second)
	if ev.UserID != 777 || ev.SSRC != 77 {
		t.Fatalf("replayed speaking = %+v", ev)
	}
	// The transport survives a resume: audio still flows on the same SSRC.
	sendAndCheck(t, h, c, 2)
}

func TestHeartbeatCarriesSeqAck(t *testing.T) {
	h := newHarness(t, nil)
	c := h.join(t)
	awaitEvent[Connected](t, c, 5*time.Second)
	h.fv.push(vgw.OpSpeaking, vgw.Speaking{Speaking: 1, SSRC: 5, UserID: 6}, true) // seq 3
	h.fv.pushBinary(vgw.OpDAVEMLSExternalSender, []byte{0})                        // seq 4, binary
	awaitEvent[SpeakingUpdate](t, c, 5*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		hb := h.fv.await(vgw.OpHeartbeat, 5*time.Second)
		if bytes.Contains(hb.D, []byte(`"seq_ack":4`)) {
			return
		}
	}
	t.Fatal("no heartbeat acknowledged the binary message's seq 4")
}

func TestHeartbeatTimeoutResumes(t *testing.T) {
	h := newHarness(t, nil)
	c := h.join(t)
	awaitEvent[Connected](t, c, 5*time.Second)
	h.fv.noAck.Store(true)
	ev := awaitEvent[Reconnecting](t, c, 5*time.Second)
	if !errors.Is(ev.Err, ErrHeartbeatTimeout) || ev.Action != "resume" {
		t.Fatalf("reconnecting = %+v", ev)
	}
	h.fv.noAck.Store(false)
	h.fv.await(vgw.OpResume, 5*time.Second)
	if ev := awaitEvent[Connected](t, c, 5*time.Second); !ev.Resumed {
		t.Fatal("not resumed")
	}
}

func TestIgnoresUndocumentedAndMalformed(t *testing.T) {
	h := newHarness(t, nil)
	c := h.join(t)
	awaitEvent[Connected](t, c, 5*time.Second)
	for _, m := range []string{
		`{"op":12,"d":{"video_ssrc":0}}`, `{"op":14,"d":{}}`, `{"op":15,"d":{"any":100}}`,
		`{"op":16,"d":{"voice":"1"}}`, `{"op":18,"d":{"flags":2}}`, `{"op":20,"d":{"platform":0}}`,
		`{"op":99,"d":null}`, `not json`, `{"d":{}}`, `{"op":5,"d":"nonsense"}`,
	} {
		h.fv.raw(m)
	}
	h.fv.pushBinary(99, []byte{1, 2}) // not a server binary op
	h.fv.push(vgw.OpSpeaking, vgw.Speaking{Speaking: 1, SSRC: 5, UserID: 6}, true)
	if ev := awaitEvent[SpeakingUpdate](t, c, 5*time.Second); ev.UserID != 6 {
		t.Fatalf("speaking = %+v", ev)
	}
	if ids, res := h.fv.counts(); ids != 1 || res != 0 || c.Err() != nil {
		t.Fatalf("connection disturbed: %d identifies, %d resumes, err %v", ids, res, c.Err())
	}
}

func TestDiscoveryTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.DiscoveryTimeout, c.DiscoveryAttempts, c.MaxRetries = 200*time.Millisecond, 3, 1
	})
	h.fv.noDiscovery.Store(true)
	_, err := h.m.Join(h.ctx, JoinConfig{GuildID: testGuild, ChannelID: testChannel})
	if !errors.Is(err, ErrDiscoveryTimeout) {
		t.Fatalf("Join = %v, want ErrDiscoveryTimeout", err)
	}
}

// TestRedaction runs a connection through identify, resume, rejoin and a fatal close with a
// debug logger and checks that neither the voice token nor the transport key shows up in a log
// line or in the final error.
func TestRedaction(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	const token = "SECRET-VOICE-TOKEN-9f8e7d"
	h := newHarness(t, func(c *Config) { c.Logger = zap.New(core) })
	h.gw.token = token
	c := h.join(t)
	awaitEvent[Connected](t, c, 5*time.Second)
	h.fv.closeWith(vgw.CloseServerCrashed)
	awaitEvent[Connected](t, c, 5*time.Second)
	h.fv.closeWith(vgw.CloseSessionInvalid)
	awaitEvent[Connected](t, c, 5*time.Second)
	h.fv.mu.Lock()
	key := h.fv.key
	h.fv.mu.Unlock()
	h.fv.closeWith(vgw.CloseDAVERequired)
	err := awaitDone(t, c, 5*time.Second)
	if err == nil {
		t.Fatal("no error after 4017")
	}
	var all strings.Builder
	fmt.Fprintf(&all, "%v\n%+v\n%#v\n", err, err, err)
	for _, e := range logs.All() {
		fmt.Fprintf(&all, "%s %v\n", e.Message, e.ContextMap())
	}
	if logs.Len() == 0 {
		t.Fatal("no log lines to check")
	}
	text := all.String()
	keyText := strings.Trim(fmt.Sprint(key[:]), "[]")
	if strings.Contains(text, token) || strings.Contains(text, keyText) {
		t.Fatalf("secret leaked:\n%s", text)
	}
}

func TestMalformedReadyIsTyped(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxRetries = 2 })
	h.fv.badReady.Store(true)
	_, err := h.m.Join(h.ctx, JoinConfig{GuildID: testGuild, ChannelID: testChannel})
	var me *vgw.MalformedError
	var re *RetryError
	if !errors.As(err, &re) || !errors.As(err, &me) || me.Decoder != "voice.Ready" || me.Offset <= 0 || !errors.Is(err, vgw.ErrMalformed) {
		t.Fatalf("Join = %v, want a RetryError around a MalformedError from voice.Ready", err)
	}
	if ids, _ := h.fv.counts(); ids != 3 {
		t.Fatalf("%d identifies, want 3 (1 + 2 retries)", ids)
	}
}

// TestRejoinStaysInMovedChannel: after a move (new channel, new token), a 4006 asks the gateway
// for the channel the bot is in now, not the one it first joined.
func TestRejoinStaysInMovedChannel(t *testing.T) {
	h := newHarness(t, nil)
	c := h.join(t)
	awaitEvent[Connected](t, c, 5*time.Second)
	moved := testChannel + 1
	h.m.Handle(dispatch("VOICE_STATE_UPDATE", map[string]any{
		"guild_id": testGuild, "channel_id": moved, "user_id": testBot, "session_id": "session-1",
	}))
	ep := h.fv.Endpoint()
	serverUpdate(h.m, testGuild, "token-moved", &ep)
	awaitEvent[Connected](t, c, 5*time.Second)
	h.fv.closeWith(vgw.CloseSessionInvalid)
	awaitEvent[Connected](t, c, 5*time.Second)
	h.gw.mu.Lock()
	defer h.gw.mu.Unlock()
	if last := h.gw.calls[len(h.gw.calls)-1]; last.ChannelID == nil || *last.ChannelID != moved {
		t.Fatalf("rejoin asked for %v, want the moved-to channel %d", last.ChannelID, moved)
	}
}

func TestDiscoveryRetries(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.DiscoveryTimeout, c.DiscoveryAttempts = 2*time.Second, 4 })
	h.fv.loseDisc.Store(3) // three requests lost, the fourth answered
	c := h.join(t)
	if ids, _ := h.fv.counts(); ids != 1 {
		t.Fatalf("%d identifies: discovery retries should not need a new session", ids)
	}
	sendAndCheck(t, h, c, 2)
}
