package main

import (
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/voice"
)

// voiceBot is the smallest bot that reaches a voice call: a main-gateway connection that
// identified with the voice-states intent, and the voice websocket it dialled from
// VOICE_SERVER_UPDATE.
type voiceBot struct {
	t       *testing.T
	gw      *websocket.Conn
	vc      *websocket.Conn
	udp     *net.UDPConn
	guild   events.Snowflake
	channel events.Snowflake
	user    events.Snowflake
}

func (b *voiceBot) readDispatch(name string) events.Envelope {
	b.t.Helper()
	for {
		var e events.Envelope
		if err := b.gw.ReadJSON(&e); err != nil {
			b.t.Fatalf("waiting for %s: %v", name, err)
		}
		if e.T == name {
			return e
		}
	}
}

// await returns the next JSON voice message with op, skipping the others (binary DAVE messages,
// undocumented ops); it fails the test if the connection ends first.
func (b *voiceBot) await(op voice.Op) voice.Envelope {
	b.t.Helper()
	for {
		typ, data, err := b.vc.ReadMessage()
		if err != nil {
			b.t.Fatalf("waiting for voice op %s: %v", op, err)
		}
		if typ != websocket.TextMessage {
			continue
		}
		var env voice.Envelope
		if err := json.Unmarshal(data, &env); err != nil {
			b.t.Fatalf("voice message %q: %v", data, err)
		}
		if env.Op == op {
			return env
		}
	}
}

// closeCode reads until the voice connection ends and returns its close code.
func (b *voiceBot) closeCode() int {
	b.t.Helper()
	for {
		if _, _, err := b.vc.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			return 0
		}
	}
}

func (b *voiceBot) sendVoice(op voice.Op, d any) {
	b.t.Helper()
	msg, err := voice.Encode(op, d)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := b.vc.WriteMessage(websocket.TextMessage, msg); err != nil {
		b.t.Fatal(err)
	}
}

// joinVoice connects a bot to the program's gateway, joins a voice channel with op 4 and goes
// through the voice handshake up to Session Description (DAVE offered).
func joinVoice(t *testing.T, info Info) *voiceBot {
	t.Helper()
	b := &voiceBot{t: t}
	gw, res, err := websocket.DefaultDialer.Dial(info.GatewayURL+"?v=10&encoding=json", nil)
	if err != nil {
		t.Fatalf("dial gateway: %v", err)
	}
	res.Body.Close()
	b.gw = gw
	t.Cleanup(func() { gw.Close() })
	_ = gw.SetReadDeadline(time.Now().Add(testTimeout))
	_ = gw.WriteJSON(map[string]any{"op": 2, "d": map[string]any{
		"token": info.Token, "intents": events.IntentGuilds | events.IntentGuildVoiceStates,
		"properties": map[string]string{"os": "linux", "browser": "test", "device": "test"},
	}})
	var ready struct {
		User struct {
			ID events.Snowflake `json:"id"`
		} `json:"user"`
		Guilds []struct {
			ID events.Snowflake `json:"id"`
		} `json:"guilds"`
	}
	if err := b.readDispatch("READY").Decode(&ready); err != nil || len(ready.Guilds) == 0 {
		t.Fatalf("READY %+v %v", ready, err)
	}
	b.guild, b.user = ready.Guilds[0].ID, ready.User.ID
	b.channel = b.guild + 77
	_ = gw.WriteJSON(map[string]any{"op": 4, "d": map[string]any{
		"guild_id": b.guild, "channel_id": b.channel, "self_mute": false, "self_deaf": false}})
	var state events.VoiceState
	if err := b.readDispatch("VOICE_STATE_UPDATE").Decode(&state); err != nil {
		t.Fatal(err)
	}
	var server events.VoiceServerUpdate
	if err := b.readDispatch("VOICE_SERVER_UPDATE").Decode(&server); err != nil {
		t.Fatal(err)
	}
	if server.Endpoint == nil || *server.Endpoint != info.VoiceEndpoint || server.Token == "" {
		t.Fatalf("VOICE_SERVER_UPDATE %+v, want endpoint %s", server, info.VoiceEndpoint)
	}

	vc, res, err := websocket.DefaultDialer.Dial("ws://"+*server.Endpoint+"/?v=8", nil)
	if err != nil {
		t.Fatalf("dial voice: %v", err)
	}
	res.Body.Close()
	b.vc = vc
	t.Cleanup(func() { vc.Close() })
	_ = vc.SetReadDeadline(time.Now().Add(testTimeout))
	b.await(voice.OpHello)
	b.sendVoice(voice.OpIdentify, voice.Identify{ServerID: b.guild, UserID: b.user, SessionID: state.SessionID,
		Token: voice.Token(server.Token), MaxDAVEProtocolVersion: 1})
	var vr voice.Ready
	if err := b.await(voice.OpReady).Decode(&vr); err != nil {
		t.Fatal(err)
	}
	// The address Select Protocol names must parse; the bot never sends media here, so no
	// IP discovery is needed.
	b.udp, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.udp.Close() })
	port := uint16(b.udp.LocalAddr().(*net.UDPAddr).Port)
	b.sendVoice(voice.OpSelectProtocol, voice.SelectProtocol{Protocol: "udp",
		Data: voice.SelectProtocolData{Address: "127.0.0.1", Port: port, Mode: vr.Modes[0]}})
	var desc voice.SessionDescription
	if err := b.await(voice.OpSessionDescription).Decode(&desc); err != nil || desc.DAVEProtocolVersion != 1 {
		t.Fatalf("session description %+v %v", desc, err)
	}
	return b
}

