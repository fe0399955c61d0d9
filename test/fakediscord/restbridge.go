package fakediscord

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync/atomic"

	"github.com/andybalholm/brotli"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord/restsim"
)

// RESTBridge joins the gateway simulator and the REST simulator (package restsim) into one
// Discord: the REST side knows the gateway's guilds, text channels and members by the same ids;
// a message the bot creates over REST comes back on the gateway as MESSAGE_CREATE, as Discord
// sends it; and scripted users can write messages (UserMessage) and run slash commands
// (Interact) that the bot receives on the gateway and answers over REST.
//
// Make one with NewRESTBridge; it mounts itself as the server's REST handler.
type RESTBridge struct {
	s   *Server
	sim *restsim.Server

	echoed, echoLost atomic.Int64
}

// NewRESTBridge creates a REST simulator configured by cfg for s and mounts it (SetREST). The
// token, application id and clock are always s's, and the seeded restsim guild is left out
// (NoSeed), so that there is one world: s's guilds, each with its text channel "general" and
// its members, mirrored into the REST side.
func NewRESTBridge(s *Server, cfg restsim.Config) *RESTBridge {
	cfg.Token = s.cfg.token
	cfg.ApplicationID = s.world.appID
	cfg.Clock = s.clk
	cfg.NoSeed = true
	b := &RESTBridge{s: s, sim: restsim.New(cfg)}
	w := s.world
	for i, g := range w.guildIDs {
		b.sim.MirrorGuild(g, fmt.Sprintf("Fake Guild %d", i))
		b.sim.MirrorChannel(w.textChannel(g), g, "general")
		for m := range w.members {
			b.sim.MirrorUser(*w.member(g, m).User, g)
		}
	}
	s.SetREST(b)
	return b
}

// REST returns the REST simulator, for its ledger, messages and interaction states.
func (b *RESTBridge) REST() *restsim.Server { return b.sim }

// TextChannel returns the id of guild g's text channel, where UserMessage and Interact write.
func (b *RESTBridge) TextChannel(g events.Snowflake) events.Snowflake {
	return b.s.world.textChannel(g)
}

// BridgeStats counts the bot's messages echoed to the gateway.
type BridgeStats struct {
	// Echoed messages the bot created over REST reached a session as MESSAGE_CREATE; EchoLost
	// found no live session for their guild's shard.
	Echoed, EchoLost int64
}

// Stats returns the counters so far.
func (b *RESTBridge) Stats() BridgeStats {
	return BridgeStats{Echoed: b.echoed.Load(), EchoLost: b.echoLost.Load()}
}

// Routes that create a message in a channel: a message, a follow-up (answered with the message
// under ?wait=true), and an interaction callback (whose message is the original response).
var (
	createMessagePath = regexp.MustCompile(`^(?:/api/v\d+)?/channels/\d+/messages$`)
	followupPath      = regexp.MustCompile(`^(?:/api/v\d+)?/webhooks/\d+/[^/]+$`)
	callbackPath      = regexp.MustCompile(`^(?:/api/v\d+)?/interactions/(\d+)/[^/]+/callback$`)
)

// ServeHTTP hands the request to the REST simulator and, when it created a message, sends the
// message to the gateway as MESSAGE_CREATE, as Discord does for messages, follow-ups and
// interaction responses.
func (b *RESTBridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		b.sim.ServeHTTP(w, r)
		return
	}
	path := r.URL.Path
	switch {
	case createMessagePath.MatchString(path), followupPath.MatchString(path):
		tee := &teeWriter{ResponseWriter: w}
		b.sim.ServeHTTP(tee, r)
		if tee.status != http.StatusOK {
			return // a follow-up without ?wait=true answers 204: its message is not known here
		}
		body, err := decodeContent(tee.Header().Get("Content-Encoding"), tee.buf.Bytes())
		if err != nil {
			b.s.log.Warn("restbridge: cannot read a created message")
			return
		}
		b.echo(body)
	case callbackPath.MatchString(path):
		tee := &teeWriter{ResponseWriter: w}
		b.sim.ServeHTTP(tee, r)
		if tee.status/100 != 2 {
			return
		}
		id, err := events.ParseSnowflake(callbackPath.FindStringSubmatch(path)[1])
		if err != nil {
			return
		}
		if st := b.sim.InteractionState(id); st.Original != nil && (st.ResponseType == 4 || st.ResponseType == 5) {
			b.echo(st.Original)
		}
	default:
		b.sim.ServeHTTP(w, r)
	}
}

