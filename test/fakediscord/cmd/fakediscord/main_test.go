package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testTimeout = 10 * time.Second

// lockedBuffer collects stderr written by run while the test reads it afterwards.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startRun runs the program with args until the test ends, returns its stdout lines up to and
// including the first line that starts with "fakediscord:" or "{" (the JSON form), and a stop
// function that cancels it and returns run's error and stderr.
func startRun(t *testing.T, args ...string) (lines []string, stop func() (error, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, pw, stderr)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	var once sync.Once
	var runErr error
	stop = func() (error, string) {
		once.Do(func() {
			cancel()
			go func() { _, _ = io.Copy(io.Discard, pr) }()
			select {
			case runErr = <-done:
			case <-time.After(testTimeout):
				t.Fatal("run did not return after cancel")
			}
		})
		return runErr, stderr.String()
	}
	t.Cleanup(func() { stop() })

	got := make(chan []string, 1)
	go func() {
		var ls []string
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			ls = append(ls, sc.Text())
			if strings.HasPrefix(sc.Text(), "fakediscord:") || strings.HasPrefix(sc.Text(), "{") {
				break
			}
		}
		got <- ls
	}()
	select {
	case lines = <-got:
	case <-time.After(testTimeout):
		t.Fatalf("no start-up lines; stderr: %s", stderr.String())
	}
	return lines, stop
}

func get(t *testing.T, url, auth string, v any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr, Timeout: testTimeout}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	if v != nil {
		if err := json.NewDecoder(res.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
	return res.StatusCode
}

func TestRunPrintsSettingsAndStops(t *testing.T) {
	lines, stop := startRun(t, "-shards", "3", "-guilds", "9", "-token", "my-test-token", "-time-scale", "1000")
	kv := map[string]string{}
	for _, l := range lines[:len(lines)-1] {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("line %q is not KEY=value", l)
		}
		kv[k] = v
	}
	for _, k := range []string{"REST_URL", "GATEWAY_URL", "RESUME_URL", "CONTROL_URL", "TOKEN", "SHARDS"} {
		if kv[k] == "" {
			t.Errorf("no %s line in %q", k, lines)
		}
	}
	if kv["TOKEN"] != "my-test-token" || kv["SHARDS"] != "3" {
		t.Errorf("TOKEN=%s SHARDS=%s", kv["TOKEN"], kv["SHARDS"])
	}
	for _, k := range []string{"REST_URL", "CONTROL_URL"} {
		if !strings.HasPrefix(kv[k], "http://127.0.0.1:") {
			t.Errorf("%s=%s is not on 127.0.0.1", k, kv[k])
		}
	}
	if !strings.HasPrefix(kv["GATEWAY_URL"], "ws://127.0.0.1:") || kv["GATEWAY_URL"] == kv["RESUME_URL"] {
		t.Errorf("GATEWAY_URL=%s RESUME_URL=%s", kv["GATEWAY_URL"], kv["RESUME_URL"])
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "time x1000") {
		t.Errorf("human line %q does not show the time scale", last)
	}

	var gw struct {
		URL    string `json:"url"`
		Shards int    `json:"shards"`
	}
	if code := get(t, kv["REST_URL"]+"/gateway/bot", "Bot my-test-token", &gw); code != 200 || gw.Shards != 3 || gw.URL != kv["GATEWAY_URL"] {
		t.Errorf("GET /gateway/bot: %d %+v", code, gw)
	}
	var st struct {
		ShardCount int   `json:"shard_count"`
		Guilds     []any `json:"guilds"`
	}
	if code := get(t, kv["CONTROL_URL"]+"/state", "", &st); code != 200 || st.ShardCount != 3 || len(st.Guilds) != 9 {
		t.Errorf("control state: %d %+v", code, st)
	}

	err, stderr := stop()
	if err != nil {
		t.Errorf("run returned %v", err)
	}
	if !strings.Contains(stderr, "shutting down") {
		t.Errorf("stderr %q lacks the shutdown line", stderr)
	}
	if strings.Contains(stderr, "my-test-token") {
		t.Errorf("stderr shows the token: %q", stderr)
	}
}

