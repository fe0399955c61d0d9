package fakediscord

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
)

// controlServer starts a server with the control API mounted and returns it with the API's base
// URL ("http://127.0.0.1:PORT/_fake").
func controlServer(t *testing.T, opts ...Option) (*Server, string) {
	t.Helper()
	s := newServer(t, opts...)
	if err := s.Mount(ControlPrefix, s.ControlHandler()); err != nil {
		t.Fatal(err)
	}
	return s, "http://" + s.Addr() + strings.TrimSuffix(ControlPrefix, "/")
}

// doCtl sends one control request and returns the status, the body and the Content-Type. It
// does not touch t, so that goroutines may call it.
func doCtl(method, url, body string) (int, []byte, string, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr, Timeout: testTimeout}).Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header.Get("Content-Type"), err
}

// ctl sends one control request and returns the status and the body. body may be "" for none.
func ctl(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	code, b, ct, err := doCtl(method, url, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json (body %s)", method, url, ct, b)
	}
	return code, b
}

// ctlOK sends a request that must succeed and decodes the answer into v (if not nil).
func ctlOK(t *testing.T, method, url, body string, v any) {
	t.Helper()
	code, b := ctl(t, method, url, body)
	if code != http.StatusOK {
		t.Fatalf("%s %s %s: %d %s", method, url, body, code, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
}

// ctlErr sends a request that must fail with status and an {"error": ...} body containing want.
func ctlErr(t *testing.T, method, url, body string, status int, want string) {
	t.Helper()
	code, b := ctl(t, method, url, body)
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
		t.Fatalf("%s %s %s: body %s is not {\"error\": ...}", method, url, body, b)
	}
	if code != status || !strings.Contains(e.Error, want) {
		t.Errorf("%s %s %s: %d %q; want %d and an error containing %q", method, url, body, code, e.Error, status, want)
	}
}

// noMessage checks that c has nothing queued right now. It only looks at what has already
// arrived, so it is used after a later message proved that the earlier one would have come.
func noMessage(t *testing.T, c *wsClient) {
	t.Helper()
	select {
	case env := <-c.msgs:
		t.Fatalf("unexpected message op %v t %q %s", env.Op, env.T, env.D)
	default:
	}
}

func TestControlState(t *testing.T) {
	s, api := controlServer(t, WithShardCount(2), WithGuilds(4), WithMaxConcurrency(2))
	connect(t, s, 1, 2, dialOpts{})

	var st StateView
	ctlOK(t, "GET", api+"/state", "", &st)
	if st.RESTURL != s.RESTURL() || st.GatewayURL != s.GatewayURL() || st.ResumeURL != s.ResumeURL() || st.ControlURL != api {
		t.Errorf("state URLs %+v do not match the server's", st)
	}
	if st.Token != s.Token() || st.ShardCount != 2 || st.SessionStartLimit.MaxConcurrency != 2 {
		t.Errorf("state token/shards/max_concurrency: %q %d %d", st.Token, st.ShardCount, st.SessionStartLimit.MaxConcurrency)
	}
	if st.SessionStartLimit.Remaining != 999 || st.Identifies != 1 || st.Connections != 1 {
		t.Errorf("state after one identify: remaining %d, identifies %d, connections %d", st.SessionStartLimit.Remaining, st.Identifies, st.Connections)
	}
	if len(st.Guilds) != 4 {
		t.Fatalf("state has %d guilds, want 4", len(st.Guilds))
	}
	for _, g := range st.Guilds {
		if g.Shard != g.ID.ShardID(2) {
			t.Errorf("guild %v: shard %d, want %d", g.ID, g.Shard, g.ID.ShardID(2))
		}
	}
	if len(st.Sessions) != 1 || st.Sessions[0].Shard != 1 || st.Sessions[0].ShardCount != 2 || st.Sessions[0].State != "connected" {
		t.Errorf("state sessions %+v: want one connected session of shard 1/2", st.Sessions)
	}
	if st.Received["1"] != 1 {
		t.Errorf("state received %v: want the identify of shard 1", st.Received)
	}
	// The JSON names are snake_case, for non-Go clients.
	_, raw := ctl(t, "GET", api+"/state", "")
	for _, key := range []string{`"rest_url"`, `"gateway_url"`, `"control_url"`, `"session_start_limit"`, `"last_seq"`} {
		if !bytes.Contains(raw, []byte(key)) {
			t.Errorf("state JSON lacks %s: %s", key, raw)
		}
	}
}

func TestControlDispatch(t *testing.T) {
	// Two identify buckets, so the two identifies need no 5 s spacing.
	s, api := controlServer(t, WithShardCount(2), WithGuilds(4), WithMaxConcurrency(2))
	c0, _ := connect(t, s, 0, 2, dialOpts{})
	c1, _ := connect(t, s, 1, 2, dialOpts{})
	g1 := s.GuildsOfShard(1, 2)[0]

	// By guild: only the guild's shard gets it, with d exactly as given.
	ctlOK(t, "POST", api+"/dispatch", fmt.Sprintf(`{"guild_id":"%d","t":"CORDAGE_TEST","d":{"n":1}}`, g1), nil)
	env := c1.expect(events.OpDispatch, "CORDAGE_TEST")
	if string(env.D) != `{"n":1}` {
		t.Errorf("dispatched d = %s", env.D)
	}
	// A guild id may be a JSON number too.
	ctlOK(t, "POST", api+"/dispatch", fmt.Sprintf(`{"guild_id":%d,"t":"CORDAGE_TEST","d":{"n":2}}`, g1), nil)
	c1.expect(events.OpDispatch, "CORDAGE_TEST")
	// By shard, and guild-less (to shard 0).
	ctlOK(t, "POST", api+"/dispatch", `{"shard":0,"t":"TO_SHARD","d":[1,2]}`, nil)
	ctlOK(t, "POST", api+"/dispatch", `{"t":"GUILDLESS"}`, nil)
	c0.expect(events.OpDispatch, "TO_SHARD")
	if env := c0.expect(events.OpDispatch, "GUILDLESS"); len(env.D) != 0 && string(env.D) != "null" {
		t.Errorf("dispatch without d sent d = %s, want null", env.D)
	}
	// Shard 1 got nothing else: a later event to it arrives next.
	ctlOK(t, "POST", api+"/dispatch", `{"shard":1,"t":"LAST"}`, nil)
	c1.expect(events.OpDispatch, "LAST")
	noMessage(t, c0)

	bad := []struct {
		body   string
		status int
		want   string
	}{
		{``, 400, "empty body"},
		{`{"t":`, 400, "bad JSON"},
		{`[1]`, 400, "bad JSON"},
		{`{"t":"X"} {"t":"Y"}`, 400, "more than one"},
		{`{"d":{}}`, 400, `missing "t"`},
		{`{"t":"X","shrad":1}`, 400, `unknown field "shrad"`},
		{`{"t":"X","shard":0,"guild_id":"1"}`, 400, "not both"},
		{`{"t":"X","shard":-1}`, 400, "negative"},
		{`{"t":"X","guild_id":"abc"}`, 400, "snowflake"},
		{`{"t":"X","d":{"a":}`, 400, "bad JSON"},
		{`{"t":"X","shard":5}`, 409, "no live session"},
	}
	for _, b := range bad {
		ctlErr(t, "POST", api+"/dispatch", b.body, b.status, b.want)
	}
	ctlErr(t, "POST", api+"/dispatch", `{"t":"X","d":"`+strings.Repeat("a", maxControlBody)+`"}`, 413, "over")
}

func TestControlShardFaults(t *testing.T) {
	// One shard (and identify bucket) per connection, so that no identify waits for another.
	s, api := controlServer(t, WithShardCount(4), WithMaxConcurrency(4))
	c, _ := connect(t, s, 0, 4, dialOpts{})

	ctlOK(t, "POST", api+"/faults/heartbeat", `{"shard":0}`, nil)
	c.expect(events.OpHeartbeat, "")
	ctlOK(t, "POST", api+"/faults/reconnect", `{"shard":0}`, nil)
	c.expect(events.OpReconnect, "")
	ctlOK(t, "POST", api+"/faults/corrupt", `{"shard":0}`, nil)
	if env := c.next(); env.Op != -1 {
		t.Errorf("after corrupt: got op %v %s, want a frame that is not JSON", env.Op, env.D)
	}
	ctlOK(t, "POST", api+"/faults/invalidate", `{"shard":0,"resumable":true}`, nil)
	if env := c.expect(events.OpInvalidSession, ""); string(env.D) != "true" {
		t.Errorf("invalidate resumable: op 9 d=%s", env.D)
	}

	c1, _ := connect(t, s, 1, 4, dialOpts{})
	// A plain connection has no zlib stream to pad.
	ctlErr(t, "POST", api+"/faults/zlib-boundary", `{"shard":1}`, 400, "zlib")
	ctlOK(t, "POST", api+"/faults/invalidate", `{"shard":1,"resumable":false}`, nil)
	if env := c1.expect(events.OpInvalidSession, ""); string(env.D) != "false" {
		t.Errorf("invalidate: op 9 d=%s", env.D)
	}

	c2, _ := connect(t, s, 2, 4, dialOpts{})
	ctlOK(t, "POST", api+"/faults/close", `{"shard":2,"code":4000}`, nil)
	if code := c2.closeCode(); code != events.CloseUnknownError {
		t.Errorf("close: client saw %v, want 4000", code)
	}

	c3, _ := connect(t, s, 3, 4, dialOpts{})
	ctlOK(t, "POST", api+"/faults/drop", `{"shard":3}`, nil)
	if code := c3.closeCode(); code != events.CloseAbnormal {
		t.Errorf("drop: client saw %v, want 1006 (no close frame)", code)
	}
	var st StateView
	ctlOK(t, "GET", api+"/state", "", &st)
	last := st.Sessions[len(st.Sessions)-1]
	if last.Shard != 3 || last.State != "resumable" || last.LastEnd != EndDropped {
		t.Errorf("after drop shard 3's session is %+v, want resumable after %s", last, EndDropped)
	}

	for _, path := range []string{"drop", "corrupt", "reconnect", "heartbeat", "zlib-boundary"} {
		ctlErr(t, "POST", api+"/faults/"+path, `{}`, 400, `missing "shard"`)
		ctlErr(t, "POST", api+"/faults/"+path, `{"shard":-2}`, 400, "negative")
		ctlErr(t, "POST", api+"/faults/"+path, `{"shard":"0"}`, 400, "bad JSON")
		ctlErr(t, "POST", api+"/faults/"+path, `{"shard":7}`, 409, "no live session")
	}
	ctlErr(t, "POST", api+"/faults/invalidate", `{"shard":0}`, 400, `missing "resumable"`)
	ctlErr(t, "POST", api+"/faults/close", `{"shard":0}`, 400, `missing "code"`)
	ctlErr(t, "POST", api+"/faults/close", `{"shard":0,"code":999}`, 400, "1000..4999")
	ctlErr(t, "POST", api+"/faults/close", `{"shard":0,"code":5000}`, 400, "1000..4999")
	ctlErr(t, "POST", api+"/faults/close", `{"shard":9,"code":4000}`, 409, "no live session")
}

func TestControlZlibBoundary(t *testing.T) {
	s, api := controlServer(t)
	c, _ := connect(t, s, 0, 1, dialOpts{compress: "zlib-stream"})
	ctlOK(t, "POST", api+"/faults/zlib-boundary", `{"shard":0}`, nil)
	ctlOK(t, "POST", api+"/dispatch", `{"shard":0,"t":"PADDED","d":{}}`, nil)
	select {
	case env := <-c.msgs:
		raw := <-c.raw
		if env.T != "PADDED" || !bytes.Contains(raw, []byte(`"_pad"`)) {
			t.Errorf("after zlib-boundary got %s, want the padded dispatch", raw)
		}
	case <-time.After(testTimeout):
		t.Fatal("no dispatch after zlib-boundary")
	}
}

func TestControlStall(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s, api := controlServer(t, WithClock(clk))
	c, _ := connect(t, s, 0, 1, dialOpts{})

	ctlOK(t, "POST", api+"/faults/stall", `{"shard":0,"duration":"30s"}`, nil)
	ctlOK(t, "POST", api+"/dispatch", `{"shard":0,"t":"AFTER_STALL"}`, nil)
	// Nothing moves until the manual clock passes the stall; then the dispatch arrives.
	clk.Advance(30 * time.Second)
	c.expect(events.OpDispatch, "AFTER_STALL")

	// A number is milliseconds: 1500 ms here. The stall ends exactly 1.5 s of clock time later.
	ctlOK(t, "POST", api+"/faults/stall", `{"shard":0,"duration":1500}`, nil)
	s.mu.Lock()
	var until time.Time
	for cn := range s.conns {
		cn.qmu.Lock()
		until = cn.stallUntil
		cn.qmu.Unlock()
	}
	s.mu.Unlock()
	if want := clk.Now().Add(1500 * time.Millisecond); !until.Equal(want) {
		t.Errorf("stall with 1500: until %v, want %v", until, want)
	}
	clk.Advance(1500 * time.Millisecond)

	for body, want := range map[string]string{
		`{"shard":0}`:                       `"duration" must be a positive`,
		`{"shard":0,"duration":"0s"}`:       `"duration" must be a positive`,
		`{"shard":0,"duration":-5}`:         `"duration" must be a positive`,
		`{"shard":0,"duration":"soon"}`:     "invalid duration",
		`{"shard":0,"duration":true}`:       "invalid duration",
		`{"duration":"1s"}`:                 `missing "shard"`,
		`{"shard":0,"duration":"1s","x":1}`: "unknown field",
	} {
		ctlErr(t, "POST", api+"/faults/stall", body, 400, want)
	}
	ctlErr(t, "POST", api+"/faults/stall", `{"shard":3,"duration":"1s"}`, 409, "no live session")
}

func TestControlRefuseResumesAndReconnectBeforeHello(t *testing.T) {
	s, api := controlServer(t)
	c, ready := connect(t, s, 0, 1, dialOpts{})
	ctlOK(t, "POST", api+"/faults/refuse-resumes", `{"on":true}`, nil)
	ctlOK(t, "POST", api+"/faults/drop", `{"shard":0}`, nil)
	c.closeCode()

	r := dial(t, s, dialOpts{resume: true})
	r.hello()
	r.send(events.OpResume, events.Resume{Token: s.Token(), SessionID: ready.SessionID, Seq: 1})
	if env := r.expect(events.OpInvalidSession, ""); string(env.D) != "false" {
		t.Errorf("refused resume: op 9 d=%s, want false", env.D)
	}
	ctlOK(t, "POST", api+"/faults/refuse-resumes", `{"on":false}`, nil)
	s.mu.Lock()
	on := s.refuseResumes
	s.mu.Unlock()
	if on {
		t.Error("refuse-resumes off did not turn it off")
	}

	ctlOK(t, "POST", api+"/faults/reconnect-before-hello", `{"count":1}`, nil)
	first := dial(t, s, dialOpts{})
	first.expect(events.OpReconnect, "")
	second := dial(t, s, dialOpts{})
	second.hello()

	ctlErr(t, "POST", api+"/faults/refuse-resumes", `{}`, 400, `missing "on"`)
	ctlErr(t, "POST", api+"/faults/refuse-resumes", `{"on":"yes"}`, 400, "bad JSON")
	ctlErr(t, "POST", api+"/faults/reconnect-before-hello", `{}`, 400, `"count"`)
	ctlErr(t, "POST", api+"/faults/reconnect-before-hello", `{"count":-1}`, 400, `"count"`)
}

func TestControlTraffic(t *testing.T) {
	s, api := controlServer(t, WithShardCount(2), WithGuilds(4))
	c0, _ := connect(t, s, 0, 2, dialOpts{})

	var started struct {
		ID int `json:"id"`
	}
	ctlOK(t, "POST", api+"/traffic", `{"rate":50,"count":5,"event":"TRAFFIC_TEST","shards":[0],"d":{"k":1}}`, &started)
	for range 5 {
		if env := c0.expect(events.OpDispatch, "TRAFFIC_TEST"); string(env.D) != `{"k":1}` {
			t.Errorf("traffic d = %s", env.D)
		}
	}
	if started.ID == 0 {
		t.Error("traffic start returned no id")
	}
	var stopped struct {
		Stopped int `json:"stopped"`
	}
	ctlOK(t, "POST", api+"/traffic/stop", fmt.Sprintf(`{"id":%d}`, started.ID), &stopped)
	if stopped.Stopped != 1 {
		t.Errorf("stop by id stopped %d runs", stopped.Stopped)
	}
	ctlErr(t, "POST", api+"/traffic/stop", fmt.Sprintf(`{"id":%d}`, started.ID), 404, "no traffic run")

	// Default payloads to the guilds of shard 0, a long run stopped early with an empty body.
	// At 1000x, 0.5 events per clock second is 500 per wall second.
	g0 := s.GuildsOfShard(0, 2)
	body, _ := json.Marshal(map[string]any{"rate": 0.5, "count": 1000000, "guilds": g0})
	ctlOK(t, "POST", api+"/traffic", string(body), nil)
	env := c0.expect(events.OpDispatch, "MESSAGE_CREATE")
	var msg struct {
		Content string           `json:"content"`
		GuildID events.Snowflake `json:"guild_id"`
	}
	if err := env.Decode(&msg); err != nil || !strings.HasPrefix(msg.Content, "traffic ") || msg.GuildID.ShardID(2) != 0 {
		t.Errorf("default traffic message %s (%v)", env.D, err)
	}
	ctlOK(t, "POST", api+"/traffic/stop", "", &stopped)
	if stopped.Stopped != 1 {
		t.Errorf("stop all stopped %d runs, want 1", stopped.Stopped)
	}

	for body, want := range map[string]string{
		`{"rate":-1}`:                   `"rate"`,
		`{"count":-3}`:                  `"count"`,
		`{"guilds":["1"],"shards":[0]}`: "not both",
		`{"shards":[-1]}`:               "negative",
		`{"d":{"a":}}`:                  "bad JSON",
		`{"event":"X","colour":"red"}`:  "unknown field",
		`{"guilds":[true]}`:             "snowflake",
	} {
		ctlErr(t, "POST", api+"/traffic", body, 400, want)
	}
	ctlErr(t, "POST", api+"/traffic/stop", `{"id":"x"}`, 400, "bad JSON")
}

func TestControlChaos(t *testing.T) {
	s, api := controlServer(t)
	c, _ := connect(t, s, 0, 1, dialOpts{})

	var started struct {
		ID   int `json:"id"`
		Plan []struct {
			Delay string `json:"delay"`
			Fault Fault  `json:"fault"`
			Shard int    `json:"shard"`
		} `json:"plan"`
	}
	ctlOK(t, "POST", api+"/chaos", `{"seed":7,"interval":"1s","faults":["heartbeat-request"],"shards":[0],"count":3}`, &started)
	want := s.ChaosPlan(ChaosConfig{Seed: 7, Interval: time.Second, Faults: []Fault{FaultHeartbeatRequest}, Shards: []int{0}, Count: 3})
	if len(started.Plan) != len(want) {
		t.Fatalf("chaos plan has %d steps, want %d", len(started.Plan), len(want))
	}
	for i, st := range started.Plan {
		if st.Delay != want[i].Delay.String() || st.Fault != want[i].Fault || st.Shard != want[i].Shard {
			t.Errorf("plan step %d = %+v, want %+v", i, st, want[i])
		}
	}
	for range 3 {
		c.expect(events.OpHeartbeat, "")
	}
	ctx := ctxT(t)
	if err := s.WaitFor(ctx, func(*Snapshot) bool { return len(s.ChaosLog()) == 3 }); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Events []ChaosEventView `json:"events"`
	}
	ctlOK(t, "GET", api+"/chaos", "", &log)
	if len(log.Events) != 3 || log.Events[0].Fault != FaultHeartbeatRequest || log.Events[0].Error != "" {
		t.Errorf("chaos log %+v: want 3 heartbeat requests without error", log.Events)
	}
	var stopped struct {
		Stopped int `json:"stopped"`
	}
	ctlOK(t, "POST", api+"/chaos/stop", `{}`, &stopped)
	if stopped.Stopped != 1 {
		t.Errorf("chaos stop stopped %d runs, want 1", stopped.Stopped)
	}

	// A run that never fires (one fault a day) is stopped by id.
	ctlOK(t, "POST", api+"/chaos", `{"interval":"24h","count":1}`, &started)
	ctlOK(t, "POST", api+"/chaos/stop", fmt.Sprintf(`{"id":%d}`, started.ID), &stopped)
	if stopped.Stopped != 1 {
		t.Errorf("chaos stop by id stopped %d runs", stopped.Stopped)
	}

	for body, want := range map[string]string{
		`{"faults":["meteor"]}`: `unknown fault "meteor"`,
		`{"interval":"0s"}`:     `"interval" must be a positive`,
		`{"interval":"fast"}`:   "invalid duration",
		`{"stall_for":-1}`:      `"stall_for" must be a positive`,
		`{"count":-1}`:          `"count"`,
		`{"shards":[-1]}`:       "negative",
		`{"seed":"x"}`:          "bad JSON",
		`{"seeds":1}`:           "unknown field",
	} {
		ctlErr(t, "POST", api+"/chaos", body, 400, want)
	}
	ctlErr(t, "POST", api+"/chaos/stop", `{"id":999}`, 404, "no chaos run")
}

