package interop

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
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	buildTimeout = 3 * time.Minute  // go build of the simulator, warm cache: a few seconds
	nodeTimeout  = 90 * time.Second // the node script bounds itself at 45 s
	startTimeout = 15 * time.Second // until the simulator prints its URLs
)

// TestDiscordJS runs @discordjs/ws against the standalone simulator: READY and the
// GUILD_CREATEs of two shards, acknowledged heartbeats, a resume after the simulator drops
// shard 0, a scripted user's message answered over REST with @discordjs/rest (the answer comes
// back on the gateway), a resume after op 7 on shard 1 and, in the plain run, a new session after op 9
// d=false on shard 0. The simulator's own records must agree: one accepted identify per session,
// no pacing violation, and one resume of each shard's first session through the resume URL that
// replays what the client missed.
func TestDiscordJS(t *testing.T) {
	node := requireNode(t)
	bin := buildSimulator(t)
	for _, tc := range []struct {
		name        string
		compression string
		invalidate  bool // also invalidate shard 0's session: the client must identify anew
		simArgs     []string
	}{
		{name: "plain", compression: "none", invalidate: true},
		// Split every zlib message over websocket frames of at most 256 bytes: the client must
		// buffer until 00 00 ff ff.
		{name: "zlib-stream", compression: "zlib", simArgs: []string{"-zlib-split", "256"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const shards, guilds = 2, 6
			args := append([]string{
				"-json", "-shards", fmt.Sprint(shards), "-max-concurrency", "2", "-guilds", fmt.Sprint(guilds),
				// discord.js runs on the wall clock, so the simulator does too. A short interval
				// makes heartbeats happen within the test; the long grace keeps a machine busy
				// with other tests (CI runs packages in parallel) from turning a late
				// heartbeat into a 4009 and an extra resume.
				"-heartbeat-interval", "1s", "-heartbeat-grace", "10s",
			}, tc.simArgs...)
			info := startSimulator(t, bin, args...)

			summary := runNode(t, node, info, tc.compression, tc.invalidate)
			if summary.Shards != shards {
				t.Errorf("node summary: %d shards, want %d", summary.Shards, shards)
			}
			if !summary.PingPong {
				t.Errorf("node summary: the !ping / pong exchange through the REST bridge did not run")
			}
			if tc.compression == "zlib" && !summary.ZlibBoundaryChecked {
				t.Errorf("node summary: the zlib window-boundary message was not checked")
			}
			creates := 0
			for _, ps := range summary.PerShard {
				// GUILD_CREATEs count those of the shard's latest session.
				creates += ps.GuildCreates
				wantReady := 1
				if tc.invalidate && ps.Shard == 0 {
					wantReady = 2
				}
				if ps.Ready != wantReady || ps.HeartbeatAcks < 2 {
					t.Errorf("node summary, shard %d: %d READY, %d heartbeat ACKs; want %d and >= 2", ps.Shard, ps.Ready, ps.HeartbeatAcks, wantReady)
				}
			}
			if creates != guilds {
				t.Errorf("node summary: %d GUILD_CREATEs in all, want %d", creates, guilds)
			}

			checkIdentifies(t, info, shards, tc.invalidate)
			checkLedger(t, info, shards, tc.invalidate, summary.SessionBeforeDrop)
			checkUserAgent(t, info)
		})
	}
}

// requireNode returns the path of node, or skips (fails under CI=true) when node, npm or the
// installed npm packages are missing.
func requireNode(t *testing.T) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true: the interop test must run; install Node >= 20 and run test/interop/setup.sh)", msg)
		}
		t.Skipf("%s; install Node >= 20 and npm, then run test/interop/setup.sh", msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		missing("npm is not on PATH")
	}
	for _, pkg := range []string{"@discordjs/ws", "@discordjs/rest"} {
		if _, err := os.Stat(filepath.Join("node_modules", pkg, "package.json")); err != nil {
			missing("npm package %s is not installed in test/interop/node_modules", pkg)
		}
	}
	return node
}

// buildSimulator builds the standalone program into a temporary directory.
func buildSimulator(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "fakediscord")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "github.com/cordage/cordage/test/fakediscord/cmd/fakediscord")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build of the simulator: %v\n%s", err, out)
	}
	return bin
}

// simInfo is the JSON line the simulator prints with -json.
type simInfo struct {
	RESTURL    string `json:"rest_url"`
	GatewayURL string `json:"gateway_url"`
	ResumeURL  string `json:"resume_url"`
	ControlURL string `json:"control_url"`
	Token      string `json:"token"`
	Shards     int    `json:"shards"`
}

