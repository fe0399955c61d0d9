package voicesim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/voice"
	"github.com/cordage/cordage/test/fakediscord/voice/daveserver"
)

// ControlPrefix is where the standalone fakediscord program mounts the voice control API, next
// to the gateway's (fakediscord.ControlPrefix):
//
//	mux.Handle(voicesim.ControlPrefix, http.StripPrefix(strings.TrimSuffix(voicesim.ControlPrefix, "/"), vs.ControlHandler()))
const ControlPrefix = "/_fake/voice/"

// maxControlBody bounds a control request body; the largest is a fault with a small payload.
const maxControlBody = 1 << 20

// maxWaitTimeout bounds POST /wait, so that a forgotten request cannot hold a goroutine forever.
const maxWaitTimeout = 5 * time.Minute

// ControlHandler returns the voice server's JSON control API, the same knobs a Go test turns
// (Ledger, Faults, SetDAVEProtocolVersion, SetDAVEFaults, IssueToken, WaitFor) over HTTP, so
// that a bot in another process or language can be tested with voice. Routes are relative to
// the handler's root ("/ledger", "/faults/close", …); mount it under a prefix with
// http.StripPrefix. Bad input gets 400 with {"error": "..."}, a fault aimed at a user without a
// live session (or a channel without a call) 409, a request after Close 503. The route list is
// in docs/fakediscord.md and at GET /.
func (s *Server) ControlHandler() http.Handler {
	c := &voiceControl{s: s}
	mux := http.NewServeMux()
	routes := []struct {
		method, path string
		h            http.HandlerFunc
	}{
		{"GET", "/ledger", c.ledger},
		{"POST", "/wait", c.wait},
		{"POST", "/tokens", c.issueToken},
		{"POST", "/faults/close", c.closeWith},
		{"POST", "/faults/drop", c.userFault(s.faults.Drop)},
		{"POST", "/faults/udp-loss", c.probability(s.faults.SetUDPLoss)},
		{"POST", "/faults/udp-reorder", c.probability(s.faults.SetUDPReorder)},
		{"POST", "/faults/drop-ws", c.count(s.faults.DropWS)},
		{"POST", "/faults/withhold-acks", c.count(s.faults.WithholdACKs)},
		{"POST", "/faults/full-channel", c.fullChannel},
		{"POST", "/faults/null-endpoints", c.nullEndpoints},
		{"POST", "/dave/version", c.daveVersion},
		{"POST", "/dave/faults", c.daveFaults},
	}
	methods := map[string]string{}
	var list []string
	for _, r := range routes {
		mux.HandleFunc(r.method+" "+r.path, r.h)
		methods[r.path] = r.method
		list = append(list, r.method+" "+r.path)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"routes": list, "docs": "docs/fakediscord.md"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if m, ok := methods[r.URL.Path]; ok {
			w.Header().Set("Allow", m)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: method not allowed, use %s", r.Method, r.URL.Path, m))
			return
		}
		writeError(w, http.StatusNotFound, fmt.Sprintf("no voice control route %s %s", r.Method, r.URL.Path))
	})
	return mux
}

type voiceControl struct{ s *Server }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeResult answers an action by its error: {"ok":true}, 409 when the state does not allow it
// (no session, connection or call; no DAVE), 503 after Close, else 400.
func (c *voiceControl) writeResult(w http.ResponseWriter, err error) {
	switch {
	case err == nil:
		if c.closed() {
			writeError(w, http.StatusServiceUnavailable, errClosed.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	case errors.Is(err, errClosed):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, ErrNoSession), errors.Is(err, ErrNoConnection), errors.Is(err, ErrNoCall), errors.Is(err, ErrNoDAVE):
		if c.closed() {
			writeError(w, http.StatusServiceUnavailable, errClosed.Error())
			return
		}
		writeError(w, http.StatusConflict, err.Error())
	default:
		writeError(w, http.StatusBadRequest, err.Error())
	}
}

func (c *voiceControl) closed() bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.closed
}

// decode reads a JSON body into v: unknown fields, trailing data and bodies over 1 MiB are
// errors, so that a typo fails loudly. It answers the error itself and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON body")
	}
	if err == nil {
		if _, e := dec.Token(); e != io.EOF {
			err = errors.New("trailing data after the JSON body")
		}
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "body over 1 MiB")
			return false
		}
		if errors.Is(err, io.EOF) {
			err = errors.New("empty body, want a JSON object")
		}
		writeError(w, http.StatusBadRequest, "bad body: "+err.Error())
		return false
	}
	return true
}