func TestControlLedgerIdentifiesReceived(t *testing.T) {
	s, api := controlServer(t, WithShardCount(2), WithGuilds(2))
	c, ready := connect(t, s, 0, 2, dialOpts{})
	ctlOK(t, "POST", api+"/dispatch", `{"shard":0,"t":"LEDGER_TEST","d":{"x":1}}`, nil)
	c.expect(events.OpDispatch, "LEDGER_TEST")
	ctlOK(t, "POST", api+"/faults/drop", `{"shard":0}`, nil)
	c.closeCode()
	// Buffered while no connection carries the session, then replayed by the resume.
	ctlOK(t, "POST", api+"/dispatch", `{"shard":0,"t":"MISSED","d":{}}`, nil)
	r := dial(t, s, dialOpts{resume: true})
	r.hello()
	r.send(events.OpResume, events.Resume{Token: s.Token(), SessionID: ready.SessionID, Seq: 0})
	r.until(events.OpDispatch, "RESUMED")

	var l LedgerView
	ctlOK(t, "GET", api+"/ledger", "", &l)
	if len(l.Sessions) != 1 {
		t.Fatalf("ledger has %d sessions, want 1", len(l.Sessions))
	}
	ls := l.Sessions[0]
	if ls.ID != ready.SessionID || ls.Shard != 0 || ls.ShardCount != 2 || ls.Intents != uint64(events.IntentsAll) {
		t.Errorf("ledger session %s %d/%d intents %d", ls.ID, ls.Shard, ls.ShardCount, ls.Intents)
	}
	names := []string{}
	for i, d := range ls.Dispatches {
		names = append(names, d.T)
		if d.Seq != int64(i+1) || d.EventID == "" || d.Hash == "" {
			t.Errorf("dispatch %d: %+v", i, d)
		}
	}
	if got := strings.Join(names, ","); got != "READY,GUILD_CREATE,LEDGER_TEST,MISSED,RESUMED" {
		t.Errorf("ledger dispatches %s", got)
	}
	if len(ls.Resumes) != 1 || !ls.Resumes[0].ViaResumeURL || ls.Resumes[0].FromSeq != 0 || len(ls.Resumes[0].Replayed) != 4 {
		t.Errorf("ledger resumes %+v: want one via the resume URL replaying seqs 1-4", ls.Resumes)
	}
	if len(ls.Connections) != 2 || ls.Connections[0].End != EndDropped || ls.Connections[0].Ended == nil || ls.Connections[1].Ended != nil {
		t.Errorf("ledger connections %+v: want a dropped one and an open one", ls.Connections)
	}
	ctlOK(t, "GET", api+"/ledger?shard=1", "", &l)
	if len(l.Sessions) != 0 {
		t.Errorf("ledger?shard=1 has %d sessions, want 0", len(l.Sessions))
	}
	ctlOK(t, "GET", api+"/ledger?session="+ready.SessionID, "", &l)
	if len(l.Sessions) != 1 {
		t.Errorf("ledger?session= has %d sessions, want 1", len(l.Sessions))
	}
	ctlErr(t, "GET", api+"/ledger?session=nope", "", 404, `no session "nope"`)
	ctlErr(t, "GET", api+"/ledger?shard=x", "", 400, "shard must be a number")

	var ids struct {
		Identifies        []IdentifyView `json:"identifies"`
		SpacingViolations int            `json:"spacing_violations"`
	}
	ctlOK(t, "GET", api+"/identifies", "", &ids)
	if len(ids.Identifies) != 1 || !ids.Identifies[0].Accepted || ids.Identifies[0].SessionID != ready.SessionID || ids.SpacingViolations != 0 {
		t.Errorf("identifies %+v", ids)
	}
	ctlOK(t, "GET", api+"/identifies?shard=1", "", &ids)
	if len(ids.Identifies) != 0 {
		t.Errorf("identifies?shard=1: %+v", ids.Identifies)
	}
	ctlErr(t, "GET", api+"/identifies?shard=-1", "", 400, "shard must be a number")

	code, raw := ctl(t, "GET", api+"/received?shard=0", "")
	if code != 200 || !bytes.Contains(raw, []byte(`"op":2`)) || !bytes.Contains(raw, []byte(`"op":6`)) {
		t.Errorf("received: %d %s; want the identify and the resume", code, raw)
	}
	if bytes.Contains(raw, []byte(s.Token())) || !bytes.Contains(raw, []byte(`[redacted]`)) {
		t.Errorf("received shows the token: %s", raw)
	}
	ctlErr(t, "GET", api+"/received", "", 400, "missing ?shard")

	restGet(t, s, "/gateway/bot", "Bot "+s.Token())
	var ua struct {
		UserAgents []string `json:"user_agents"`
	}
	ctlOK(t, "GET", api+"/user-agents", "", &ua)
	if len(ua.UserAgents) != 1 || !strings.HasPrefix(ua.UserAgents[0], "DiscordBot (") {
		t.Errorf("user agents %q", ua.UserAgents)
	}
}

