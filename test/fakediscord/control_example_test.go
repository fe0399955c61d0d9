package fakediscord_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/test/fakediscord"
)

// ExampleServer_ControlHandler mounts the JSON control API and drives the simulator over HTTP,
// as a test written in another language would.
func ExampleServer_ControlHandler() {
	srv, err := fakediscord.New(fakediscord.WithShardCount(2), fakediscord.WithGuilds(4), fakediscord.WithClock(clock.Scaled(1000)))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	if err := srv.Mount(fakediscord.ControlPrefix, srv.ControlHandler()); err != nil {
		panic(err)
	}
	api := "http://" + srv.Addr() + "/_fake"

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	res, err := client.Get(api + "/state")
	if err != nil {
		panic(err)
	}
	var st fakediscord.StateView
	_ = json.NewDecoder(res.Body).Decode(&st)
	res.Body.Close()
	fmt.Println("shards:", st.ShardCount, "guilds:", len(st.Guilds), "sessions:", len(st.Sessions))

	// No bot is connected yet, so there is no connection to drop.
	res, err = client.Post(api+"/faults/drop", "application/json", strings.NewReader(`{"shard":0}`))
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(res.StatusCode, string(body))

	// A typo is an error, not a silent default.
	res, err = client.Post(api+"/faults/drop", "application/json", strings.NewReader(`{"shrad":0}`))
	if err != nil {
		panic(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(res.StatusCode, string(body))
	// Output:
	// shards: 2 guilds: 4 sessions: 0
	// 409 {"error":"fakediscord: no live session for that shard"}
	// 400 {"error":"bad JSON body: json: unknown field \"shrad\""}
}
