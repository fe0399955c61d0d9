package fakediscord

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cordage/cordage/events"
)

// ControlPrefix is the path under which the standalone program mounts the control API:
//
//	srv.Mount(fakediscord.ControlPrefix, srv.ControlHandler())
const ControlPrefix = "/_fake/"

// maxControlBody bounds a control request body; a dispatch payload is the largest thing sent.
const maxControlBody = 1 << 20

// ControlHandler returns the JSON control API: the same driving and reading methods a Go test
// calls, over HTTP, so that tests written in any language (and users' bots in their own test
// suites) can steer the simulator. Its routes live under ControlPrefix; mount it with
// Server.Mount(ControlPrefix, h). Every answer is JSON; bad input gets 400 with
// {"error": "..."}, a fault or dispatch that finds no live session gets 409, and calls after
// Close get 503. docs/fakediscord.md lists the routes.
//
// The handler keeps the stop functions of the traffic generators and chaos runs it started;
// Server.Close stops them all in any case.
func (s *Server) ControlHandler() http.Handler {
	c := &control{s: s, traffic: map[int]func(){}, chaos: map[int]func(){}}
	r := &controlRoutes{mux: http.NewServeMux(), methods: map[string][]string{}}
	r.handle("GET", "/state", c.state)
	r.handle("POST", "/dispatch", c.dispatch)
	r.handle("POST", "/faults/drop", c.shardFault(s.Drop))
	r.handle("POST", "/faults/corrupt", c.shardFault(s.CorruptNext))
	r.handle("POST", "/faults/reconnect", c.shardFault(s.SendReconnect))
	r.handle("POST", "/faults/heartbeat", c.shardFault(s.RequestHeartbeat))
	r.handle("POST", "/faults/zlib-boundary", c.shardFault(s.ZlibBoundaryNext))
	r.handle("POST", "/faults/stall", c.stall)
	r.handle("POST", "/faults/invalidate", c.invalidate)
	r.handle("POST", "/faults/close", c.closeWith)
	r.handle("POST", "/faults/refuse-resumes", c.refuseResumes)
	r.handle("POST", "/faults/reconnect-before-hello", c.reconnectBeforeHello)
	r.handle("POST", "/traffic", c.startTraffic)
	r.handle("POST", "/traffic/stop", c.stopRuns(c.traffic, "traffic"))
	r.handle("POST", "/chaos", c.startChaos)
	r.handle("POST", "/chaos/stop", c.stopRuns(c.chaos, "chaos"))
	r.handle("GET", "/chaos", c.chaosLog)
	r.handle("GET", "/ledger", c.ledger)
	r.handle("GET", "/identifies", c.identifies)
	r.handle("GET", "/received", c.received)
	r.handle("GET", "/user-agents", c.userAgents)
	r.handle("POST", "/wait", c.wait)
	r.mux.HandleFunc("GET "+ControlPrefix+"{$}", r.index)
	r.mux.HandleFunc("/", r.notFound)
	return r.mux
}

// controlRoutes registers the routes and remembers each path's methods, so that a request with
// the wrong method gets a JSON 405 that names the right one.
type controlRoutes struct {
	mux     *http.ServeMux
	methods map[string][]string // full path → methods
	list    []string            // "METHOD path", in registration order
}

func (r *controlRoutes) handle(method, path string, h http.HandlerFunc) {
	full := strings.TrimSuffix(ControlPrefix, "/") + path
	r.mux.HandleFunc(method+" "+full, h)
	r.methods[full] = append(r.methods[full], method)
	r.list = append(r.list, method+" "+full)
}

// index answers GET ControlPrefix with the list of routes, so the API can be explored with curl.
func (r *controlRoutes) index(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"routes": r.list, "docs": "docs/fakediscord.md"})
}

func (r *controlRoutes) notFound(w http.ResponseWriter, req *http.Request) {
	if ms, ok := r.methods[req.URL.Path]; ok {
		w.Header().Set("Allow", strings.Join(ms, ", "))
		writeControlError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: method not allowed, use %s", req.Method, req.URL.Path, strings.Join(ms, " or ")))
		return
	}
	writeControlError(w, http.StatusNotFound, fmt.Sprintf("no control route %s %s", req.Method, req.URL.Path))
}

// control is the state of one ControlHandler.
type control struct {
	s *Server

	mu      sync.Mutex
	traffic map[int]func() // id → stop
	chaos   map[int]func() // id → stop
	nextID  int
}

// controlError is every error answer: {"error": "..."}.
type controlError struct {
	Error string `json:"error"`
}

func writeControlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, controlError{Error: msg})
}

// writeServerError maps an error of a Server method to a status: no live session is a conflict
// with the server's state, a closed server is unavailable, anything else is bad input (the
// methods reject only arguments).
func writeServerError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNoSession):
		writeControlError(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrClosed):
		writeControlError(w, http.StatusServiceUnavailable, err.Error())
	default:
		writeControlError(w, http.StatusBadRequest, err.Error())
	}
}

var okReply = map[string]bool{"ok": true}

// writeResult answers a control action by the error of its Server method: okReply on nil,
// else the status writeServerError maps it to.
func writeResult(w http.ResponseWriter, err error) {
	if err != nil {
		writeServerError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, okReply)
}

// closedForControl reports whether Close has been called, for routes whose Server method does
// not report it itself.
func (s *Server) closedForControl() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// decodeBody reads a JSON object into v. Unknown fields are an error, so that a typo such as
// "shrad" fails loudly instead of silently meaning shard 0.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeBodyOpt(w, r, v, false)
}

// decodeBodyOpt is decodeBody that, with allowEmpty, takes an empty body as "no fields".
func decodeBodyOpt(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.Is(err, io.EOF) && allowEmpty:
			return true
		case errors.Is(err, io.EOF):
			writeControlError(w, http.StatusBadRequest, "request body must be a JSON object, got an empty body")
		case errors.As(err, &mbe):
			writeControlError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", maxControlBody))
		default:
			writeControlError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		}
		return false
	}
	if dec.More() {
		writeControlError(w, http.StatusBadRequest, "bad JSON body: more than one JSON value")
		return false
	}
	return true
}

// Duration is a control-API duration: a JSON string in Go syntax ("250ms", "5s", "1m30s") or a
// JSON number of milliseconds. It is clock time, like every duration of the server.
type Duration time.Duration

// UnmarshalJSON accepts "250ms" or 250.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q (want e.g. \"250ms\", \"5s\" or a number of milliseconds)", s)
		}
		*d = Duration(v)
		return nil
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("invalid duration %s (want e.g. \"250ms\", \"5s\" or a number of milliseconds)", b)
	}
	*d = Duration(ms * float64(time.Millisecond))
	return nil
}

// MarshalJSON writes the duration in Go syntax.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// shardBody is the body of the faults that name only a shard.
type shardBody struct {
	Shard *int `json:"shard"`
}

func (b *shardBody) check(w http.ResponseWriter) bool {
	return checkShard(w, b.Shard)
}

func checkShard(w http.ResponseWriter, shard *int) bool {
	if shard == nil {
		writeControlError(w, http.StatusBadRequest, `missing "shard"`)
		return false
	}
	if *shard < 0 {
		writeControlError(w, http.StatusBadRequest, fmt.Sprintf(`"shard" must not be negative, got %d`, *shard))
		return false
	}
	return true
}

func (c *control) shardFault(f func(int) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b shardBody
		if !decodeBody(w, r, &b) || !b.check(w) {
			return
		}
		writeResult(w, f(*b.Shard))
	}
}

func (c *control) stall(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Shard    *int      `json:"shard"`
		Duration *Duration `json:"duration"`
	}
	if !decodeBody(w, r, &b) || !checkShard(w, b.Shard) {
		return
	}
	if b.Duration == nil || *b.Duration <= 0 {
		writeControlError(w, http.StatusBadRequest, `"duration" must be a positive duration such as "2s" or 2000`)
		return
	}
	writeResult(w, c.s.Stall(*b.Shard, time.Duration(*b.Duration)))
}

func (c *control) invalidate(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Shard     *int  `json:"shard"`
		Resumable *bool `json:"resumable"`
	}
	if !decodeBody(w, r, &b) || !checkShard(w, b.Shard) {
		return
	}
	if b.Resumable == nil {
		writeControlError(w, http.StatusBadRequest, `missing "resumable" (true: op 9 d=true, the session may resume; false: it is gone)`)
		return
	}
	writeResult(w, c.s.InvalidateSession(*b.Shard, *b.Resumable))
}

func (c *control) closeWith(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Shard *int `json:"shard"`
		Code  *int `json:"code"`
	}
	if !decodeBody(w, r, &b) || !checkShard(w, b.Shard) {
		return
	}
	if b.Code == nil {
		writeControlError(w, http.StatusBadRequest, `missing "code" (a websocket close code, e.g. 4000)`)
		return
	}
	if *b.Code < 1000 || *b.Code > 4999 {
		writeControlError(w, http.StatusBadRequest, fmt.Sprintf(`"code" must be a websocket close code in 1000..4999, got %d`, *b.Code))
		return
	}
	writeResult(w, c.s.CloseWith(*b.Shard, events.CloseCode(*b.Code)))
}