// echo dispatches a message the bot created, with the member Discord adds in guilds.
func (b *RESTBridge) echo(raw []byte) {
	var msg map[string]any
	if json.Unmarshal(raw, &msg) != nil {
		return
	}
	var guild events.Snowflake
	if g, ok := msg["guild_id"].(string); ok {
		guild, _ = events.ParseSnowflake(g)
		if guild != 0 {
			msg["member"] = memberWithoutUser(b.s.world.member(guild, -1))
		}
	}
	if err := b.s.Dispatch(guild, events.EventMessageCreate, msg); err != nil {
		b.echoLost.Add(1)
		return
	}
	b.echoed.Add(1)
}

func memberWithoutUser(m events.Member) events.Member {
	m.User = nil
	return m
}

type teeWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (t *teeWriter) WriteHeader(code int) {
	t.status = code
	t.ResponseWriter.WriteHeader(code)
}

func (t *teeWriter) Write(p []byte) (int, error) {
	if t.status == 0 {
		t.status = http.StatusOK
	}
	t.buf.Write(p)
	return t.ResponseWriter.Write(p)
}

func decodeContent(enc string, body []byte) ([]byte, error) {
	switch enc {
	case "":
		return body, nil
	case "br":
		return io.ReadAll(brotli.NewReader(bytes.NewReader(body)))
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	}
	return nil, fmt.Errorf("unknown content encoding %q", enc)
}

// ErrUnknownMember is returned by UserMessage and Interact for a guild the bot is not in or a
// member index out of range.
var ErrUnknownMember = errors.New("fakediscord: unknown guild or member")

// ErrCommandNotRegistered is returned by Interact for a command the bot has not registered
// (globally or in the guild): Discord's client would not offer it.
var ErrCommandNotRegistered = errors.New("fakediscord: command not registered")

// UserMessage makes member (index from 0, see WithMembersPerGuild) of guild write content in
// the guild's text channel: the message is stored on the REST side, so the bot can reply to
// it, and dispatched on the gateway as MESSAGE_CREATE. When no live session takes the event,
// the message is removed again and the error wraps ErrNoSession, so that a caller can retry
// and every message that exists was delivered.
func (b *RESTBridge) UserMessage(guild events.Snowflake, member int, content string) (events.Snowflake, error) {
	w := b.s.world
	if !w.hasGuild(guild) || member < 0 || member >= w.members {
		return 0, ErrUnknownMember
	}
	ch := w.textChannel(guild)
	raw, err := b.sim.PostAsUser(ch, w.memberID(guild, member), content)
	if err != nil {
		return 0, err
	}
	var msg map[string]any
	if err := json.Unmarshal(raw, &msg); err != nil {
		return 0, err
	}
	id, _ := events.ParseSnowflake(fmt.Sprint(msg["id"]))
	msg["member"] = memberWithoutUser(w.member(guild, member))
	if err := b.s.Dispatch(guild, events.EventMessageCreate, msg); err != nil {
		_ = b.sim.RemoveMessage(ch, id)
		return 0, err
	}
	return id, nil
}

