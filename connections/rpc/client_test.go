package rpc

import (
	"errors"
	"testing"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord/rpcsim"
)

func TestSetAndClearActivityWithoutAuth(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			sim := newSim(t)
			c, _, r := dial(t, tr, sim)
			if r.User.ID != rpcsim.UserID || r.V != 1 || r.Config.Environment != "production" {
				t.Fatalf("READY = %+v", r.ReadyData)
			}
			a := Activity{State: "In a match", Details: "Ranked", Timestamps: &Timestamps{Start: 1700000000},
				Assets: &Assets{LargeImage: "map"}, Party: &Party{ID: "p1", Size: &[2]int{2, 4}},
				Buttons: []Button{{Label: "Watch", URL: "https://example.com"}}}
			if err := c.SetActivity(ctx(t), a); err != nil {
				t.Fatal(err)
			}
			got, pid, ok := sim.Activity()
			if !ok || pid != 4242 {
				t.Fatalf("sim activity set=%v pid=%d", ok, pid)
			}
			want := `{"state":"In a match","details":"Ranked","timestamps":{"start":1700000000},"assets":{"large_image":"map"},"party":{"id":"p1","size":[2,4]},"buttons":[{"label":"Watch","url":"https://example.com"}]}`
			if string(got) != want {
				t.Fatalf("activity on the wire\n got %s\nwant %s", got, want)
			}
			if err := c.ClearActivity(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if _, _, ok := sim.Activity(); ok {
				t.Fatal("activity still set after ClearActivity")
			}
		})
	}
}

