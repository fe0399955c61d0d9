package voice_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/connections/voice"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
	voicesim "github.com/cordage/cordage/test/fakediscord/voice"
)

// Example joins a voice channel on the simulator with DAVE end-to-end encryption, plays an
// Ogg/Opus file and prints what a second user in the channel receives. Against real Discord,
// drop the simulators, WithAPIURL and Insecure, and pass your bot token.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vs, _ := voicesim.New() // DAVE v1, required: as Discord since 2026-03-02
	defer vs.Close()
	srv, _ := fakediscord.New(fakediscord.WithVoiceServer(vs))
	defer srv.Close()

	out := make(chan connections.Event, 256)
	gw, err := connections.ConnectBot(ctx, srv.Token(), out, connections.WithAPIURL(srv.RESTURL()),
		connections.WithIntents(events.IntentGuilds|events.IntentGuildVoiceStates))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gw.Close()

	// The bot's event loop hands every event to the voice Manager first.
	vm := voice.NewManager(ctx, gw, voice.Config{Insecure: true}) // user id comes from READY
	defer vm.Close()
	go func() {
		for {
			select {
			case ev := <-out:
				if vm.Handle(ev) {
					continue
				}
				// ... the bot's own handling of other events ...
			case <-gw.Done():
				return
			}
		}
	}()

	// Someone is already in the channel (a second voice client, straight on the voice simulator).
	guild := srv.Guilds()[0]
	channel := guild + 1<<20 + 2
	lg := &simGateway{vs: vs, user: 777}
	listenerMgr := voice.NewManager(ctx, lg, voice.Config{UserID: 777, Insecure: true})
	lg.m = listenerMgr
	defer listenerMgr.Close()
	listener, err := listenerMgr.Join(ctx, voice.JoinConfig{GuildID: guild, ChannelID: channel})
	if err != nil {
		fmt.Println(err)
		return
	}

	conn, err := vm.Join(ctx, voice.JoinConfig{GuildID: guild, ChannelID: channel})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Wait until both are in the same MLS group: each Conn emits DAVEChanged on Events when its
	// epoch moves, so look again after every event.
	for !bytes.Equal(conn.EpochAuthenticator(), listener.EpochAuthenticator()) || conn.EpochAuthenticator() == nil {
		var ok bool
		select {
		case _, ok = <-conn.Events():
		case _, ok = <-listener.Events():
		case <-ctx.Done():
		}
		if !ok { // a connection ended, or time ran out
			fmt.Println("no common DAVE group")
			return
		}
	}
	fmt.Println("DAVE protocol version:", conn.DAVEProtocolVersion())

	f, err := os.Open("testdata/tone.opus") // 50 frames of 20 ms
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	if err := conn.PlayOgg(ctx, f); err != nil {
		fmt.Println(err)
		return
	}
	for p := range listener.Packets() {
		if p.UserID == vm.UserID() && len(p.Opus) == 40+49 { // the file's last frame
			fmt.Printf("listener got the last frame: %d bytes of Opus from the bot, decrypted\n", len(p.Opus))
			break
		}
	}
	// Output:
	// DAVE protocol version: 1
	// listener got the last frame: 89 bytes of Opus from the bot, decrypted
}
