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

// gatewayBot is a raw main-gateway client for the tests below.
type gatewayBot struct {
	t     *testing.T
	ws    *websocket.Conn
	guild events.Snowflake
}

func newGatewayBot(t *testing.T, vs *Server) (*gatewayBot, *fakediscord.Server) {
	gw := fakediscord.NewTest(t, fakediscord.WithGuilds(1), fakediscord.WithVoiceServer(vs))
	ws, resp, err := websocket.DefaultDialer.Dial(gw.GatewayURL()+"?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Cleanup(func() { ws.Close() })
	_ = ws.SetReadDeadline(time.Now().Add(waitWall))
	b := &gatewayBot{t: t, ws: ws, guild: gw.Guilds()[0]}
	_ = ws.WriteJSON(map[string]any{"op": 2, "d": map[string]any{
		"token": gw.Token(), "intents": events.IntentGuilds | events.IntentGuildVoiceStates,
		"properties": map[string]string{"os": "linux", "browser": "voicesim", "device": "voicesim"},
	}})
	b.next("READY")
	return b, gw
}

// next returns the next dispatch, which must be name (other dispatches before READY and
// GUILD_CREATEs are skipped).
func (b *gatewayBot) next(name string) events.Envelope {
	b.t.Helper()
	for {
		var e events.Envelope
		if err := b.ws.ReadJSON(&e); err != nil {
			b.t.Fatalf("waiting for %s: %v", name, err)
		}
		if e.T == "" || e.T == "GUILD_CREATE" || (name == "READY" && e.T != "READY") {
			continue
		}
		if e.T != name {
			b.t.Fatalf("got %s, want %s", e.T, name)
		}
		return e
	}
}

func (b *gatewayBot) join(channel events.Snowflake) {
	_ = b.ws.WriteJSON(map[string]any{"op": 4, "d": map[string]any{
		"guild_id": b.guild, "channel_id": channel, "self_mute": false, "self_deaf": false}})
}

func TestGatewayNullEndpointThenServer(t *testing.T) {
	vs := newServer(t)
	bot, gw := newGatewayBot(t, vs)
	vs.Faults().NullEndpoints(1)
	bot.join(bot.guild + 5)
	var state events.VoiceState
	_ = bot.next("VOICE_STATE_UPDATE").Decode(&state)
	var first, second events.VoiceServerUpdate
	_ = bot.next("VOICE_SERVER_UPDATE").Decode(&first)
	_ = bot.next("VOICE_SERVER_UPDATE").Decode(&second)
	if first.Endpoint != nil || second.Endpoint == nil || *second.Endpoint != vs.Endpoint() || first.Token == second.Token {
		t.Fatalf("server updates %+v then %+v", first, second)
	}
	// The token that came with the null endpoint is no longer good; the next one is.
	user := gw.BotUser().ID
	c := &testClient{t: t, srv: vs, guild: bot.guild, user: user, sessID: state.SessionID, token: first.Token, lastSeq: -1}
	c.dial()
	t.Cleanup(c.closeAll)
	c.identify(1)
	if code := c.expectClose(); code != 4004 {
		t.Fatalf("identify with the null-endpoint token closed with %d, want 4004", code)
	}
	c.close()
	c.token = second.Token
	c.dial()
	c.identify(1)
	c.expect(voice.OpReady)
}

func TestGatewayFullChannelSendsNothing(t *testing.T) {
	vs := newServer(t)
	bot, _ := newGatewayBot(t, vs)
	full := bot.guild + 5
	vs.Faults().FullChannel(full, true)
	bot.join(full)
	bot.join(bot.guild + 6) // answered in order: the first dispatch after the full channel's join is this one's
	var state events.VoiceState
	if err := bot.next("VOICE_STATE_UPDATE").Decode(&state); err != nil || *state.ChannelID != bot.guild+6 {
		t.Fatalf("voice state %+v %v", state, err)
	}
	bot.next("VOICE_SERVER_UPDATE")
	vs.Faults().FullChannel(full, false)
	bot.join(full)
	if err := bot.next("VOICE_STATE_UPDATE").Decode(&state); err != nil || *state.ChannelID != full {
		t.Fatalf("voice state %+v %v", state, err)
	}
}