func TestControlRoutes(t *testing.T) {
	s, api := controlServer(t)
	ctlErr(t, "GET", api+"/nothing", "", 404, "no control route GET /_fake/nothing")
	ctlErr(t, "GET", api+"/dispatch", "", 405, "use POST")
	ctlErr(t, "DELETE", api+"/state", "", 405, "use GET")
	var idx struct {
		Routes []string `json:"routes"`
	}
	ctlOK(t, "GET", api+"/", "", &idx)
	if len(idx.Routes) < 20 || idx.Routes[0] != "GET /_fake/state" {
		t.Errorf("index lists %q", idx.Routes)
	}
	// The gateway and REST routes are untouched by the mount.
	if code, _ := restGet(t, s, "/gateway", ""); code != 200 {
		t.Errorf("GET /gateway with the control API mounted: %d", code)
	}
}

func TestControlAfterClose(t *testing.T) {
	s, err := New(WithClock(clock.Scaled(1000)))
	if err != nil {
		t.Fatal(err)
	}
	h := s.ControlHandler()
	s.Close()
	for _, tc := range []struct{ path, body string }{
		{"/_fake/dispatch", `{"t":"X"}`},
		{"/_fake/faults/drop", `{"shard":0}`},
		{"/_fake/traffic", `{}`},
		{"/_fake/chaos", `{}`},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", tc.path, strings.NewReader(tc.body)))
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "closed") {
			t.Errorf("%s after Close: %d %s, want 503", tc.path, rec.Code, rec.Body.String())
		}
	}
}