// Interact makes member of guild run the chat-input command name (without options) in the
// guild's text channel: the interaction is created on the REST side (its token answers the
// callback route for 3 s and follow-ups for 15 min) and dispatched on the gateway as
// INTERACTION_CREATE. It fails with ErrCommandNotRegistered when the bot has not registered
// name, and with an error wrapping ErrNoSession when no live session took the event (the
// interaction then simply expires, as one the bot never saw would).
func (b *RESTBridge) Interact(guild events.Snowflake, member int, name string) (restsim.Interaction, error) {
	w := b.s.world
	if !w.hasGuild(guild) || member < 0 || member >= w.members {
		return restsim.Interaction{}, ErrUnknownMember
	}
	cmdID, ok := b.commandID(guild, name)
	if !ok {
		return restsim.Interaction{}, fmt.Errorf("%w: /%s", ErrCommandNotRegistered, name)
	}
	ch := w.textChannel(guild)
	it := b.sim.NewInteraction(ch)
	m := w.member(guild, member)
	m.Permissions = 2248473465835073
	ctxGuild := 0
	d := map[string]any{
		"id": it.ID, "application_id": it.ApplicationID, "type": 2, "token": it.Token, "version": 1,
		"data":     map[string]any{"id": cmdID, "name": name, "type": 1},
		"guild_id": guild, "channel_id": ch,
		"channel":                        map[string]any{"id": ch, "type": 0, "guild_id": guild, "name": "general"},
		"member":                         m,
		"app_permissions":                "2248473465835073",
		"locale":                         "en-US",
		"guild_locale":                   "en-US",
		"context":                        ctxGuild,
		"authorizing_integration_owners": map[string]any{"0": guild.String()},
		"entitlements":                   []any{},
	}
	if err := b.s.Dispatch(guild, events.EventInteractionCreate, d); err != nil {
		return restsim.Interaction{}, err
	}
	return it, nil
}

// commandID finds the id of chat-input command name, in the guild or global.
func (b *RESTBridge) commandID(guild events.Snowflake, name string) (events.Snowflake, bool) {
	for _, scope := range []events.Snowflake{guild, 0} {
		for _, raw := range b.sim.Commands(scope) {
			var c struct {
				ID   events.Snowflake `json:"id"`
				Name string           `json:"name"`
				Type int              `json:"type"`
			}
			if json.Unmarshal(raw, &c) == nil && c.Name == name && (c.Type == 0 || c.Type == 1) {
				return c.ID, true
			}
		}
	}
	return 0, false
}

// BridgePrefix is where MountControl serves the bridge's control routes, next to the control
// API of ControlHandler.
const BridgePrefix = ControlPrefix + "rest/"

// MountControl serves the bridge's JSON control routes on the server, under BridgePrefix:
//
//	GET  /_fake/rest/world                   guilds with their shard, text channel and member ids
//	POST /_fake/rest/messages                {"guild_id","member","content"} → {"id","channel_id"}
//	POST /_fake/rest/interactions            {"guild_id","member","command"} → {"id","channel_id"}
//	GET  /_fake/rest/messages?channel_id=…   the channel's messages, oldest first
//	GET  /_fake/rest/interactions/{id}       what the bot did with an interaction
//	GET  /_fake/rest/ledger                  every REST request (method, path, route, status, scope)
//	GET  /_fake/rest/stats                   bot messages echoed to the gateway, or lost
//
// A message or interaction that no live session took answers 409, as the control API does.
func (b *RESTBridge) MountControl() error {
	mux := http.NewServeMux()
	p := BridgePrefix
	mux.HandleFunc("GET "+p+"world", b.ctlWorld)
	mux.HandleFunc("POST "+p+"messages", b.ctlMessage)
	mux.HandleFunc("POST "+p+"interactions", b.ctlInteract)
	mux.HandleFunc("GET "+p+"messages", b.ctlMessages)
	mux.HandleFunc("GET "+p+"interactions/{id}", b.ctlInteraction)
	mux.HandleFunc("GET "+p+"ledger", b.ctlLedger)
	mux.HandleFunc("GET "+p+"stats", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, b.Stats()) })
	mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
		writeControlError(w, http.StatusNotFound, fmt.Sprintf("no control route %s %s", r.Method, r.URL.Path))
	})
	return b.s.Mount(p, mux)
}