func TestCommands(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			sim := newSim(t)
			c, _, _ := dial(t, tr, sim)

			// Everything but SET_ACTIVITY, AUTHORIZE and AUTHENTICATE needs a login.
			_, err := c.Guilds(ctx(t))
			wantCode(t, err, CodeInvalidPermissions)

			res, _, err := c.Login(ctx(t), LoginParams{Scopes: []string{"rpc", "identify"}, ClientSecret: rpcsim.DefaultClientSecret})
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			if res.User.ID != rpcsim.UserID || len(res.Scopes) != 2 || res.Application.ID.String() != rpcsim.DefaultClientID || res.Expires.IsZero() {
				t.Fatalf("AUTHENTICATE = %+v", res)
			}

			gs, err := c.Guilds(ctx(t))
			if err != nil || len(gs) != 1 || gs[0].ID != rpcsim.GuildID || gs[0].Name != "Cordage Sim" {
				t.Fatalf("Guilds = %+v, %v", gs, err)
			}
			g, err := c.Guild(ctx(t), rpcsim.GuildID)
			if err != nil || g.Name != "Cordage Sim" {
				t.Fatalf("Guild = %+v, %v", g, err)
			}
			_, err = c.Guild(ctx(t), 123)
			wantCode(t, err, CodeInvalidGuild)

			chs, err := c.Channels(ctx(t), rpcsim.GuildID)
			if err != nil || len(chs) != 2 || chs[1].ID != rpcsim.VoiceChannelID || chs[1].Type != ChannelGuildVoice {
				t.Fatalf("Channels = %+v, %v", chs, err)
			}
			_, err = c.Channels(ctx(t), 123)
			wantCode(t, err, CodeInvalidGuild)
			ch, err := c.Channel(ctx(t), rpcsim.TextChannelID)
			if err != nil || ch.Name != "general" || ch.Topic != "talk" || ch.GuildID != rpcsim.GuildID {
				t.Fatalf("Channel = %+v, %v", ch, err)
			}
			_, err = c.Channel(ctx(t), 123)
			wantCode(t, err, CodeInvalidChannel)

			// Voice: nobody selected, then select, then the force rule, then leave.
			sel, err := c.SelectedVoiceChannel(ctx(t))
			if err != nil || sel != nil {
				t.Fatalf("SelectedVoiceChannel before joining = %+v, %v", sel, err)
			}
			vc, err := c.SelectVoiceChannel(ctx(t), rpcsim.VoiceChannelID, false)
			if err != nil || vc.ID != rpcsim.VoiceChannelID || len(vc.VoiceStates) != 1 || vc.VoiceStates[0].User.ID != rpcsim.UserID {
				t.Fatalf("SelectVoiceChannel = %+v, %v", vc, err)
			}
			sel, err = c.SelectedVoiceChannel(ctx(t))
			if err != nil || sel == nil || sel.ID != rpcsim.VoiceChannelID || sel.Bitrate != 64000 {
				t.Fatalf("SelectedVoiceChannel = %+v, %v", sel, err)
			}
			const other events.Snowflake = 81000000000000009
			sim.AddChannel(rpcsim.Channel{ID: other, GuildID: rpcsim.GuildID, Name: "Other", Type: 2})
			_, err = c.SelectVoiceChannel(ctx(t), other, false)
			wantCode(t, err, CodeSelectVoiceForceRequired)
			if vc, err = c.SelectVoiceChannel(ctx(t), other, true); err != nil || vc.ID != other {
				t.Fatalf("forced SelectVoiceChannel = %+v, %v", vc, err)
			}
			if vc, err = c.SelectVoiceChannel(ctx(t), 0, false); err != nil || vc != nil {
				t.Fatalf("leaving voice = %+v, %v", vc, err)
			}
			_, err = c.SelectVoiceChannel(ctx(t), rpcsim.TextChannelID, false)
			wantCode(t, err, CodeInvalidChannel)

			// Subscriptions: an unknown event, a bad channel, then a good one and its removal.
			_, err = c.Do(ctx(t), Subscribe{Subscription{Event: "NOT_AN_EVENT", ChannelID: 1}})
			wantCode(t, err, CodeInvalidEvent)
			err = c.Subscribe(ctx(t), Subscription{Event: EventSpeakingStart, ChannelID: rpcsim.TextChannelID})
			wantCode(t, err, CodeInvalidChannel)
			sub := Subscription{Event: EventGuildStatus, GuildID: rpcsim.GuildID}
			if err := c.Subscribe(ctx(t), sub); err != nil {
				t.Fatal(err)
			}
			if got := c.Subscriptions(); len(got) != 1 || got[0] != sub {
				t.Fatalf("Subscriptions = %v", got)
			}
			if err := c.Unsubscribe(ctx(t), sub); err != nil {
				t.Fatal(err)
			}
			if got := c.Subscriptions(); len(got) != 0 {
				t.Fatalf("Subscriptions after Unsubscribe = %v", got)
			}
			if n := sim.EmitGuildStatus(rpcsim.GuildID); n != 0 {
				t.Fatalf("GUILD_STATUS reached %d connections after UNSUBSCRIBE", n)
			}
		})
	}
}

func TestArgumentsCheckedBeforeSending(t *testing.T) {
	sim := newSim(t)
	c, _, _ := dial(t, Websocket, sim)
	before := len(sim.Commands())
	cases := []Command{
		Subscribe{Subscription{Event: EventVoiceStateCreate}},
		Subscribe{Subscription{Event: EventGuildStatus}},
		Subscribe{Subscription{Event: EventReady}},
		Authorize{},
		Authenticate{},
		GetGuild{},
		GetChannel{},
		GetChannels{},
		SetActivity{Activity: &Activity{Buttons: make([]Button, 3)}},
		SetActivity{Activity: &Activity{State: string(make([]byte, 129))}},
		SetActivity{Activity: &Activity{Party: &Party{Size: &[2]int{5, 4}}}},
	}
	for _, cmd := range cases {
		if _, err := c.Do(ctx(t), cmd); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%T: err = %v, want ErrInvalidArgument", cmd, err)
		}
	}
	if after := len(sim.Commands()); after != before {
		t.Fatalf("%d invalid commands reached the app", after-before)
	}
}