// syncBuffer is a bytes.Buffer the process's output copier and the test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startSimulator runs the program, reads its JSON line, and stops it with SIGTERM when the test
// ends, checking that it exits cleanly.
func startSimulator(t *testing.T, bin string, args ...string) simInfo {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 1)
	go func() {
		// Read the info line, then drain stdout so the program never blocks on it, then reap.
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, r)
		exited <- cmd.Wait()
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("simulator exited with %v after SIGTERM; stderr:\n%s", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("simulator did not exit within 10 s of SIGTERM; stderr:\n%s", stderr.String())
		}
	}
	t.Cleanup(stop)

	var line string
	select {
	case line = <-lines:
	case <-time.After(startTimeout):
		t.Fatalf("simulator printed nothing within %v; stderr:\n%s", startTimeout, stderr.String())
	}
	var info simInfo
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatalf("simulator's first line %q is not its JSON info: %v; stderr:\n%s", line, err, stderr.String())
	}
	for name, v := range map[string]string{"rest_url": info.RESTURL, "gateway_url": info.GatewayURL, "control_url": info.ControlURL, "token": info.Token} {
		if v == "" {
			t.Fatalf("simulator info has no %s: %s", name, line)
		}
	}
	if !strings.HasPrefix(info.RESTURL, "http://127.0.0.1:") || !strings.HasPrefix(info.GatewayURL, "ws://127.0.0.1:") {
		t.Fatalf("simulator does not listen on 127.0.0.1: %s", line)
	}
	return info
}

// nodeSummary is the JSON line discordjs.mjs prints on success.
type nodeSummary struct {
	OK                  bool   `json:"ok"`
	Shards              int    `json:"shards"`
	SessionBeforeDrop   string `json:"session_id_before_drop"`
	ZlibBoundaryChecked bool   `json:"zlib_boundary_checked"`
	PingPong            bool   `json:"ping_pong"`
	PerShard            []struct {
		Shard         int `json:"shard"`
		Ready         int `json:"ready"`
		GuildCreates  int `json:"guild_creates"`
		HeartbeatAcks int `json:"heartbeat_acks"`
		Resumed       int `json:"resumed"`
		MarkerSeen    int `json:"marker_seen"`
	} `json:"per_shard"`
}

func runNode(t *testing.T, node string, info simInfo, compression string, invalidate bool) nodeSummary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "discordjs.mjs")
	cmd.Env = append(os.Environ(),
		"FAKEDISCORD_REST_URL="+info.RESTURL,
		"FAKEDISCORD_CONTROL_URL="+info.ControlURL,
		"FAKEDISCORD_TOKEN="+info.Token,
		"INTEROP_COMPRESSION="+compression,
		"INTEROP_TIMEOUT_MS=45000",
	)
	if invalidate {
		cmd.Env = append(cmd.Env, "INTEROP_INVALIDATE=1")
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("node script did not finish within %v; stderr:\n%s", nodeTimeout, stderr.String())
	}
	if err != nil {
		t.Fatalf("node script failed (%v):\n%s%s", err, stderr.String(), stdout.String())
	}
	out := strings.TrimSpace(stdout.String())
	if i := strings.LastIndexByte(out, '\n'); i >= 0 {
		out = out[i+1:]
	}
	var sum nodeSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil || !sum.OK {
		t.Fatalf("node script's last line %q is not a success summary (%v); stderr:\n%s", out, err, stderr.String())
	}
	for _, ps := range sum.PerShard {
		// Shard 0 resumed after the drop and saw the marker; the last shard resumed after op 7.
		wantMarker := 0
		if ps.Shard == 0 {
			wantMarker = 1
		}
		if ps.Resumed != 1 || ps.MarkerSeen != wantMarker {
			t.Errorf("node summary, shard %d: resumed %d, marker seen %d; want 1 and %d", ps.Shard, ps.Resumed, ps.MarkerSeen, wantMarker)
		}
	}
	return sum
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, res.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
}

// checkIdentifies: exactly one accepted identify per session (one per shard, plus shard 0's
// second session after the invalidation) and nothing refused. A client that re-identified
// instead of resuming would show one more.
func checkIdentifies(t *testing.T, info simInfo, shards int, invalidated bool) {
	t.Helper()
	var got struct {
		Identifies []struct {
			Shard      int    `json:"shard"`
			ShardCount int    `json:"shard_count"`
			Accepted   bool   `json:"accepted"`
			Reason     string `json:"reason"`
		} `json:"identifies"`
		SpacingViolations int `json:"spacing_violations"`
	}
	getJSON(t, info.ControlURL+"/identifies", &got)
	want := map[int]int{}
	for i := range shards {
		want[i] = 1
	}
	if invalidated {
		want[0] = 2
	}
	perShard := map[int]int{}
	for _, id := range got.Identifies {
		if !id.Accepted || id.ShardCount != shards {
			t.Errorf("identify %+v: want it accepted, with count %d", id, shards)
		}
		perShard[id.Shard]++
	}
	for shard, n := range want {
		if perShard[shard] != n {
			t.Errorf("shard %d identified %d times, want %d (all identifies: %+v)", shard, perShard[shard], n, got.Identifies)
		}
	}
	total := 0
	for _, n := range want {
		total += n
	}
	if len(got.Identifies) != total {
		t.Errorf("simulator saw %d identifies, want %d: %+v", len(got.Identifies), total, got.Identifies)
	}
	if got.SpacingViolations != 0 {
		t.Errorf("simulator counted %d identify spacing violations", got.SpacingViolations)
	}
}