// BridgeGuild is one guild in GET world.
type BridgeGuild struct {
	ID          events.Snowflake   `json:"id"`
	TextChannel events.Snowflake   `json:"text_channel_id"`
	Members     []events.Snowflake `json:"member_ids"`
}

func (b *RESTBridge) ctlWorld(w http.ResponseWriter, _ *http.Request) {
	wd := b.s.world
	out := struct {
		ApplicationID events.Snowflake `json:"application_id"`
		Guilds        []BridgeGuild    `json:"guilds"`
	}{ApplicationID: wd.appID, Guilds: []BridgeGuild{}}
	for _, g := range wd.guildIDs {
		bg := BridgeGuild{ID: g, TextChannel: wd.textChannel(g), Members: []events.Snowflake{}}
		for m := range wd.members {
			bg.Members = append(bg.Members, wd.memberID(g, m))
		}
		out.Guilds = append(out.Guilds, bg)
	}
	writeJSON(w, http.StatusOK, out)
}

type userActionBody struct {
	GuildID events.Snowflake `json:"guild_id"`
	Member  int              `json:"member"`
	Content string           `json:"content"`
	Command string           `json:"command"`
}

func (b *RESTBridge) writeActionError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrUnknownMember):
		writeControlError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrCommandNotRegistered):
		writeControlError(w, http.StatusConflict, err.Error())
	default:
		writeServerError(w, err)
	}
}

func (b *RESTBridge) ctlMessage(w http.ResponseWriter, r *http.Request) {
	var body userActionBody
	if !decodeBody(w, r, &body) {
		return
	}
	if body.Content == "" || body.Command != "" {
		writeControlError(w, http.StatusBadRequest, `want "guild_id", "member" and a non-empty "content"`)
		return
	}
	id, err := b.UserMessage(body.GuildID, body.Member, body.Content)
	if err != nil {
		b.writeActionError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "channel_id": b.TextChannel(body.GuildID)})
}

func (b *RESTBridge) ctlInteract(w http.ResponseWriter, r *http.Request) {
	var body userActionBody
	if !decodeBody(w, r, &body) {
		return
	}
	if body.Command == "" || body.Content != "" {
		writeControlError(w, http.StatusBadRequest, `want "guild_id", "member" and a non-empty "command"`)
		return
	}
	it, err := b.Interact(body.GuildID, body.Member, body.Command)
	if err != nil {
		b.writeActionError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": it.ID, "channel_id": it.ChannelID})
}

func (b *RESTBridge) ctlMessages(w http.ResponseWriter, r *http.Request) {
	id, err := events.ParseSnowflake(r.URL.Query().Get("channel_id"))
	if err != nil || id == 0 {
		writeControlError(w, http.StatusBadRequest, `want ?channel_id=<snowflake>`)
		return
	}
	msgs := b.sim.Messages(id)
	if msgs == nil {
		msgs = []json.RawMessage{}
	}
	writeJSON(w, http.StatusOK, msgs)
}

func (b *RESTBridge) ctlInteraction(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		writeControlError(w, http.StatusBadRequest, "want an interaction id")
		return
	}
	st := b.sim.InteractionState(events.Snowflake(id))
	writeJSON(w, http.StatusOK, map[string]any{
		"response_type": st.ResponseType, "original": st.Original, "followups": st.Followups,
	})
}

// BridgeLedgerEntry is one REST request in GET ledger.
type BridgeLedgerEntry struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Route  string `json:"route"`
	Status int    `json:"status"`
	Scope  string `json:"scope,omitempty"`
}

func (b *RESTBridge) ctlLedger(w http.ResponseWriter, _ *http.Request) {
	out := []BridgeLedgerEntry{}
	for _, e := range b.sim.Ledger() {
		out = append(out, BridgeLedgerEntry{Method: e.Method, Path: e.Path, Route: e.Route, Status: e.Status, Scope: string(e.Scope)})
	}
	writeJSON(w, http.StatusOK, out)
}