// needID answers 400 when a required id is missing (zero).
func needID(w http.ResponseWriter, name string, id events.Snowflake) bool {
	if id == 0 {
		writeError(w, http.StatusBadRequest, name+" is required")
		return false
	}
	return true
}

func (c *voiceControl) ledger(w http.ResponseWriter, _ *http.Request) {
	l := c.s.Ledger() // a fresh snapshot: fillEmpty may change it
	l.fillEmpty()
	writeJSON(w, http.StatusOK, l)
}

type userBody struct {
	UserID events.Snowflake `json:"user_id"`
}

func (c *voiceControl) userFault(f func(events.Snowflake) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b userBody
		if !decode(w, r, &b) || !needID(w, "user_id", b.UserID) {
			return
		}
		c.writeResult(w, f(b.UserID))
	}
}

func (c *voiceControl) closeWith(w http.ResponseWriter, r *http.Request) {
	var b struct {
		UserID events.Snowflake `json:"user_id"`
		Code   *int             `json:"code"`
	}
	if !decode(w, r, &b) || !needID(w, "user_id", b.UserID) {
		return
	}
	// A close frame's code is a u16, and 1005, 1006 and 1015 may never be sent in one.
	if b.Code == nil || *b.Code < 1000 || *b.Code > 4999 || *b.Code == 1005 || *b.Code == 1006 || *b.Code == 1015 {
		writeError(w, http.StatusBadRequest, "code is required: a close code from 1000 to 4999 (not 1005, 1006, 1015)")
		return
	}
	c.writeResult(w, c.s.faults.Close(b.UserID, voice.CloseCode(*b.Code)))
}

func (c *voiceControl) probability(f func(events.Snowflake, float64) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			UserID events.Snowflake `json:"user_id"`
			P      *float64         `json:"p"`
		}
		if !decode(w, r, &b) || !needID(w, "user_id", b.UserID) {
			return
		}
		if b.P == nil || *b.P < 0 || *b.P > 1 {
			writeError(w, http.StatusBadRequest, "p is required: a probability from 0 to 1 (0 turns the fault off)")
			return
		}
		c.writeResult(w, f(b.UserID, *b.P))
	}
}

func (c *voiceControl) count(f func(events.Snowflake, int) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			UserID events.Snowflake `json:"user_id"`
			Count  int              `json:"count"`
		}
		if !decode(w, r, &b) || !needID(w, "user_id", b.UserID) {
			return
		}
		if b.Count < 1 || b.Count > 1_000_000 {
			writeError(w, http.StatusBadRequest, "count is required: 1 to 1000000")
			return
		}
		c.writeResult(w, f(b.UserID, b.Count))
	}
}

func (c *voiceControl) fullChannel(w http.ResponseWriter, r *http.Request) {
	var b struct {
		ChannelID events.Snowflake `json:"channel_id"`
		On        bool             `json:"on"`
	}
	if !decode(w, r, &b) || !needID(w, "channel_id", b.ChannelID) {
		return
	}
	c.s.faults.FullChannel(b.ChannelID, b.On)
	c.writeResult(w, nil)
}

func (c *voiceControl) nullEndpoints(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Count int `json:"count"`
	}
	if !decode(w, r, &b) {
		return
	}
	if b.Count < 0 || b.Count > 1000 {
		writeError(w, http.StatusBadRequest, "count must be 0 to 1000")
		return
	}
	c.s.faults.NullEndpoints(b.Count)
	c.writeResult(w, nil)
}

func (c *voiceControl) daveVersion(w http.ResponseWriter, r *http.Request) {
	var b struct {
		ChannelID events.Snowflake `json:"channel_id"`
		Version   *int             `json:"version"`
	}
	if !decode(w, r, &b) || !needID(w, "channel_id", b.ChannelID) {
		return
	}
	if b.Version == nil || *b.Version < 0 || *b.Version > c.s.cfg.daveVersion {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("version is required: 0 (downgrade) to %d (the server's DAVE version: upgrade)", c.s.cfg.daveVersion))
		return
	}
	c.writeResult(w, c.s.SetDAVEProtocolVersion(b.ChannelID, *b.Version))
}