func (c *control) refuseResumes(w http.ResponseWriter, r *http.Request) {
	var b struct {
		On *bool `json:"on"`
	}
	if !decodeBody(w, r, &b) {
		return
	}
	if b.On == nil {
		writeControlError(w, http.StatusBadRequest, `missing "on" (true or false)`)
		return
	}
	c.s.RefuseResumes(*b.On)
	writeJSON(w, http.StatusOK, okReply)
}

func (c *control) reconnectBeforeHello(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Count *int `json:"count"`
	}
	if !decodeBody(w, r, &b) {
		return
	}
	if b.Count == nil || *b.Count < 0 {
		writeControlError(w, http.StatusBadRequest, `"count" must be a number of connections >= 0`)
		return
	}
	c.s.ReconnectBeforeHello(*b.Count)
	writeJSON(w, http.StatusOK, okReply)
}

// dispatchBody is the body of POST dispatch. With "shard" the event goes to every live session
// of that shard; otherwise to the sessions "guild_id" routes to (no guild_id: a guild-less
// event, which goes to shard 0).
type dispatchBody struct {
	GuildID *events.Snowflake `json:"guild_id"`
	Shard   *int              `json:"shard"`
	T       string            `json:"t"`
	D       json.RawMessage   `json:"d"`
}

func (c *control) dispatch(w http.ResponseWriter, r *http.Request) {
	var b dispatchBody
	if !decodeBody(w, r, &b) {
		return
	}
	if b.T == "" {
		writeControlError(w, http.StatusBadRequest, `missing "t" (the event name, e.g. "MESSAGE_CREATE")`)
		return
	}
	if b.GuildID != nil && b.Shard != nil {
		writeControlError(w, http.StatusBadRequest, `give "guild_id" or "shard", not both`)
		return
	}
	d := b.D
	if len(d) == 0 {
		d = json.RawMessage("null")
	}
	var err error
	if b.Shard != nil {
		if !checkShard(w, b.Shard) {
			return
		}
		err = c.s.DispatchToShard(*b.Shard, b.T, d)
	} else {
		var g events.Snowflake
		if b.GuildID != nil {
			g = *b.GuildID
		}
		err = c.s.Dispatch(g, b.T, d)
	}
	writeResult(w, err)
}

// StateView is the answer of GET state.
type StateView struct {
	Addr          string `json:"addr"`
	RESTURL       string `json:"rest_url"`
	GatewayURL    string `json:"gateway_url"`
	ResumeURL     string `json:"resume_url"`
	ControlURL    string `json:"control_url"`
	Token         string `json:"token"`
	ApplicationID string `json:"application_id"`
	BotUserID     string `json:"bot_user_id"`
	// ShardCount is the recommended count GET /gateway/bot returns; Guilds[].Shard uses it.
	ShardCount        int                      `json:"shard_count"`
	SessionStartLimit events.SessionStartLimit `json:"session_start_limit"`
	Guilds            []GuildView              `json:"guilds"`
	Now               time.Time                `json:"now"` // clock time
	Connections       int                      `json:"connections"`
	Sessions          []SessionView            `json:"sessions"`
	Identifies        int                      `json:"identifies"`
	SpacingViolations int                      `json:"spacing_violations"`
	Received          map[string]int           `json:"received"` // shard → client frames other than heartbeats
}

// GuildView is one guild of the bot and the shard the recommended count routes it to.
type GuildView struct {
	ID    events.Snowflake `json:"id"`
	Shard int              `json:"shard"`
}

// SessionView is one session in StateView.
type SessionView struct {
	ID           string `json:"id"`
	Shard        int    `json:"shard"`
	ShardCount   int    `json:"shard_count"`
	State        string `json:"state"`
	LastSeq      int64  `json:"last_seq"`
	Resumes      int    `json:"resumes"`
	Connections  int    `json:"connections"`
	LastEnd      string `json:"last_end"`
	LastCode     int    `json:"last_code"`
	ConnectionID int    `json:"connection_id"`
}