// TestRunVoice drives a bot's voice session through the program's voice control API: ledger,
// a DAVE downgrade and upgrade, UDP loss, a close with a chosen code, wait.
func TestRunVoice(t *testing.T) {
	lines, stop := startRun(t, "-json", "-rest=false")
	var info Info
	if err := json.Unmarshal([]byte(lines[0]), &info); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.VoiceURL, "ws://127.0.0.1:") || info.VoiceURL != "ws://"+info.VoiceEndpoint ||
		info.VoiceControlURL != info.ControlURL+"/voice" {
		t.Fatalf("voice info %+v", info)
	}
	b := joinVoice(t, info)
	ctl := info.VoiceControlURL

	// Decoded from the JSON names alone, as a bot in another language would.
	var ledger struct {
		Sessions []struct {
			UserID      events.Snowflake `json:"user_id"`
			ChannelID   events.Snowflake `json:"channel_id"`
			DAVEVersion int              `json:"dave_version"`
			Ended       string           `json:"ended"`
		} `json:"sessions"`
		Calls []struct {
			ChannelID events.Snowflake `json:"channel_id"`
			DAVE      *struct {
				ProtocolVersion int `json:"protocol_version"`
			} `json:"dave"`
		} `json:"calls"`
	}
	if code := get(t, ctl+"/ledger", "", &ledger); code != 200 || len(ledger.Sessions) != 1 || len(ledger.Calls) != 1 {
		t.Fatalf("voice ledger: %d %+v", code, ledger)
	}
	if s := ledger.Sessions[0]; s.UserID != b.user || s.ChannelID != b.channel || s.DAVEVersion != 1 || s.Ended != "" {
		t.Fatalf("voice session %+v", s)
	}
	if c := ledger.Calls[0]; c.ChannelID != b.channel || c.DAVE == nil || c.DAVE.ProtocolVersion != 1 {
		t.Fatalf("voice call %+v", c)
	}

	ch := `"channel_id":"` + b.channel.String() + `"`
	if code, body := post(t, ctl+"/dave/version", "", `{`+ch+`,"version":0}`); code != 200 {
		t.Fatalf("downgrade: %d %s", code, body)
	}
	var pt voice.DAVEPrepareTransition
	if err := b.await(voice.OpDAVEPrepareTransition).Decode(&pt); err != nil || pt.ProtocolVersion != 0 {
		t.Fatalf("prepare transition %+v %v", pt, err)
	}
	b.sendVoice(voice.OpDAVEReadyForTransition, voice.DAVEReadyForTransition{TransitionID: pt.TransitionID})
	b.await(voice.OpDAVEExecuteTransition)
	if code, body := post(t, ctl+"/dave/version", "", `{`+ch+`,"version":1}`); code != 200 {
		t.Fatalf("upgrade: %d %s", code, body)
	}
	var pe voice.DAVEPrepareEpoch
	if err := b.await(voice.OpDAVEPrepareEpoch).Decode(&pe); err != nil || pe.Epoch != 1 || pe.ProtocolVersion != 1 {
		t.Fatalf("prepare epoch %+v %v", pe, err)
	}

	user := `"user_id":"` + b.user.String() + `"`
	if code, body := post(t, ctl+"/faults/udp-loss", "", `{`+user+`,"p":0.5}`); code != 200 {
		t.Fatalf("udp-loss: %d %s", code, body)
	}
	if code, body := post(t, ctl+"/faults/close", "", `{`+user+`,"code":4015}`); code != 200 {
		t.Fatalf("close: %d %s", code, body)
	}
	if code := b.closeCode(); code != 4015 {
		t.Fatalf("voice connection closed with %d, want 4015", code)
	}
	if code, body := post(t, ctl+"/wait", "", `{"closes":1,"timeout":"5s"}`); code != 200 || !strings.Contains(body, `"closes":1`) {
		t.Fatalf("wait: %d %s", code, body)
	}
	if code, body := post(t, ctl+"/faults/close", "", `{`+user+`,"code":4015}`); code != 409 {
		t.Fatalf("close without a connection: %d %s", code, body)
	}
	if err, _ := stop(); err != nil {
		t.Errorf("run returned %v", err)
	}
}