func (c *voiceControl) daveFaults(w http.ResponseWriter, r *http.Request) {
	var b struct {
		ChannelID      events.Snowflake `json:"channel_id"`
		CorruptCommits int              `json:"corrupt_commits"`
		ForeignSenders int              `json:"foreign_senders"`
		StaleEpochs    int              `json:"stale_epochs"`
		IgnoreReady    bool             `json:"ignore_ready"`
		ForceDowngrade bool             `json:"force_downgrade"`
	}
	if !decode(w, r, &b) || !needID(w, "channel_id", b.ChannelID) {
		return
	}
	if b.CorruptCommits < 0 || b.ForeignSenders < 0 || b.StaleEpochs < 0 {
		writeError(w, http.StatusBadRequest, "fault counts must not be negative")
		return
	}
	c.writeResult(w, c.s.SetDAVEFaults(b.ChannelID, daveserver.Faults{CorruptCommits: b.CorruptCommits,
		ForeignSenders: b.ForeignSenders, StaleEpochs: b.StaleEpochs, IgnoreReady: b.IgnoreReady,
		ForceDowngrade: b.ForceDowngrade}))
}

// issueToken hands out a token for another user of the call, played by the test itself (the
// bot gets its own from VOICE_SERVER_UPDATE).
func (c *voiceControl) issueToken(w http.ResponseWriter, r *http.Request) {
	var b struct {
		GuildID   events.Snowflake `json:"guild_id"`
		ChannelID events.Snowflake `json:"channel_id"`
		UserID    events.Snowflake `json:"user_id"`
		SessionID string           `json:"session_id"`
	}
	if !decode(w, r, &b) || !needID(w, "guild_id", b.GuildID) || !needID(w, "channel_id", b.ChannelID) || !needID(w, "user_id", b.UserID) {
		return
	}
	if b.SessionID == "" {
		writeError(w, http.StatusBadRequest, "session_id is required")
		return
	}
	if c.closed() {
		writeError(w, http.StatusServiceUnavailable, errClosed.Error())
		return
	}
	token, endpoint := c.s.IssueToken(b.GuildID, b.ChannelID, b.UserID, b.SessionID)
	if token == "" {
		writeError(w, http.StatusConflict, "the channel is full (faults/full-channel)")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": token, "endpoint": endpoint})
}

// waitView is what POST /wait measures and answers.
type waitView struct {
	Sessions int `json:"sessions"` // sessions that have not ended
	Relayed  int `json:"relayed"`  // packets the relay sent
	Closes   int `json:"closes"`   // close frames the server sent
}

func measure(l *Ledger) waitView {
	v := waitView{Relayed: l.UDP.Relayed, Closes: len(l.Closes())}
	for _, s := range l.Sessions {
		if s.Ended == "" {
			v.Sessions++
		}
	}
	return v
}

// wait blocks until every count given is reached, like the gateway's POST /wait.
func (c *voiceControl) wait(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Sessions *int            `json:"sessions"`
		Relayed  *int            `json:"relayed"`
		Closes   *int            `json:"closes"`
		Timeout  json.RawMessage `json:"timeout"`
	}
	if !decode(w, r, &b) {
		return
	}
	timeout := 10 * time.Second
	if len(b.Timeout) > 0 {
		d, err := parseDuration(b.Timeout)
		if err != nil || d <= 0 || d > maxWaitTimeout {
			writeError(w, http.StatusBadRequest, "timeout must be a positive duration (\"5s\" or milliseconds) of at most 5m")
			return
		}
		timeout = d
	}
	holds := func(l *Ledger) bool {
		v := measure(l)
		return (b.Sessions == nil || v.Sessions >= *b.Sessions) &&
			(b.Relayed == nil || v.Relayed >= *b.Relayed) &&
			(b.Closes == nil || v.Closes >= *b.Closes)
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	err := c.s.WaitFor(ctx, holds)
	v := measure(c.s.Ledger())
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, v)
	case errors.Is(err, errClosed):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		writeJSON(w, http.StatusRequestTimeout, map[string]any{"error": "timed out waiting", "counts": v})
	}
}

// parseDuration takes a Go duration string or a number of milliseconds.
func parseDuration(raw json.RawMessage) (time.Duration, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return time.ParseDuration(strings.TrimSpace(s))
	}
	var ms float64
	if err := json.Unmarshal(raw, &ms); err != nil {
		return 0, err
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}
