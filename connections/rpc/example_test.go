package rpc_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cordage/cordage/connections/rpc"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord/rpcsim"
)

// ExampleClient sets a rich presence, then reports who joins, speaks in and leaves the voice
// channel the user is in. A simulated desktop app plays Discord so the example runs anywhere;
// against the real app, drop the simulator, the options that point at it, and the Emit calls
// (real people do that part).
func ExampleClient() {
	sim, err := rpcsim.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sim.Close()
	sim.SetSelectedVoiceChannel(rpcsim.VoiceChannelID) // the user sits in "General"

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := make(chan rpc.Event, 16)
	c, err := rpc.Dial(ctx, rpcsim.DefaultClientID, out,
		rpc.WithTransports(rpc.Websocket), rpc.WithPorts(sim.Port()), rpc.WithAPIBase(sim.APIBase()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	if r, ok := (<-out).(*rpc.Ready); ok {
		fmt.Println("connected as", r.User.Username)
	}

	// Rich presence works for any application, with no login.
	err = c.SetActivity(ctx, rpc.Activity{Details: "Reading the docs", State: "Example",
		Timestamps: &rpc.Timestamps{Start: time.Now().Unix()}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("presence set")

	// Voice events need the rpc scope: the user approves in the app, the code becomes a token,
	// the token logs the connection in.
	_, _, err = c.Login(ctx, rpc.LoginParams{Scopes: []string{"rpc", "identify"}, ClientSecret: rpcsim.DefaultClientSecret})
	if err != nil {
		fmt.Println(err)
		return
	}
	ch, err := c.SelectedVoiceChannel(ctx)
	if err != nil || ch == nil {
		fmt.Println("not in voice", err)
		return
	}
	names := map[events.Snowflake]string{}
	var present []string
	for _, vs := range ch.VoiceStates {
		names[vs.User.ID] = vs.Name()
		present = append(present, vs.Name())
	}
	fmt.Printf("in %s with %s\n", ch.Name, strings.Join(present, ", "))
	if err := c.SubscribeVoice(ctx, ch.ID); err != nil {
		fmt.Println(err)
		return
	}

	alice := events.User{ID: 501, Username: "alice"}
	sim.EmitVoiceStateCreate(ch.ID, rpcsim.VoiceState{User: alice})
	sim.EmitSpeakingStart(ch.ID, alice.ID)
	sim.EmitSpeakingStop(ch.ID, alice.ID)
	sim.EmitVoiceStateDelete(ch.ID, alice.ID)

	for {
		select {
		case ev := <-out:
			switch e := ev.(type) {
			case *rpc.VoiceStateCreate:
				names[e.User.ID] = e.Name()
				fmt.Println(e.Name(), "joined")
			case *rpc.SpeakingStart:
				fmt.Println(names[e.UserID], "started speaking")
			case *rpc.SpeakingStop:
				fmt.Println(names[e.UserID], "stopped speaking")
			case *rpc.VoiceStateDelete:
				fmt.Println(e.Name(), "left")
				return
			case *rpc.Disconnected:
				fmt.Println("app went away; the client reconnects by itself:", e.Err)
			}
		case <-c.Done():
			fmt.Println("stopped:", c.Err())
			return
		}
	}
	// Output:
	// connected as simuser
	// presence set
	// in General with simuser
	// alice joined
	// alice started speaking
	// alice stopped speaking
	// alice left
}