func TestRunWithoutVoice(t *testing.T) {
	lines, stop := startRun(t, "-voice=false")
	for _, l := range lines {
		if strings.HasPrefix(l, "VOICE_") {
			t.Errorf("-voice=false printed %q", l)
		}
	}
	kv := map[string]string{}
	for _, l := range lines[:len(lines)-1] {
		k, v, _ := strings.Cut(l, "=")
		kv[k] = v
	}
	if code := get(t, kv["CONTROL_URL"]+"/voice/ledger", "", nil); code != 404 {
		t.Errorf("GET /voice/ledger with -voice=false: %d, want 404", code)
	}
	if err, _ := stop(); err != nil {
		t.Errorf("run returned %v", err)
	}
}

func TestRunVoiceLines(t *testing.T) {
	lines, stop := startRun(t, "-voice-dave", "0")
	kv := map[string]string{}
	var keys []string
	for _, l := range lines[:len(lines)-1] {
		k, v, _ := strings.Cut(l, "=")
		kv[k] = v
		keys = append(keys, k)
	}
	// The voice lines come after the gateway's, in this order.
	if got := strings.Join(keys, ","); got != "REST_URL,GATEWAY_URL,RESUME_URL,CONTROL_URL,TOKEN,SHARDS,VOICE_URL,VOICE_ENDPOINT,VOICE_CONTROL_URL" {
		t.Errorf("keys %s", got)
	}
	if kv["VOICE_URL"] != "ws://"+kv["VOICE_ENDPOINT"] || kv["VOICE_CONTROL_URL"] != kv["CONTROL_URL"]+"/voice" {
		t.Errorf("voice lines %q", lines)
	}
	var index struct{ Routes []string }
	if code := get(t, kv["VOICE_CONTROL_URL"]+"/", "", &index); code != 200 || len(index.Routes) == 0 {
		t.Errorf("voice control index: %d %+v", code, index)
	}
	// With -voice-dave 0 there is no DAVE version to upgrade to.
	if code, body := post(t, kv["VOICE_CONTROL_URL"]+"/dave/version", "", `{"channel_id":"1","version":1}`); code != 400 || !strings.Contains(body, "0 (downgrade) to 0") {
		t.Errorf("dave version 1 on a server without DAVE: %d %s", code, body)
	}
	if err, _ := stop(); err != nil {
		t.Errorf("run returned %v", err)
	}
}