func TestDurationJSON(t *testing.T) {
	for in, want := range map[string]time.Duration{
		`"250ms"`: 250 * time.Millisecond,
		`"1m30s"`: 90 * time.Second,
		`1500`:    1500 * time.Millisecond,
		`0.5`:     500 * time.Microsecond,
	} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err != nil || time.Duration(d) != want {
			t.Errorf("unmarshal %s = %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	for _, in := range []string{`"5 parsecs"`, `true`, `{}`, `"`} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("unmarshal %s succeeded", in)
		}
	}
	if b, _ := json.Marshal(Duration(1500 * time.Millisecond)); string(b) != `"1.5s"` {
		t.Errorf("marshal 1.5s = %s", b)
	}
}

func TestControlWait(t *testing.T) {
	s, api := controlServer(t, WithShardCount(2), WithMaxConcurrency(2))

	// The wait starts before the bot connects and returns once it has.
	type result struct {
		code int
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, b, _, err := doCtl("POST", api+"/wait", `{"connected":2,"identifies":2,"timeout":"10s"}`)
		done <- result{code, b, err}
	}()
	connect(t, s, 0, 2, dialOpts{})
	c1, ready := connect(t, s, 1, 2, dialOpts{})
	res := <-done
	var v WaitView
	if err := json.Unmarshal(res.body, &v); err != nil || res.code != 200 || v.Connected != 2 || v.Identifies != 2 {
		t.Fatalf("wait for two connected: %d %s %v", res.code, res.body, res.err)
	}

	ctlOK(t, "POST", api+"/faults/drop", `{"shard":1}`, nil)
	c1.closeCode()
	go func() {
		code, b, _, err := doCtl("POST", api+"/wait", `{"resumes":1,"connected":1,"shard":1}`)
		done <- result{code, b, err}
	}()
	r := dial(t, s, dialOpts{resume: true})
	r.hello()
	r.send(events.OpResume, events.Resume{Token: s.Token(), SessionID: ready.SessionID, Seq: 1})
	r.until(events.OpDispatch, "RESUMED")
	if res := <-done; res.code != 200 {
		t.Fatalf("wait for the resume: %d %s %v", res.code, res.body, res.err)
	}

	ctlErr(t, "POST", api+"/wait", `{"connected":3,"timeout":"20ms"}`, 408, "connected 2")
	ctlErr(t, "POST", api+"/wait", `{}`, 400, "at least one")
	ctlErr(t, "POST", api+"/wait", `{"connected":-1}`, 400, "negative")
	ctlErr(t, "POST", api+"/wait", `{"connected":1,"timeout":"1h"}`, 400, `"timeout" must be in`)
	ctlErr(t, "POST", api+"/wait", `{"connected":1,"timeout":0}`, 400, `"timeout" must be in`)
}

// FuzzControlBodies sends arbitrary bodies to every POST route of a server with no sessions: the
// answer is always JSON, never a panic, and an error is always a client error or 409.
func FuzzControlBodies(f *testing.F) {
	routes := []string{
		"/dispatch", "/faults/drop", "/faults/stall", "/faults/corrupt", "/faults/reconnect",
		"/faults/invalidate", "/faults/heartbeat", "/faults/close", "/faults/refuse-resumes",
		"/faults/zlib-boundary", "/faults/reconnect-before-hello", "/traffic", "/traffic/stop",
		"/chaos", "/chaos/stop",
	}
	for i, seed := range []string{
		`{"t":"X","d":{}}`, `{"shard":0}`, `{"shard":0,"duration":"1s"}`, `{"shard":0,"resumable":true}`,
		`{"shard":0,"code":4000}`, `{"on":true}`, `{"count":1}`, `{"rate":10,"count":2,"shards":[0]}`,
		`{"seed":3,"interval":"1h","count":2}`, `{"id":1}`, ``, `{`, `{"guild_id":"x"}`, `[]`, `null`,
	} {
		f.Add(uint8(i), seed)
	}
	s, err := New(WithClock(clock.Scaled(1000)), WithHeartbeatInterval(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Close)
	h := s.ControlHandler()
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		path := ControlPrefix + strings.TrimPrefix(routes[int(route)%len(routes)], "/")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(body)))
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("POST %s %q: answer %q is not JSON", path, body, rec.Body.String())
		}
		switch rec.Code {
		case 200, 400, 404, 409, 413:
		default:
			t.Fatalf("POST %s %q: status %d %s", path, body, rec.Code, rec.Body.String())
		}
		// Whatever was started ends here, so iterations do not pile up goroutines.
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", ControlPrefix+"traffic/stop", nil))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", ControlPrefix+"chaos/stop", nil))
		s.RefuseResumes(false)
		s.ReconnectBeforeHello(0)
	})
}
