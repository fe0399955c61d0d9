package events_test

import (
	"encoding/json"
	"fmt"

	"github.com/cordage/cordage/events"
)

func ExampleNewActivity() {
	presence := events.PresenceUpdate{
		Activities: []events.Activity{events.NewActivity("with the gateway", events.ActivityPlaying, "")},
		Status:     events.StatusOnline,
	}
	b, _ := json.Marshal(presence)
	fmt.Println(string(b))
	// Output: {"since":null,"activities":[{"name":"with the gateway","type":0}],"status":"online","afk":false}
}

func ExampleSnowflake_Time() {
	id := events.Snowflake(175928847299117063)
	fmt.Println(id.Time().Format("2006-01-02T15:04:05.000Z07:00"))
	fmt.Println("shard", id.ShardID(16), "of 16")
	// Output:
	// 2016-04-30T11:18:25.796Z
	// shard 4 of 16
}

func ExampleIntent_String() {
	intents := events.IntentGuilds | events.IntentGuildMessages | events.IntentMessageContent
	fmt.Println(intents)
	fmt.Println("privileged:", intents.Privileged())
	fmt.Println(uint64(events.IntentsAll), uint64(events.IntentsNonPrivileged))
	// Output:
	// GUILDS|GUILD_MESSAGES|MESSAGE_CONTENT
	// privileged: MESSAGE_CONTENT
	// 53608447 53575421
}

func ExampleParseEnvelope() {
	frame := []byte(`{"t":"MESSAGE_CREATE","s":42,"op":0,"d":{"id":"1400000000000000010","channel_id":"1300000000000000002","content":"hello","author":{"id":"1200000000000000004","username":"bob"},"timestamp":"2026-08-01T12:00:00.123000+00:00"}}`)
	env, err := events.ParseEnvelope(frame)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(env.Op, env.S, env.T)

	// env.D points into frame: copy it before frame's buffer is reused.
	data := append([]byte(nil), env.D...)
	var m events.Message
	if err := json.Unmarshal(data, &m); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s in %s: %q\n", m.Author.Username, m.ChannelID, m.Content)

	_, err = events.ParseEnvelope([]byte(`[1,2,3]`))
	fmt.Println(err != nil)
	// Output:
	// Dispatch 42 MESSAGE_CREATE
	// bob in 1300000000000000002: "hello"
	// true
}

func ExampleCloseCode_Policy() {
	for _, code := range []events.CloseCode{4000, 4004, 4007, 4009, 4011, 1006} {
		fmt.Printf("%v: %v\n", code, code.Policy())
	}
	// Output:
	// 4000 Unknown error: resume
	// 4004 Authentication failed: fatal
	// 4007 Invalid seq: new-session
	// 4009 Session timed out: resume
	// 4011 Sharding required: re-shard
	// 1006 Abnormal closure: resume
}

func ExamplePermissions() {
	var p events.Permissions
	_ = json.Unmarshal([]byte(`"4503599627373568"`), &p) // permissions arrive as a decimal string
	fmt.Println(p)
	fmt.Println(p.Has(events.PermPinMessages), p.Can(events.PermBanMembers))
	// Output:
	// VIEW_CHANNEL|SEND_MESSAGES|BYPASS_SLOWMODE
	// false false
}

func ExampleEnvelope_DecodeDispatch() {
	frames := []string{
		`{"t":"MESSAGE_CREATE","s":1,"op":0,"d":{"id":"10","channel_id":"20","author":{"id":"30","username":"bob"},"content":"!ping","timestamp":"2026-08-01T12:00:00+00:00"}}`,
		`{"t":"GUILD_DELETE","s":2,"op":0,"d":{"id":"40"}}`,
		`{"t":"SOMETHING_NEW","s":3,"op":0,"d":{"x":1}}`,
	}
	for _, f := range frames {
		env, err := events.ParseEnvelope([]byte(f))
		if err != nil {
			fmt.Println(err)
			continue
		}
		v, err := env.DecodeDispatch()
		if err != nil {
			fmt.Println(err)
			continue
		}
		switch d := v.(type) {
		case *events.Message:
			fmt.Println(env.T, d.Author.Username, d.Content)
		case *events.GuildDelete:
			fmt.Println(env.T, d.ID, "removed:", d.Removed())
		case json.RawMessage:
			fmt.Println(env.T, "raw", string(d))
		}
	}
	// Output:
	// MESSAGE_CREATE bob !ping
	// GUILD_DELETE 40 removed: true
	// SOMETHING_NEW raw {"x":1}
}
