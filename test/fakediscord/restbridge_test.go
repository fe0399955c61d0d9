package fakediscord

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord/restsim"
)

func restDo(t *testing.T, method, url, body string, auth bool, s *Server) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if auth {
		req.Header.Set("Authorization", "Bot "+s.Token())
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "DiscordBot (https://example.test, 1.0) test")
	req.Header.Set("Accept-Encoding", "br")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: testTimeout}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Content-Encoding") != "" {
		b, err = decodeContent(resp.Header.Get("Content-Encoding"), b)
		if err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, b
}

// TestRESTBridge walks the loop a bot lives in: a user writes, the bot sees MESSAGE_CREATE and
// replies over REST, the reply comes back on the gateway; a user runs a registered command, the
// bot sees INTERACTION_CREATE and answers the callback.
func TestRESTBridge(t *testing.T) {
	s := newServer(t, WithGuilds(2), WithMembersPerGuild(3),
		// Interactions expire 3 s of clock time after creation: a fast clock would let a busy
		// machine miss that deadline between dispatch and callback.
		WithClock(clock.Real()))
	b := NewRESTBridge(s, restsim.Config{})
	if err := b.MountControl(); err != nil {
		t.Fatal(err)
	}
	g := s.Guilds()[0]

	// Nobody is connected: the message is not kept.
	if _, err := b.UserMessage(g, 1, "!ping"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("UserMessage without a session: %v", err)
	}
	if n := len(b.REST().Messages(b.TextChannel(g))); n != 0 {
		t.Fatalf("%d messages kept after an undelivered one", n)
	}
	if _, err := b.UserMessage(g, 3, "x"); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("member out of range: %v", err)
	}

	ws, _ := connect(t, s, 0, 1, dialOpts{})
	id, err := b.UserMessage(g, 1, "!ping")
	if err != nil {
		t.Fatal(err)
	}
	var got events.Message
	if err := ws.until(events.OpDispatch, "MESSAGE_CREATE").Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.ID != id || got.Content != "!ping" || got.Author.ID != s.MemberID(g, 1) || got.GuildID != g || got.Member == nil || got.ChannelID != b.TextChannel(g) {
		t.Fatalf("MESSAGE_CREATE %+v", got)
	}

	// The bot replies over REST; Discord echoes the reply on the gateway.
	reply := `{"content":"pong","message_reference":{"message_id":"` + id.String() + `"}}`
	code, body := restDo(t, "POST", s.RESTURL()+"/channels/"+got.ChannelID.String()+"/messages", reply, true, s)
	if code != 200 {
		t.Fatalf("reply: %d %s", code, body)
	}
	var echo events.Message
	if err := ws.until(events.OpDispatch, "MESSAGE_CREATE").Decode(&echo); err != nil {
		t.Fatal(err)
	}
	if echo.Content != "pong" || !echo.Author.Bot || echo.MessageReference == nil || echo.MessageReference.MessageID != id {
		t.Fatalf("echo %+v", echo)
	}
	if st := b.Stats(); st.Echoed != 1 {
		t.Fatalf("stats %+v", st)
	}

	// Slash commands: only registered ones can be run.
	if _, err := b.Interact(g, 0, "ping"); !errors.Is(err, ErrCommandNotRegistered) {
		t.Fatalf("unregistered command: %v", err)
	}
	app := s.ApplicationID().String()
	if code, body := restDo(t, "PUT", s.RESTURL()+"/applications/"+app+"/commands", `[{"name":"ping","description":"Ping","type":1}]`, true, s); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	it, err := b.Interact(g, 0, "ping")
	if err != nil {
		t.Fatal(err)
	}
	var in events.Interaction
	if err := ws.until(events.OpDispatch, "INTERACTION_CREATE").Decode(&in); err != nil {
		t.Fatal(err)
	}
	data, err := in.CommandData()
	if err != nil || data.Name != "ping" || in.Token != it.Token || in.Invoker() == nil || in.Invoker().ID != s.MemberID(g, 0) {
		t.Fatalf("INTERACTION_CREATE %+v data %+v (%v)", in, data, err)
	}
	cb := s.RESTURL() + "/interactions/" + in.ID.String() + "/" + in.Token + "/callback"
	if code, body := restDo(t, "POST", cb, `{"type":4,"data":{"content":"pong"}}`, false, s); code != 204 {
		t.Fatalf("callback: %d %s", code, body)
	}
	if st := b.REST().InteractionState(in.ID); st.ResponseType != 4 {
		t.Fatalf("interaction state %+v", st)
	}
	// The response is a message in the channel, and Discord sends it like any other.
	var resp events.Message
	if err := ws.until(events.OpDispatch, "MESSAGE_CREATE").Decode(&resp); err != nil {
		t.Fatal(err)
	}
	if resp.Content != "pong" || resp.ChannelID != b.TextChannel(g) {
		t.Fatalf("interaction response echo %+v", resp)
	}
	if st := b.Stats(); st.Echoed != 2 {
		t.Fatalf("stats %+v", st)
	}

	// The same through the control routes.
	ctl := "http://" + s.Addr() + BridgePrefix
	code, body = restDo(t, "POST", ctl+"messages", `{"guild_id":"`+g.String()+`","member":2,"content":"!ping"}`, false, s)
	if code != 200 {
		t.Fatalf("control message: %d %s", code, body)
	}
	ws.until(events.OpDispatch, "MESSAGE_CREATE")
	code, body = restDo(t, "GET", ctl+"messages?channel_id="+b.TextChannel(g).String(), "", false, s)
	var msgs []events.Message
	if code != 200 || json.Unmarshal(body, &msgs) != nil || len(msgs) < 3 || msgs[1].Content != "pong" {
		t.Fatalf("control messages: %d %s", code, body)
	}
	if code, body := restDo(t, "POST", ctl+"interactions", `{"guild_id":"`+g.String()+`","command":"nope"}`, false, s); code != 409 {
		t.Fatalf("unknown command: %d %s", code, body)
	}
	if code, body := restDo(t, "POST", ctl+"messages", `{"guild_id":"1","content":"x"}`, false, s); code != 400 {
		t.Fatalf("unknown guild: %d %s", code, body)
	}
	code, body = restDo(t, "GET", ctl+"interactions/"+in.ID.String(), "", false, s)
	if code != 200 || !strings.Contains(string(body), `"response_type":4`) {
		t.Fatalf("control interaction: %d %s", code, body)
	}
	code, body = restDo(t, "GET", ctl+"world", "", false, s)
	if code != 200 || !strings.Contains(string(body), b.TextChannel(g).String()) {
		t.Fatalf("control world: %d %s", code, body)
	}
	code, body = restDo(t, "GET", ctl+"ledger", "", false, s)
	if code != 200 || !strings.Contains(string(body), `"route":"/channels/{channel.id}/messages"`) {
		t.Fatalf("control ledger: %d %s", code, body)
	}
}