func (c *control) state(w http.ResponseWriter, r *http.Request) {
	s := c.s
	sn := s.Snapshot()
	count := s.RecommendedShards()
	v := StateView{
		Addr:              s.Addr(),
		RESTURL:           s.RESTURL(),
		GatewayURL:        s.GatewayURL(),
		ResumeURL:         s.ResumeURL(),
		ControlURL:        "http://" + s.Addr() + strings.TrimSuffix(ControlPrefix, "/"),
		Token:             s.Token(),
		ApplicationID:     s.ApplicationID().String(),
		BotUserID:         s.BotUser().ID.String(),
		ShardCount:        count,
		SessionStartLimit: s.SessionStartLimit(),
		Guilds:            []GuildView{},
		Now:               sn.Now,
		Connections:       sn.Connections,
		Sessions:          []SessionView{},
		Identifies:        len(sn.Identifies),
		SpacingViolations: sn.SpacingViolations,
		Received:          map[string]int{},
	}
	for _, g := range s.Guilds() {
		v.Guilds = append(v.Guilds, GuildView{ID: g, Shard: g.ShardID(count)})
	}
	for _, si := range sn.Sessions {
		v.Sessions = append(v.Sessions, SessionView{
			ID: si.ID, Shard: si.Shard, ShardCount: si.ShardCount, State: string(si.State),
			LastSeq: si.LastSeq, Resumes: si.Resumes, Connections: si.Connections,
			LastEnd: si.LastEnd, LastCode: int(si.LastCode), ConnectionID: si.ConnectionID,
		})
	}
	for shard, n := range sn.Received {
		v.Received[strconv.Itoa(shard)] = n
	}
	writeJSON(w, http.StatusOK, v)
}

// LedgerView is the answer of GET ledger: Ledger with snake_case names.
type LedgerView struct {
	Sessions []LedgerSessionView `json:"sessions"`
}

// LedgerSessionView is one session of LedgerView.
type LedgerSessionView struct {
	ID          string            `json:"id"`
	Shard       int               `json:"shard"`
	ShardCount  int               `json:"shard_count"`
	Intents     uint64            `json:"intents"`
	Started     time.Time         `json:"started"`
	State       string            `json:"state"`
	Dispatches  []LedgerEntryView `json:"dispatches"`
	Resumes     []ResumeView      `json:"resumes"`
	Connections []ConnView        `json:"connections"`
}

// LedgerEntryView is one dispatch of a session.
type LedgerEntryView struct {
	Seq     int64            `json:"seq"`
	T       string           `json:"t"`
	GuildID events.Snowflake `json:"guild_id,omitempty"`
	EventID string           `json:"event_id"`
	Hash    string           `json:"hash"`
	At      time.Time        `json:"at"`
	Writes  int              `json:"writes"`
	Replays int              `json:"replays"`
}

// ResumeView is one successful resume.
type ResumeView struct {
	At           time.Time `json:"at"`
	FromSeq      int64     `json:"from_seq"`
	Replayed     []int64   `json:"replayed"`
	ViaResumeURL bool      `json:"via_resume_url"`
	ResumedSeq   int64     `json:"resumed_seq"`
}

// ConnView is one connection that carried a session.
type ConnView struct {
	ConnID    int        `json:"conn_id"`
	Opened    time.Time  `json:"opened"`
	Ended     *time.Time `json:"ended"` // null while open
	End       string     `json:"end"`
	Code      int        `json:"code"`
	Resumable bool       `json:"resumable"`
}

