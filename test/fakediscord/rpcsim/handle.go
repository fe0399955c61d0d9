package rpcsim

import (
	"encoding/json"
	"fmt"

	"github.com/cordage/cordage/events"
)

// RPC error codes the simulator answers with.
const (
	codeInvalidPayload           = 4000
	codeInvalidCommand           = 4002
	codeInvalidGuild             = 4003
	codeInvalidEvent             = 4004
	codeInvalidChannel           = 4005
	codeInvalidPermissions       = 4006
	codeInvalidClientID          = 4007
	codeInvalidToken             = 4009
	codeOAuth2Error              = 5000
	codeSelectVoiceForceRequired = 5003
)

type request struct {
	Cmd   string          `json:"cmd"`
	Nonce string          `json:"nonce"`
	Evt   string          `json:"evt"`
	Args  json.RawMessage `json:"args"`
}

// rpcError is an ERROR answer.
type rpcError struct {
	code int
	msg  string
}

func fail(code int, format string, a ...any) *rpcError {
	return &rpcError{code, fmt.Sprintf(format, a...)}
}

// handle answers one command.
func (s *Server) handle(c *conn, b []byte) {
	var req request
	if err := json.Unmarshal(b, &req); err != nil || req.Cmd == "" {
		_ = c.send(map[string]any{"cmd": "DISPATCH", "evt": "ERROR", "data": map[string]any{"code": codeInvalidPayload, "message": "Payload could not be decoded"}})
		return
	}
	s.mu.Lock()
	s.ledger = append(s.ledger, req.Cmd)
	var injected *rpcError
	if q := s.faults.next[req.Cmd]; len(q) > 0 {
		injected = &rpcError{q[0].code, q[0].msg}
		s.faults.next[req.Cmd] = q[1:]
	}
	s.mu.Unlock()

	var data any
	var after func()
	rerr := injected
	if rerr == nil {
		data, after, rerr = s.run(c, req)
	}
	answer := map[string]any{"cmd": req.Cmd, "nonce": req.Nonce, "evt": nil, "data": data}
	if req.Evt != "" && rerr == nil {
		answer["evt"] = req.Evt
	}
	if rerr != nil {
		answer["evt"] = "ERROR"
		answer["data"] = map[string]any{"code": rerr.code, "message": rerr.msg}
	}
	_ = c.send(answer)
	if after != nil { // events a command causes go out after its answer, as in the app
		after()
	}
}

// needAuth is the app's rule: every command but the handshake-free ones needs AUTHENTICATE
// with the rpc scope.
func (s *Server) needAuthLocked(c *conn) *rpcError {
	if c.token == "" {
		return fail(codeInvalidPermissions, "Not authenticated or invalid scope")
	}
	for _, sc := range c.scopes {
		if sc == "rpc" {
			return nil
		}
	}
	return fail(codeInvalidPermissions, "Not authenticated or invalid scope")
}