func TestRunJSON(t *testing.T) {
	lines, stop := startRun(t, "-json", "-v")
	if len(lines) != 1 {
		t.Fatalf("-json printed %d lines before the JSON: %q", len(lines), lines)
	}
	var info Info
	if err := json.Unmarshal([]byte(lines[0]), &info); err != nil {
		t.Fatalf("-json line %q: %v", lines[0], err)
	}
	if info.RESTURL == "" || info.GatewayURL == "" || info.ControlURL == "" || info.Token == "" || info.Shards != 1 || info.TimeScale != 1 {
		t.Errorf("-json info %+v", info)
	}
	if code := get(t, info.RESTURL+"/users/@me", "Bot "+info.Token, nil); code != 200 {
		t.Errorf("GET /users/@me: %d", code)
	}
	err, stderr := stop()
	if err != nil {
		t.Errorf("run returned %v", err)
	}
	// -v logs to stderr, and never the token.
	if !strings.Contains(stderr, "fakediscord listening") || strings.Contains(stderr, info.Token) {
		t.Errorf("-v stderr: %q", stderr)
	}
}

func TestRunChaos(t *testing.T) {
	lines, stop := startRun(t, "-json", "-time-scale", "1000", "-chaos", "-chaos-interval", "1s", "-chaos-count", "3", "-seed", "5")
	var info Info
	if err := json.Unmarshal([]byte(lines[0]), &info); err != nil {
		t.Fatal(err)
	}
	// Three faults at about 1 s of clock time each: a few milliseconds. No bot is connected, so
	// each records that it found no session.
	deadline := time.Now().Add(testTimeout)
	for {
		var log struct {
			Events []struct {
				Error string `json:"error"`
			} `json:"events"`
		}
		get(t, info.ControlURL+"/chaos", "", &log)
		if len(log.Events) == 3 {
			if !strings.Contains(log.Events[0].Error, "no live session") {
				t.Errorf("chaos event without a session: %+v", log.Events[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chaos injected %d faults, want 3", len(log.Events))
		}
		<-time.After(5 * time.Millisecond) // polling a state, not timing a rule
	}
	if err, _ := stop(); err != nil {
		t.Errorf("run returned %v", err)
	}
}

func TestRunBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-time-scale", "0"}, "-time-scale must be positive"},
		{[]string{"-token", ""}, "-token must not be empty"},
		{[]string{"-token", "a b"}, "whitespace"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-chaos", "-chaos-count", "0"}, "-chaos-count"},
		{[]string{"-chaos", "-chaos-interval", "0s"}, "-chaos-interval"},
		{[]string{"-nope"}, "flag provided but not defined"},
		{[]string{"-shards", "0"}, "shard count"},
		{[]string{"-max-concurrency", "0"}, "max_concurrency"},
		{[]string{"-heartbeat-interval", "0s"}, "heartbeat interval"},
		{[]string{"-heartbeat-grace", "-1s"}, "-heartbeat-grace"},
		{[]string{"-replay-limit", "-1"}, "-replay-limit"},
		{[]string{"-voice-dave", "-1"}, "-voice-dave"},
		{[]string{"-voice-heartbeat-interval", "0s"}, "-voice-heartbeat-interval"},
	} {
		var stderr lockedBuffer
		err := run(context.Background(), tc.args, io.Discard, &stderr)
		if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.want) {
			t.Errorf("run %q: %v (stderr %q), want an error about %q", tc.args, err, stderr.String(), tc.want)
		}
	}
}

// post sends a JSON body with a DiscordBot user agent and returns the status and body.
func post(t *testing.T, url, auth, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "DiscordBot (https://example.test, 1.0)")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr, Timeout: testTimeout}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestRunRESTBridge(t *testing.T) {
	lines, stop := startRun(t, "-json", "-guilds", "2")
	var info Info
	if err := json.Unmarshal([]byte(lines[0]), &info); err != nil {
		t.Fatal(err)
	}
	var world struct {
		Guilds []struct {
			ID          string `json:"id"`
			TextChannel string `json:"text_channel_id"`
		} `json:"guilds"`
	}
	if code := get(t, info.ControlURL+"/rest/world", "", &world); code != 200 || len(world.Guilds) != 2 {
		t.Fatalf("GET /rest/world: %d %+v", code, world)
	}
	// The bot can write in a gateway guild's channel over REST, and the message is kept.
	ch := world.Guilds[0].TextChannel
	if code, body := post(t, info.RESTURL+"/channels/"+ch+"/messages", "Bot "+info.Token, `{"content":"hello"}`); code != 200 {
		t.Fatalf("create message: %d %s", code, body)
	}
	var msgs []struct {
		Content string `json:"content"`
	}
	if code := get(t, info.ControlURL+"/rest/messages?channel_id="+ch, "", &msgs); code != 200 || len(msgs) != 1 || msgs[0].Content != "hello" {
		t.Errorf("GET /rest/messages: %d %+v", code, msgs)
	}
	// No bot is connected: a scripted user's message finds no session.
	if code, body := post(t, info.ControlURL+"/rest/messages", "", `{"guild_id":"`+world.Guilds[0].ID+`","member":0,"content":"hi"}`); code != 409 {
		t.Errorf("POST /rest/messages without a session: %d %s, want 409", code, body)
	}
	if err, _ := stop(); err != nil {
		t.Errorf("run returned %v", err)
	}
}

