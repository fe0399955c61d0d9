package voicesim

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/voice"
	"github.com/cordage/cordage/test/fakediscord"
)

// TestGatewayOp4JoinsThisServer: op 4 on the main gateway simulator, wired with
// fakediscord.WithVoiceServer, yields VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE whose token and
// endpoint open a voice session here; op 4 with a null channel ends it with 4014.
func TestGatewayOp4JoinsThisServer(t *testing.T) {
	vs := newServer(t)
	gw := fakediscord.NewTest(t, fakediscord.WithGuilds(1), fakediscord.WithVoiceServer(vs))
	guild := gw.Guilds()[0]
	channel := guild + 77

	ws, resp, err := websocket.DefaultDialer.Dial(gw.GatewayURL()+"?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(waitWall))
	var env events.Envelope
	if err := ws.ReadJSON(&env); err != nil || env.Op != events.OpHello {
		t.Fatalf("hello %+v %v", env, err)
	}
	_ = ws.WriteJSON(map[string]any{"op": 2, "d": map[string]any{
		"token": gw.Token(), "intents": events.IntentGuilds | events.IntentGuildVoiceStates,
		"properties": map[string]string{"os": "linux", "browser": "voicesim", "device": "voicesim"},
	}})
	readDispatch := func(name string) events.Envelope {
		t.Helper()
		for {
			var e events.Envelope
			if err := ws.ReadJSON(&e); err != nil {
				t.Fatalf("waiting for %s: %v", name, err)
			}
			if e.T == name {
				return e
			}
		}
	}
	readDispatch("READY")
	send := func(ch any) {
		_ = ws.WriteJSON(map[string]any{"op": 4, "d": map[string]any{
			"guild_id": guild, "channel_id": ch, "self_mute": false, "self_deaf": false}})
	}
	send(channel)
	var state events.VoiceState
	if err := readDispatch("VOICE_STATE_UPDATE").Decode(&state); err != nil {
		t.Fatal(err)
	}
	var server events.VoiceServerUpdate
	if err := readDispatch("VOICE_SERVER_UPDATE").Decode(&server); err != nil {
		t.Fatal(err)
	}
	bot := gw.BotUser().ID
	if state.UserID != bot || state.ChannelID == nil || *state.ChannelID != channel || state.SessionID == "" {
		t.Fatalf("voice state %+v", state)
	}
	if server.Endpoint == nil || *server.Endpoint != vs.Endpoint() || server.GuildID != guild || server.Token == "" {
		t.Fatalf("voice server update %+v, want endpoint %s", server, vs.Endpoint())
	}

	c := &testClient{t: t, srv: vs, guild: guild, user: bot, sessID: state.SessionID, token: server.Token, lastSeq: -1}
	c.dial()
	t.Cleanup(c.closeAll)
	c.join(1, voice.ModeAES256GCMRTPSize)
	if c.desc.DAVEProtocolVersion != 1 {
		t.Fatalf("dave version %d", c.desc.DAVEProtocolVersion)
	}
	r, _ := vs.Ledger().Session(bot)
	if r.GuildID != guild || r.ChannelID != channel {
		t.Fatalf("session %+v", r)
	}

	send(nil) // leave
	if code := c.expectClose(); code != 4014 {
		t.Fatalf("leave closed the voice connection with %d, want 4014", code)
	}
}
