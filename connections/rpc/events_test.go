package rpc

import (
	"testing"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord/rpcsim"
)

func TestSubscriptionEvents(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			sim := newSim(t)
			c, out, _ := dial(t, tr, sim)
			login(t, c)
			vc, tc, g := rpcsim.VoiceChannelID, rpcsim.TextChannelID, rpcsim.GuildID
			if err := c.SubscribeVoice(ctx(t), vc); err != nil {
				t.Fatal(err)
			}
			for _, s := range []Subscription{
				{Event: EventVoiceChannelSelect},
				{Event: EventGuildStatus, GuildID: g},
				{Event: EventMessageCreate, ChannelID: tc},
			} {
				if err := c.Subscribe(ctx(t), s); err != nil {
					t.Fatal(err)
				}
			}
			nick := "Alice"
			alice := events.User{ID: 501, Username: "alice"}
			once := func(n int) {
				t.Helper()
				if n != 1 {
					t.Fatalf("dispatched to %d connections, want 1", n)
				}
			}

			once(sim.EmitVoiceStateCreate(vc, rpcsim.VoiceState{User: alice, Nick: nick, SelfMute: true}))
			join := next[*VoiceStateCreate](t, out)
			if join.User.ID != 501 || join.Name() != "Alice" || !join.VoiceState.VoiceState.SelfMute || join.Volume != 100 {
				t.Fatalf("VOICE_STATE_CREATE = %+v", join)
			}
			once(sim.EmitVoiceStateUpdate(vc, rpcsim.VoiceState{User: alice, Deaf: true}))
			if up := next[*VoiceStateUpdate](t, out); up.User.ID != 501 || !up.VoiceState.VoiceState.Deaf {
				t.Fatalf("VOICE_STATE_UPDATE = %+v", up)
			}
			once(sim.EmitSpeakingStart(vc, 501))
			if sp := next[*SpeakingStart](t, out); sp.UserID != 501 || sp.ChannelID != vc {
				t.Fatalf("SPEAKING_START = %+v", sp)
			}
			once(sim.EmitSpeakingStop(vc, 501))
			if sp := next[*SpeakingStop](t, out); sp.UserID != 501 {
				t.Fatalf("SPEAKING_STOP = %+v", sp)
			}
			once(sim.EmitVoiceStateDelete(vc, 501))
			if del := next[*VoiceStateDelete](t, out); del.User.ID != 501 {
				t.Fatalf("VOICE_STATE_DELETE = %+v", del)
			}
			once(sim.EmitVoiceChannelSelect(g, vc))
			if sel := next[*VoiceChannelSelect](t, out); sel.ChannelID != vc || sel.GuildID != g {
				t.Fatalf("VOICE_CHANNEL_SELECT = %+v", sel)
			}
			once(sim.EmitVoiceChannelSelect(0, 0))
			if sel := next[*VoiceChannelSelect](t, out); sel.ChannelID != 0 || sel.GuildID != 0 {
				t.Fatalf("VOICE_CHANNEL_SELECT (leave) = %+v", sel)
			}
			once(sim.EmitGuildStatus(g))
			if gs := next[*GuildStatus](t, out); gs.Guild.ID != g || gs.Guild.Name != "Cordage Sim" {
				t.Fatalf("GUILD_STATUS = %+v", gs)
			}
			once(sim.EmitMessageCreate(tc, rpcsim.Message{ID: 9, Author: alice, Content: "hi"}))
			if m := next[*MessageCreate](t, out); m.ChannelID != tc || m.Message.Content != "hi" || m.Message.Author.ID != 501 {
				t.Fatalf("MESSAGE_CREATE = %+v", m)
			}

			// A subscription to another channel does not see this one's events.
			if n := sim.EmitSpeakingStart(81000000000000077, 501); n != 0 {
				t.Fatalf("speaking in an unsubscribed channel reached %d connections", n)
			}
			// Selecting a voice channel through the client dispatches what the app would.
			if _, err := c.SelectVoiceChannel(ctx(t), vc, false); err != nil {
				t.Fatal(err)
			}
			if me := next[*VoiceStateCreate](t, out); me.User.ID != rpcsim.UserID {
				t.Fatalf("own join = %+v", me)
			}
			if sel := next[*VoiceChannelSelect](t, out); sel.ChannelID != vc {
				t.Fatalf("own select = %+v", sel)
			}
		})
	}
}

func TestUnknownAndUndecodableDispatches(t *testing.T) {
	p, err := decodePayload([]byte(`{"cmd":"DISPATCH","evt":"ACTIVITY_JOIN","data":{"secret":"s"},"nonce":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := decodeDispatch(p).(*UnknownEvent); !ok || u.Name != "ACTIVITY_JOIN" || string(u.Data) != `{"secret":"s"}` {
		t.Fatalf("unknown event = %#v", decodeDispatch(p))
	}
	p, _ = decodePayload([]byte(`{"cmd":"DISPATCH","evt":"SPEAKING_START","data":{"user_id":{}}}`))
	if _, ok := decodeDispatch(p).(*UnknownEvent); !ok {
		t.Fatalf("undecodable SPEAKING_START became %#v", decodeDispatch(p))
	}
	for _, bad := range []string{`[]`, `{}`, `{"cmd":""}`, `{"cmd":5}`, `nope`} {
		if _, err := decodePayload([]byte(bad)); err == nil {
			t.Errorf("decodePayload(%s) accepted it", bad)
		}
	}
}
