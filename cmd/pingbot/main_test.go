package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/cordage/cordage/events"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSandboxExitsZero runs the sandbox in-process, short, with chaos on: it must judge every
// ping answered exactly once and leave no goroutine behind.
func TestSandboxExitsZero(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-duration", "4s", "-seed", "3", "-traffic", "100"}, func(string) string { return "" }, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"OK: every ping got exactly one answer", "missed:            0", "answered twice:    0"} {
		if !strings.Contains(out, want) {
			t.Fatalf("summary lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr.String(), "shards 4/4 ready") {
		t.Fatalf("no progress line:\n%s", stderr.String())
	}
	t.Logf("\n%s", out)
}

func TestFlags(t *testing.T) {
	env := map[string]string{"DISCORD_TOKEN": " tok ", "DISCORD_API_URL": "http://127.0.0.1:1/api/v10/"}
	st, err := parseFlags(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil || st.token != "tok" || st.api != "http://127.0.0.1:1/api/v10" {
		t.Fatalf("%+v %v", st, err)
	}
	st, err = parseFlags([]string{"-token", "flag", "-api", "http://x/api/v10"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil || st.token != "flag" || st.api != "http://x/api/v10" {
		t.Fatalf("flags must win over the environment: %+v %v", st, err)
	}
	st, err = parseFlags(nil, func(string) string { return "" }, io.Discard)
	if err != nil || st.token != "" || st.api != "https://discord.com/api/v10" {
		t.Fatalf("defaults: %+v %v", st, err)
	}
	for _, bad := range [][]string{{"-shards", "0"}, {"-duration", "1h"}, {"-rate", "0"}, {"extra"}} {
		if _, err := parseFlags(bad, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-shards", "0"}, func(string) string { return "" }, io.Discard, &stderr); code != 2 {
		t.Fatalf("bad flag: exit %d", code)
	}
}

// goBuild builds a main package into dir and returns the binary's path.
func goBuild(t *testing.T, dir, pkg, name string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command(goTool, "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

type simInfo struct {
	RESTURL    string `json:"rest_url"`
	ControlURL string `json:"control_url"`
	Token      string `json:"token"`
}

var httpc = &http.Client{Timeout: 30 * time.Second}

func control(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
	if resp.StatusCode != 200 && resp.StatusCode != 409 {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode
}

type botProc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan error
}

func startBot(t *testing.T, bin string, sim simInfo) *botProc {
	t.Helper()
	cmd := exec.Command(bin)
	// The token and API come from the environment, as a deployment would pass them.
	cmd.Env = append(os.Environ(), "DISCORD_TOKEN="+sim.Token, "DISCORD_API_URL="+sim.RESTURL)
	p := &botProc{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.stderr, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// stop sends SIGTERM and returns how long the bot took to exit, failing on a non-zero status.
func (p *botProc) stop(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("pingbot exited with %v\n%s", err, p.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("pingbot did not exit 10 s after SIGTERM\n%s", p.stderr.String())
	}
	return time.Since(start)
}

// TestTokenModeAgainstStandaloneSimulator builds pingbot and the standalone simulator, runs the
// bot in token mode over 4 shards, sends 200 "!ping" from scripted users while chaos drops
// connections, sends op 7 and op 9, stalls connections (zombies), corrupts frames and closes
// with 4000, and checks in the simulator's REST state that each ping got exactly one reply.
func TestTokenModeAgainstStandaloneSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries")
	}
	dir := t.TempDir()
	pingbot := goBuild(t, dir, ".", "pingbot")
	fakediscord := goBuild(t, dir, "../../test/fakediscord/cmd/fakediscord", "fakediscord")

	const shards, guilds, pings = 4, 40, 200
	sim := exec.Command(fakediscord, "-json", "-shards", fmt.Sprint(shards), "-guilds", fmt.Sprint(guilds),
		"-max-concurrency", fmt.Sprint(shards), "-heartbeat-interval", "1s", "-seed", "5")
	simOut, err := sim.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	simErr := &lockedBuffer{}
	sim.Stderr = simErr
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Wait() }()
	t.Cleanup(func() {
		_ = sim.Process.Signal(syscall.SIGTERM)
		select {
		case <-simDone:
		case <-time.After(10 * time.Second):
			_ = sim.Process.Kill()
			<-simDone
		}
	})
	line, err := bufio.NewReader(simOut).ReadString('\n')
	if err != nil {
		t.Fatalf("simulator: %v\n%s", err, simErr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, simOut) }()
	var info simInfo
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatalf("simulator info %q: %v", line, err)
	}
	ctl := info.ControlURL

	bot := startBot(t, pingbot, info)
	if code := control(t, "POST", ctl+"/wait", fmt.Sprintf(`{"connected":%d,"timeout":"20s"}`, shards), nil); code != 200 {
		t.Fatalf("wait for %d shards: %d\n%s", shards, code, bot.stderr.String())
	}
	var world struct {
		Guilds []struct {
			ID          events.Snowflake `json:"id"`
			TextChannel events.Snowflake `json:"text_channel_id"`
		} `json:"guilds"`
	}
	control(t, "GET", ctl+"/rest/world", "", &world)
	if len(world.Guilds) != guilds {
		t.Fatalf("world has %d guilds", len(world.Guilds))
	}

	// Chaos over the whole ping phase: every fault kind, about two a second.
	control(t, "POST", ctl+"/chaos", `{"seed":5,"interval":"400ms","count":16,"stall_for":"2s"}`, nil)

	// 200 pings, 40 a second over the guilds (so over the 4 shards); a ping that finds no live
	// session is not created, and is sent again a moment later.
	type ping struct {
		id      events.Snowflake
		channel events.Snowflake
	}
	var sent []ping
	retries := 0
	// On top of the random mix, each fault the issue names, at fixed points: a drop, op 7, op 9
	// (resumable and not) and a zombie (a stall longer than a heartbeat interval).
	scripted := []struct {
		at         int
		path, body string
	}{
		{20, "/faults/drop", `{"shard":0}`},
		{50, "/faults/reconnect", `{"shard":1}`},
		{80, "/faults/invalidate", `{"shard":2,"resumable":false}`},
		{110, "/faults/stall", `{"shard":3,"duration":"2500ms"}`},
		{140, "/faults/invalidate", `{"shard":0,"resumable":true}`},
		{170, "/faults/reconnect", `{"shard":2}`},
	}
	applied := 0
	tick := time.NewTicker(25 * time.Millisecond)
	deadline := time.Now().Add(40 * time.Second)
	for i := 0; len(sent) < pings; i++ {
		<-tick.C
		if time.Now().After(deadline) {
			t.Fatalf("only %d pings delivered in time (%d retries)", len(sent), retries)
		}
		// A fault whose shard is between sessions right now (409) is tried again next tick.
		if applied < len(scripted) && len(sent) >= scripted[applied].at &&
			control(t, "POST", ctl+scripted[applied].path, scripted[applied].body, nil) == 200 {
			applied++
		}
		g := world.Guilds[i%guilds]
		var res struct {
			ID events.Snowflake `json:"id"`
		}
		if control(t, "POST", ctl+"/rest/messages", fmt.Sprintf(`{"guild_id":"%v","member":%d,"content":"!ping"}`, g.ID, i%5), &res) != 200 {
			retries++
			continue
		}
		sent = append(sent, ping{id: res.ID, channel: g.TextChannel})
	}
	tick.Stop()

	// Wait for the replies: read every channel until each ping has one, or 30 s pass.
	replies := map[events.Snowflake][]events.Message{}
	collect := func() int {
		replies = map[events.Snowflake][]events.Message{}
		for _, g := range world.Guilds {
			var msgs []events.Message
			control(t, "GET", ctl+"/rest/messages?channel_id="+g.TextChannel.String(), "", &msgs)
			for _, m := range msgs {
				if m.Author.Bot && m.MessageReference != nil {
					if m.ChannelID != g.TextChannel {
						t.Errorf("reply %v in channel %v, not %v", m.ID, m.ChannelID, g.TextChannel)
					}
					replies[m.MessageReference.MessageID] = append(replies[m.MessageReference.MessageID], m)
				}
			}
		}
		answered := 0
		for _, p := range sent {
			if len(replies[p.id]) > 0 {
				answered++
			}
		}
		return answered
	}
	wait := time.NewTicker(200 * time.Millisecond)
	defer wait.Stop()
	until := time.Now().Add(30 * time.Second)
	for collect() < pings && time.Now().Before(until) {
		<-wait.C
	}
	// Let chaos finish, so that no late redelivery is missed by the final count.
	control(t, "POST", ctl+"/chaos/stop", "", nil)
	control(t, "POST", ctl+"/wait", fmt.Sprintf(`{"connected":%d,"timeout":"20s"}`, shards), nil)
	collect()

	missed, twice := 0, 0
	for _, p := range sent {
		rs := replies[p.id]
		switch {
		case len(rs) == 0:
			missed++
		case len(rs) > 1:
			twice++
		case !strings.HasPrefix(rs[0].Content, "pong"):
			t.Errorf("reply to %v says %q", p.id, rs[0].Content)
		}
	}
	var chaos struct {
		Events []struct {
			Fault string `json:"fault"`
			Err   string `json:"error"`
		} `json:"events"`
	}
	control(t, "GET", ctl+"/chaos", "", &chaos)
	kinds := map[string]int{}
	for _, c := range chaos.Events {
		if c.Err == "" {
			kinds[c.Fault]++
		}
	}
	t.Logf("%d pings (%d retried for want of a session), %d replies, %d missed, %d twice; faults %v",
		len(sent), retries, len(replies), missed, twice, kinds)
	if applied != len(scripted) {
		t.Errorf("only %d of %d scripted faults applied", applied, len(scripted))
	}
	if missed != 0 || twice != 0 || len(replies) != pings {
		t.Fatalf("%d missed, %d answered twice, %d replies for %d pings\n%s", missed, twice, len(replies), pings, bot.stderr.String())
	}

	// /ping: registered once by the first READY, answered through the gateway and REST.
	var res struct {
		ID events.Snowflake `json:"id"`
	}
	answered := false
	for try := 0; try < 50 && !answered; try++ {
		if control(t, "POST", ctl+"/rest/interactions", fmt.Sprintf(`{"guild_id":"%v","member":1,"command":"ping"}`, world.Guilds[0].ID), &res) != 200 {
			<-wait.C // not registered yet, or no session this instant
			continue
		}
		for range 25 {
			var st struct {
				ResponseType int `json:"response_type"`
			}
			control(t, "GET", fmt.Sprintf("%s/rest/interactions/%v", ctl, res.ID), "", &st)
			if st.ResponseType == 4 {
				answered = true
				break
			}
			<-wait.C
		}
	}
	if !answered {
		t.Fatalf("/ping was not answered\n%s", bot.stderr.String())
	}

	took := bot.stop(t)
	if took > 5*time.Second {
		t.Fatalf("pingbot took %v to exit after SIGTERM", took)
	}
	t.Logf("pingbot exited %v after SIGTERM", took.Round(time.Millisecond))
	logs := bot.stderr.String()
	if strings.Contains(logs, info.Token) {
		t.Fatal("the token appears in pingbot's output")
	}

	// A second run finds /ping registered as declared: it lists the commands and overwrites none.
	putsBefore := countRoute(t, ctl, "PUT", "/applications/{application.id}/commands")
	getsBefore := countRoute(t, ctl, "GET", "/applications/{application.id}/commands")
	if putsBefore != 1 {
		t.Fatalf("%d bulk overwrites in the first run, want 1", putsBefore)
	}
	bot2 := startBot(t, pingbot, info)
	control(t, "POST", ctl+"/wait", fmt.Sprintf(`{"connected":%d,"timeout":"20s"}`, shards), nil)
	for range 100 {
		if countRoute(t, ctl, "GET", "/applications/{application.id}/commands") > getsBefore {
			break
		}
		<-wait.C
	}
	bot2.stop(t)
	if gets, puts := countRoute(t, ctl, "GET", "/applications/{application.id}/commands"), countRoute(t, ctl, "PUT", "/applications/{application.id}/commands"); gets <= getsBefore || puts != putsBefore {
		t.Fatalf("second run: %d lists (before %d), %d overwrites (want %d)", gets, getsBefore, puts, putsBefore)
	}
}

func countRoute(t *testing.T, ctl, method, route string) int {
	t.Helper()
	var ledger []struct {
		Method string `json:"method"`
		Route  string `json:"route"`
		Status int    `json:"status"`
	}
	control(t, "GET", ctl+"/rest/ledger", "", &ledger)
	n := 0
	for _, e := range ledger {
		if e.Method == method && e.Route == route && e.Status/100 == 2 {
			n++
		}
	}
	return n
}