func (s *Server) run(c *conn, req request) (any, func(), *rpcError) {
	var args struct {
		ClientID  string            `json:"client_id"`
		Scopes    []string          `json:"scopes"`
		Token     string            `json:"access_token"`
		GuildID   events.Snowflake  `json:"guild_id"`
		ChannelID *events.Snowflake `json:"channel_id"`
		Force     bool              `json:"force"`
		PID       *int              `json:"pid"`
		Activity  json.RawMessage   `json:"activity"`
	}
	if len(req.Args) > 0 {
		if err := json.Unmarshal(req.Args, &args); err != nil {
			return nil, nil, fail(codeInvalidPayload, "Invalid args: %v", err)
		}
	}
	channelID := events.Snowflake(0)
	if args.ChannelID != nil {
		channelID = *args.ChannelID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &s.world
	switch req.Cmd {
	case "AUTHORIZE":
		if args.ClientID != c.clientID {
			return nil, nil, fail(codeInvalidClientID, "Invalid client id")
		}
		if len(args.Scopes) == 0 {
			return nil, nil, fail(codeInvalidPayload, "No scopes requested")
		}
		if s.faults.deny {
			return nil, nil, fail(codeOAuth2Error, "OAuth2 Error: access_denied: The resource owner or authorization server denied the request")
		}
		return map[string]string{"code": s.grants.newCode(c.clientID, args.Scopes)}, nil, nil

	case "AUTHENTICATE":
		g, ok := s.grants.tokens[args.Token]
		if !ok || !s.cfg.clock.Now().Before(g.expires) {
			return nil, nil, fail(codeInvalidToken, "Invalid access token")
		}
		if g.clientID != c.clientID {
			return nil, nil, fail(codeInvalidClientID, "Token was issued to another application")
		}
		c.token, c.scopes = args.Token, g.scopes
		return map[string]any{
			"user":    w.user,
			"scopes":  g.scopes,
			"expires": g.expires.UTC().Format("2006-01-02T15:04:05.000000+00:00"),
			"application": map[string]any{
				"id": c.clientID, "name": "Cordage Sim App", "description": "", "icon": nil,
				"rpc_origins": s.cfg.origins,
			},
		}, nil, nil

	case "SET_ACTIVITY":
		if args.PID == nil || *args.PID <= 0 {
			return nil, nil, fail(codeInvalidPayload, "Invalid pid")
		}
		if len(args.Activity) == 0 || string(args.Activity) == "null" {
			s.activity = activityRecord{}
			return nil, nil, nil
		}
		var act map[string]any
		if err := json.Unmarshal(args.Activity, &act); err != nil {
			return nil, nil, fail(codeInvalidPayload, "Invalid activity")
		}
		s.activity = activityRecord{set: true, pid: *args.PID, data: append([]byte(nil), args.Activity...)}
		act["application_id"] = c.clientID
		act["name"] = "Cordage Sim App"
		if _, ok := act["type"]; !ok {
			act["type"] = 0
		}
		return act, nil, nil
	}

	if e := s.needAuthLocked(c); e != nil {
		if req.Cmd == "SUBSCRIBE" || req.Cmd == "UNSUBSCRIBE" || isKnownCommand(req.Cmd) {
			return nil, nil, e
		}
	}
	switch req.Cmd {
	case "GET_GUILDS":
		gs := []map[string]any{}
		for _, g := range w.guilds {
			gs = append(gs, guildWire(g))
		}
		return map[string]any{"guilds": gs}, nil, nil

	case "GET_GUILD":
		g, ok := w.guild(args.GuildID)
		if !ok {
			return nil, nil, fail(codeInvalidGuild, "Invalid guild id: %s", args.GuildID)
		}
		m := guildWire(g)
		m["members"] = []any{}
		return m, nil, nil

	case "GET_CHANNEL":
		ch, ok := w.channel(channelID)
		if !ok {
			return nil, nil, fail(codeInvalidChannel, "Invalid channel id: %s", channelID)
		}
		return w.channelWire(ch), nil, nil

	case "GET_CHANNELS":
		if _, ok := w.guild(args.GuildID); !ok {
			return nil, nil, fail(codeInvalidGuild, "Invalid guild id: %s", args.GuildID)
		}
		cs := []map[string]any{}
		for _, ch := range w.channels {
			if ch.GuildID == args.GuildID {
				cs = append(cs, map[string]any{"id": ch.ID, "name": ch.Name, "type": ch.Type})
			}
		}
		return map[string]any{"channels": cs}, nil, nil

	case "SUBSCRIBE", "UNSUBSCRIBE":
		key, e := s.subKeyLocked(req.Evt, args.GuildID, channelID)
		if e != nil {
			return nil, nil, e
		}
		if req.Cmd == "SUBSCRIBE" {
			c.subs[key] = true
		} else {
			delete(c.subs, key)
		}
		return map[string]string{"evt": req.Evt}, nil, nil

	case "GET_SELECTED_VOICE_CHANNEL":
		if ch, ok := w.channel(w.selected); ok && w.selected != 0 {
			return w.channelWire(ch), nil, nil
		}
		return nil, nil, nil

	case "SELECT_VOICE_CHANNEL":
		return s.selectVoiceLocked(c, channelID, args.Force)
	}
	return nil, nil, fail(codeInvalidCommand, "Invalid command: %s", req.Cmd)
}

func isKnownCommand(cmd string) bool {
	switch cmd {
	case "GET_GUILDS", "GET_GUILD", "GET_CHANNEL", "GET_CHANNELS", "GET_SELECTED_VOICE_CHANNEL", "SELECT_VOICE_CHANNEL":
		return true
	}
	return false
}

// subKeyLocked checks a subscription's event and args as the app does.
func (s *Server) subKeyLocked(evt string, guildID, channelID events.Snowflake) (subKey, *rpcError) {
	w := &s.world
	switch evt {
	case "VOICE_STATE_CREATE", "VOICE_STATE_UPDATE", "VOICE_STATE_DELETE", "SPEAKING_START", "SPEAKING_STOP":
		if ch, ok := w.channel(channelID); !ok || ch.Type != 2 {
			return subKey{}, fail(codeInvalidChannel, "Invalid voice channel id: %s", channelID)
		}
		return subKey{evt, channelID}, nil
	case "MESSAGE_CREATE":
		if _, ok := w.channel(channelID); !ok {
			return subKey{}, fail(codeInvalidChannel, "Invalid channel id: %s", channelID)
		}
		return subKey{evt, channelID}, nil
	case "GUILD_STATUS":
		if _, ok := w.guild(guildID); !ok {
			return subKey{}, fail(codeInvalidGuild, "Invalid guild id: %s", guildID)
		}
		return subKey{evt, guildID}, nil
	case "VOICE_CHANNEL_SELECT":
		return subKey{evt, 0}, nil
	}
	return subKey{}, fail(codeInvalidEvent, "Invalid event: %s", evt)
}

// selectVoiceLocked moves the local user, answering the new channel (or null after leaving),
// then tells VOICE_CHANNEL_SELECT and voice-state subscribers.
func (s *Server) selectVoiceLocked(c *conn, id events.Snowflake, force bool) (any, func(), *rpcError) {
	w := &s.world
	old := w.selected
	var ch Channel
	if id != 0 {
		var ok bool
		ch, ok = w.channel(id)
		if !ok || ch.Type != 2 {
			return nil, nil, fail(codeInvalidChannel, "Invalid voice channel id: %s", id)
		}
		if old != 0 && old != id && !force {
			return nil, nil, fail(codeSelectVoiceForceRequired, "User is already in a voice channel")
		}
	}
	me := VoiceState{User: w.user}
	if old != 0 && old != id {
		w.leave(old, w.user.ID)
	}
	w.selected = id
	var answer any
	if id != 0 && old != id {
		w.join(id, me)
	}
	if id != 0 {
		answer = w.channelWire(ch)
	}
	after := func() {
		if old == id {
			return
		}
		if old != 0 {
			s.dispatch("VOICE_STATE_DELETE", old, voiceStateWire(me))
		}
		if id != 0 {
			s.dispatch("VOICE_STATE_CREATE", id, voiceStateWire(me))
		}
		s.dispatch("VOICE_CHANNEL_SELECT", 0, selectWire(ch.GuildID, id))
	}
	return answer, after, nil
}