func TestRunWithoutREST(t *testing.T) {
	lines, stop := startRun(t, "-json", "-rest=false")
	var info Info
	if err := json.Unmarshal([]byte(lines[0]), &info); err != nil {
		t.Fatal(err)
	}
	if code := get(t, info.ControlURL+"/rest/world", "", nil); code != 404 {
		t.Errorf("GET /rest/world with -rest=false: %d, want 404", code)
	}
	if code, _ := post(t, info.RESTURL+"/channels/1/messages", "Bot "+info.Token, `{"content":"x"}`); code != 404 {
		t.Errorf("create message with -rest=false: %d, want 404", code)
	}
	if code := get(t, info.RESTURL+"/gateway/bot", "Bot "+info.Token, nil); code != 200 {
		t.Errorf("GET /gateway/bot with -rest=false: %d", code)
	}
	if err, _ := stop(); err != nil {
		t.Errorf("run returned %v", err)
	}
}

// identifyGuildsOnly connects one session of shard 0 with the GUILDS intent only and returns
// the connection (closed when the test ends) and the id of one of its guilds.
func identifyGuildsOnly(t *testing.T, info Info) string {
	t.Helper()
	ws, res, err := websocket.DefaultDialer.Dial(info.GatewayURL+"?v=10&encoding=json", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	res.Body.Close()
	t.Cleanup(func() { ws.Close() })
	_ = ws.SetReadDeadline(time.Now().Add(testTimeout))
	var hello struct{ Op int }
	if err := ws.ReadJSON(&hello); err != nil || hello.Op != 10 {
		t.Fatalf("hello: op %d, %v", hello.Op, err)
	}
	err = ws.WriteJSON(map[string]any{"op": 2, "d": map[string]any{
		"token": info.Token, "intents": 1, "shard": []int{0, 1},
		"properties": map[string]string{"os": "linux", "browser": "test", "device": "test"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		T string
		D struct {
			Guilds []struct {
				ID string `json:"id"`
			} `json:"guilds"`
		}
	}
	if err := ws.ReadJSON(&ready); err != nil || ready.T != "READY" || len(ready.D.Guilds) == 0 {
		t.Fatalf("ready: %+v %v", ready, err)
	}
	return ready.D.Guilds[0].ID
}

func TestRunIntentFilter(t *testing.T) {
	for _, filter := range []bool{false, true} {
		args := []string{"-json", "-rest=false"}
		want := 200
		if filter {
			args = append(args, "-intent-filter")
			want = 409 // the only session lacks GUILD_MESSAGES
		}
		lines, stop := startRun(t, args...)
		var info Info
		if err := json.Unmarshal([]byte(lines[0]), &info); err != nil {
			t.Fatal(err)
		}
		guild := identifyGuildsOnly(t, info)
		code, body := post(t, info.ControlURL+"/dispatch", "", `{"guild_id":"`+guild+`","t":"MESSAGE_CREATE","d":{"id":"1"}}`)
		if code != want {
			t.Errorf("-intent-filter=%v: MESSAGE_CREATE to a GUILDS-only session: %d %s, want %d", filter, code, body, want)
		}
		if err, _ := stop(); err != nil {
			t.Errorf("run returned %v", err)
		}
	}
}
