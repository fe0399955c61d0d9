package fakediscord_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
)

// Example runs a bot's first steps against the simulator: GET /gateway/bot, connect, identify,
// READY.
func Example() {
	srv, err := fakediscord.New(fakediscord.WithShardCount(2), fakediscord.WithGuilds(4), fakediscord.WithClock(clock.Scaled(1000)))
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, srv.RESTURL()+"/gateway/bot", nil)
	req.Header.Set("Authorization", "Bot "+srv.Token())
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		panic(err)
	}
	var gb events.GatewayBot
	_ = json.NewDecoder(resp.Body).Decode(&gb)
	resp.Body.Close()
	fmt.Println("shards:", gb.Shards, "remaining:", gb.SessionStartLimit.Remaining)

	ws, wsResp, err := websocket.DefaultDialer.Dial(gb.URL+"?v=10&encoding=json", nil)
	if err != nil {
		panic(err)
	}
	wsResp.Body.Close()
	defer ws.Close()
	var hello events.Envelope
	_ = ws.ReadJSON(&hello)
	fmt.Println("first op:", hello.Op)
	_ = ws.WriteJSON(map[string]any{"op": 2, "d": map[string]any{
		"token": srv.Token(), "intents": events.IntentGuilds, "shard": []int{1, 2},
		"properties": map[string]string{"os": "linux", "browser": "example", "device": "example"},
	}})
	var ready events.Envelope
	_ = ws.ReadJSON(&ready)
	var r events.Ready
	_ = ready.Decode(&r)
	fmt.Println(ready.T, "seq", ready.S, "guilds on shard 1:", len(r.Guilds))
	// Output:
	// shards: 2 remaining: 1000
	// first op: Hello
	// READY seq 1 guilds on shard 1: 2
}

// ExampleServer_WaitFor waits, without sleeping, for a client's session to become resumable
// after the server dropped its connection, then reads how the connection ended in the ledger.
func ExampleServer_WaitFor() {
	srv, err := fakediscord.New(fakediscord.WithGuilds(2), fakediscord.WithClock(clock.Scaled(1000)))
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	ws, resp, err := websocket.DefaultDialer.Dial(srv.GatewayURL()+"?v=10&encoding=json", nil)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	defer ws.Close()
	var env events.Envelope
	_ = ws.ReadJSON(&env) // Hello
	_ = ws.WriteJSON(map[string]any{"op": 2, "d": map[string]any{
		"token": srv.Token(), "intents": events.IntentGuilds,
		"properties": map[string]string{"os": "linux", "browser": "example", "device": "example"},
	}})
	for range 3 { // READY and two GUILD_CREATEs
		_ = ws.ReadJSON(&env)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Drop(0); err != nil {
		panic(err)
	}
	err = srv.WaitFor(ctx, func(sn *fakediscord.Snapshot) bool {
		return len(sn.Sessions) == 1 && sn.Sessions[0].State == fakediscord.SessionResumable
	})
	fmt.Println("wait:", err)
	ls := srv.Ledger().Sessions[0]
	fmt.Println("dispatches:", len(ls.Dispatches), "ended:", ls.Connections[0].End, ls.Connections[0].Code)
	// Output:
	// wait: <nil>
	// dispatches: 3 ended: dropped 1006 Abnormal closure
}