// ledger answers GET ledger, optionally narrowed by ?session=ID and/or ?shard=N.
func (c *control) ledger(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	wantSession := q.Get("session")
	shard, ok := queryShard(w, r)
	if !ok {
		return
	}
	l := c.s.Ledger()
	v := LedgerView{Sessions: []LedgerSessionView{}}
	for _, ls := range l.Sessions {
		if wantSession != "" && ls.ID != wantSession {
			continue
		}
		if shard >= 0 && ls.Shard != shard {
			continue
		}
		sv := LedgerSessionView{
			ID: ls.ID, Shard: ls.Shard, ShardCount: ls.ShardCount, Intents: uint64(ls.Intents),
			Started: ls.Started, State: string(ls.State),
			Dispatches: make([]LedgerEntryView, 0, len(ls.Dispatches)),
			Resumes:    make([]ResumeView, 0, len(ls.Resumes)), Connections: make([]ConnView, 0, len(ls.Connections)),
		}
		for _, e := range ls.Dispatches {
			sv.Dispatches = append(sv.Dispatches, LedgerEntryView{
				Seq: e.Seq, T: e.T, GuildID: e.GuildID, EventID: e.EventID, Hash: e.Hash, At: e.At,
				Writes: e.Writes, Replays: e.Replays,
			})
		}
		for _, rr := range ls.Resumes {
			sv.Resumes = append(sv.Resumes, ResumeView{
				At: rr.At, FromSeq: rr.FromSeq, Replayed: append([]int64{}, rr.Replayed...),
				ViaResumeURL: rr.ViaResumeURL, ResumedSeq: rr.ResumedSeq,
			})
		}
		for _, cr := range ls.Connections {
			cv := ConnView{ConnID: cr.ConnID, Opened: cr.Opened, End: cr.End, Code: int(cr.Code), Resumable: cr.Resumable}
			if !cr.Ended.IsZero() {
				ended := cr.Ended
				cv.Ended = &ended
			}
			sv.Connections = append(sv.Connections, cv)
		}
		v.Sessions = append(v.Sessions, sv)
	}
	if wantSession != "" && len(v.Sessions) == 0 {
		writeControlError(w, http.StatusNotFound, fmt.Sprintf("no session %q in the ledger", wantSession))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// queryShard reads ?shard=N; it returns -1 when the parameter is absent.
func queryShard(w http.ResponseWriter, r *http.Request) (int, bool) {
	raw := r.URL.Query().Get("shard")
	if raw == "" {
		return -1, true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		writeControlError(w, http.StatusBadRequest, fmt.Sprintf("shard must be a number >= 0, got %q", raw))
		return 0, false
	}
	return n, true
}

// IdentifyView is one identify in the answer of GET identifies.
type IdentifyView struct {
	ConnID       int       `json:"conn_id"`
	Shard        int       `json:"shard"`
	ShardCount   int       `json:"shard_count"`
	At           time.Time `json:"at"`
	Bucket       int       `json:"bucket"`
	Accepted     bool      `json:"accepted"`
	Reason       string    `json:"reason,omitempty"`
	Code         int       `json:"code,omitempty"`
	SessionID    string    `json:"session_id,omitempty"`
	ViaResumeURL bool      `json:"via_resume_url"`
	Intents      uint64    `json:"intents"`
}

func (c *control) identifies(w http.ResponseWriter, r *http.Request) {
	shard, ok := queryShard(w, r)
	if !ok {
		return
	}
	out := struct {
		Identifies        []IdentifyView `json:"identifies"`
		SpacingViolations int            `json:"spacing_violations"`
	}{Identifies: []IdentifyView{}, SpacingViolations: c.s.SpacingViolations()}
	for _, rec := range c.s.IdentifyLog() {
		if shard >= 0 && rec.Shard != shard {
			continue
		}
		out.Identifies = append(out.Identifies, IdentifyView{
			ConnID: rec.ConnID, Shard: rec.Shard, ShardCount: rec.ShardCount, At: rec.At,
			Bucket: rec.Bucket, Accepted: rec.Accepted, Reason: rec.Reason, Code: int(rec.Code),
			SessionID: rec.SessionID, ViaResumeURL: rec.ViaResumeURL, Intents: uint64(rec.Intents),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// received answers GET received?shard=N: the client's frames other than heartbeats. The token
// inside identify and resume frames is replaced, so the answer can be logged.
func (c *control) received(w http.ResponseWriter, r *http.Request) {
	shard, ok := queryShard(w, r)
	if !ok {
		return
	}
	if shard < 0 {
		writeControlError(w, http.StatusBadRequest, "missing ?shard=N")
		return
	}
	type frame struct {
		Op int             `json:"op"`
		D  json.RawMessage `json:"d"`
	}
	out := struct {
		Frames []frame `json:"frames"`
	}{Frames: []frame{}}
	for _, env := range c.s.Received(shard) {
		d := env.D
		if len(d) == 0 {
			d = json.RawMessage("null")
		}
		out.Frames = append(out.Frames, frame{Op: int(env.Op), D: redactToken(d)})
	}
	writeJSON(w, http.StatusOK, out)
}

// redactToken replaces a top-level "token" member of an object; other payloads pass unchanged.
func redactToken(d json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(d, &m) != nil {
		return d
	}
	if _, ok := m["token"]; !ok {
		return d
	}
	m["token"] = json.RawMessage(`"[redacted]"`)
	b, err := json.Marshal(m)
	if err != nil {
		return d
	}
	return b
}

func (c *control) userAgents(w http.ResponseWriter, r *http.Request) {
	ua := c.s.UserAgents()
	if ua == nil {
		ua = []string{}
	}
	writeJSON(w, http.StatusOK, map[string][]string{"user_agents": ua})
}
