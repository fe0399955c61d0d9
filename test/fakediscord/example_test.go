package fakediscord_test

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/internal/clock"
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