// checkLedger: each shard's first session was resumed once through the resume URL (shard 0
// after its dropped connection, the others after op 7), every resume replayed the consecutive
// seqs after the client's, and every dispatch of every session was written to a socket.
func checkLedger(t *testing.T, info simInfo, shards int, invalidated bool, sessionBeforeDrop string) {
	t.Helper()
	var l struct {
		Sessions []struct {
			ID         string `json:"id"`
			Shard      int    `json:"shard"`
			State      string `json:"state"`
			Dispatches []struct {
				Seq    int64  `json:"seq"`
				T      string `json:"t"`
				Writes int    `json:"writes"`
			} `json:"dispatches"`
			Resumes []struct {
				FromSeq      int64   `json:"from_seq"`
				Replayed     []int64 `json:"replayed"`
				ViaResumeURL bool    `json:"via_resume_url"`
			} `json:"resumes"`
			Connections []struct {
				End       string `json:"end"`
				Code      int    `json:"code"`
				Resumable bool   `json:"resumable"`
			} `json:"connections"`
		} `json:"sessions"`
	}
	getJSON(t, info.ControlURL+"/ledger", &l)
	wantSessions := shards
	if invalidated {
		wantSessions++
	}
	if len(l.Sessions) != wantSessions {
		t.Fatalf("ledger has %d sessions, want %d", len(l.Sessions), wantSessions)
	}
	seen := map[int]int{} // shard → sessions so far
	for _, s := range l.Sessions {
		for _, d := range s.Dispatches {
			if d.Writes < 1 {
				t.Errorf("session %s (shard %d): dispatch seq %d %s never written to a socket", s.ID, s.Shard, d.Seq, d.T)
			}
		}
		for _, r := range s.Resumes {
			for i, seq := range r.Replayed {
				if seq != r.FromSeq+int64(i)+1 {
					t.Errorf("session %s: resume from seq %d replayed %v, want consecutive seqs after it", s.ID, r.FromSeq, r.Replayed)
					break
				}
			}
			if !r.ViaResumeURL {
				t.Errorf("session %s (shard %d) resumed on the gateway URL instead of resume_gateway_url", s.ID, s.Shard)
			}
		}
		nth := seen[s.Shard]
		seen[s.Shard]++
		if nth > 0 {
			// Shard 0's second session, after op 9 d=false: nothing happened to it.
			if len(s.Resumes) != 0 {
				t.Errorf("shard %d's session %d resumed %d times, want 0", s.Shard, nth+1, len(s.Resumes))
			}
			continue
		}
		if len(s.Resumes) != 1 || len(s.Connections) < 2 {
			t.Errorf("shard %d's first session: %d resumes over %d connections, want 1 resume and a second connection", s.Shard, len(s.Resumes), len(s.Connections))
			continue
		}
		first := s.Connections[0]
		if s.Shard == 0 {
			if s.ID != sessionBeforeDrop {
				t.Errorf("shard 0's first session is %s, the client had %s", s.ID, sessionBeforeDrop)
			}
			if first.End != "dropped" {
				t.Errorf("shard 0's first connection ended %q, want dropped", first.End)
			}
			if invalidated && s.State != "dead" {
				t.Errorf("shard 0's invalidated session is %q, want dead", s.State)
			}
		} else if first.End != "client-close" || !first.Resumable {
			// After op 7 the client closes the connection itself, with a code that keeps the
			// session resumable.
			t.Errorf("shard %d's first connection after op 7 ended %q (code %d, resumable %v), want a resumable client close", s.Shard, first.End, first.Code, first.Resumable)
		}
	}
}

// checkUserAgent: every REST request came from @discordjs/rest, with a DiscordBot user agent.
func checkUserAgent(t *testing.T, info simInfo) {
	t.Helper()
	var ua struct {
		UserAgents []string `json:"user_agents"`
	}
	getJSON(t, info.ControlURL+"/user-agents", &ua)
	// GET /gateway/bot and the pong message at least.
	if len(ua.UserAgents) < 2 {
		t.Errorf("REST user agents %q: want at least two requests", ua.UserAgents)
	}
	for _, a := range ua.UserAgents {
		if !strings.HasPrefix(a, "DiscordBot (") {
			t.Errorf("REST user agent %q: want @discordjs/rest's DiscordBot (...) agent", a)
		}
	}
}
