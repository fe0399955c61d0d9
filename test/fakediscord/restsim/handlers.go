package restsim

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cordage/cordage/events"
)

// Discord JSON error codes the simulator answers with.
const (
	codeUnknownApplication = 10002
	codeUnknownChannel     = 10003
	codeUnknownGuild       = 10004
	codeUnknownMember      = 10007
	codeUnknownMessage     = 10008
	codeUnknownRole        = 10011
	codeUnknownUser        = 10013
	codeUnknownEmoji       = 10014
	codeUnknownWebhook     = 10015
	codeUnknownInteraction = 10062
	codeAlreadyAcked       = 40060
	codeMissingAccess      = 50001
	codeNotAuthor          = 50005
	codeEmptyMessage       = 50006
	codeInvalidWebhookTok  = 50027
	codeInvalidFormBody    = 50035
)

const (
	interactionAckWindow   = 3 * time.Second
	interactionTokenWindow = 15 * time.Minute
)

func (c *call) id(name string) (events.Snowflake, bool) {
	v, err := events.ParseSnowflake(c.params[name])
	return v, err == nil && v != 0
}

// payload decodes a JSON body, or the payload_json part and files[n] parts of a multipart body.
func (c *call) payload() (map[string]any, []map[string]any, *response) {
	ct, params, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	var raw []byte
	var files []map[string]any
	switch ct {
	case "application/json":
		raw = c.body
	case "multipart/form-data":
		mr := multipart.NewReader(bytes.NewReader(c.body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, nil, errRef(errorBody(http.StatusBadRequest, codeInvalidFormBody, "Invalid Form Body (malformed multipart)"))
			}
			data, _ := io.ReadAll(p)
			name := p.FormName()
			switch {
			case name == "payload_json":
				raw = data
			case strings.HasPrefix(name, "files["):
				idx := strings.TrimSuffix(strings.TrimPrefix(name, "files["), "]")
				files = append(files, map[string]any{"index": idx, "filename": p.FileName(), "size": len(data), "content_type": p.Header.Get("Content-Type")})
			}
		}
	case "":
		if len(c.body) == 0 {
			return map[string]any{}, nil, nil
		}
		fallthrough
	default:
		return nil, nil, errRef(errorBody(http.StatusBadRequest, codeInvalidFormBody, "Invalid Form Body (unsupported Content-Type)"))
	}
	obj := map[string]any{}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &obj); err != nil {
			r := errorBody(http.StatusBadRequest, codeInvalidFormBody, "The request body contains invalid JSON.")
			r.body.(map[string]any)["code"] = 50109
			return nil, nil, &r
		}
	}
	return obj, files, nil
}

// withPayload decodes the body of c and runs fn with it under w.mu: the start of every handler
// that writes a message.
func (s *Server) withPayload(c *call, fn func(obj map[string]any, files []map[string]any) response) response {
	obj, files, bad := c.payload()
	if bad != nil {
		return *bad
	}
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	return fn(obj, files)
}

func (s *Server) getGateway(c *call) response {
	return ok(map[string]any{"url": "wss://gateway.restsim.invalid"})
}

func (s *Server) getGatewayBot(c *call) response {
	return ok(map[string]any{"url": "wss://gateway.restsim.invalid", "shards": 1,
		"session_start_limit": map[string]any{"total": 1000, "remaining": 1000, "reset_after": 86400000, "max_concurrency": 1}})
}

func (s *Server) getCurrentUser(c *call) response { return ok(s.world.bot) }

func (s *Server) getUser(c *call) response {
	id, good := c.id("user.id")
	w := s.world
	w.mu.Lock()
	defer w.mu.Unlock()
	u, found := w.users[id]
	if !good || !found {
		return errorBody(http.StatusNotFound, codeUnknownUser, "Unknown User")
	}
	return ok(u)
}

func (s *Server) createDM(c *call) response {
	obj, _, bad := c.payload()
	if bad != nil {
		return *bad
	}
	var rid events.Snowflake
	if v, isStr := obj["recipient_id"].(string); isStr {
		rid, _ = events.ParseSnowflake(v)
	}
	if rid == 0 {
		return formError("recipient_id", "BASE_TYPE_REQUIRED", "This field is required")
	}
	w := s.world
	w.mu.Lock()
	defer w.mu.Unlock()
	u, found := w.users[rid]
	if !found {
		return errorBody(http.StatusBadRequest, codeUnknownUser, "Unknown User")
	}
	if id, exists := w.dms[rid]; exists {
		return ok(w.channels[id].obj)
	}
	id := w.newID()
	w.channels[id] = &channel{
		obj:      map[string]any{"id": id, "type": 1, "last_message_id": nil, "flags": 0, "recipients": []events.User{u}},
		messages: map[events.Snowflake]*message{},
	}
	w.dms[rid] = id
	return ok(w.channels[id].obj)
}

// channelFor looks up the channel of the call. Callers hold w.mu.
func (s *Server) channelFor(c *call) (*channel, *response) {
	id, good := c.id("channel.id")
	ch := s.world.channels[id]
	if !good || ch == nil {
		return nil, errRef(errorBody(http.StatusNotFound, codeUnknownChannel, "Unknown Channel"))
	}
	if s.world.forbidden[id] {
		return nil, errRef(errorBody(http.StatusForbidden, codeMissingAccess, "Missing Access"))
	}
	return ch, nil
}

func (s *Server) messageFor(c *call) (*channel, *message, *response) {
	ch, bad := s.channelFor(c)
	if bad != nil {
		return nil, nil, bad
	}
	id, good := c.id("message.id")
	m := ch.messages[id]
	if !good || m == nil {
		return nil, nil, errRef(errorBody(http.StatusNotFound, codeUnknownMessage, "Unknown Message"))
	}
	return ch, m, nil
}

func (s *Server) getChannel(c *call) response {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	ch, bad := s.channelFor(c)
	if bad != nil {
		return *bad
	}
	return ok(ch.obj)
}

// validateMessage applies Discord's create-message rules; create is false for edits, where an
// empty body is allowed.
func validateMessage(obj map[string]any, files []map[string]any, create bool) *response {
	content, _ := obj["content"].(string)
	if utf8.RuneCountInString(content) > 2000 {
		return errRef(formError("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."))
	}
	embeds, _ := obj["embeds"].([]any)
	if len(embeds) > 10 {
		return errRef(formError("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length."))
	}
	total := 0
	for _, e := range embeds {
		total += embedChars(e)
	}
	if total > 6000 {
		return errRef(formError("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"))
	}
	if n, isStr := obj["nonce"].(string); isStr && utf8.RuneCountInString(n) > 25 {
		return errRef(formError("nonce", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."))
	}
	if create {
		comps, _ := obj["components"].([]any)
		stickers, _ := obj["sticker_ids"].([]any)
		if content == "" && len(embeds) == 0 && len(comps) == 0 && len(stickers) == 0 && len(files) == 0 && obj["poll"] == nil {
			return errRef(errorBody(http.StatusBadRequest, codeEmptyMessage, "Cannot send an empty message"))
		}
	}
	return nil
}

// embedChars counts the characters Discord's 6000 limit covers: title, description, field
// names and values, footer text and author name.
func embedChars(e any) int {
	m, _ := e.(map[string]any)
	n := 0
	str := func(v any) int { s, _ := v.(string); return utf8.RuneCountInString(s) }
	n += str(m["title"]) + str(m["description"])
	if f, _ := m["footer"].(map[string]any); f != nil {
		n += str(f["text"])
	}
	if a, _ := m["author"].(map[string]any); a != nil {
		n += str(a["name"])
	}
	fields, _ := m["fields"].([]any)
	for _, f := range fields {
		fm, _ := f.(map[string]any)
		n += str(fm["name"]) + str(fm["value"])
	}
	return n
}

// newMessage builds a message object from a validated payload. Callers hold w.mu.
func (s *Server) newMessage(ch *channel, chID events.Snowflake, obj map[string]any, files []map[string]any, webhookApp events.Snowflake) *message {
	w := s.world
	id := w.newID()
	m := map[string]any{
		"id": id, "channel_id": chID, "author": w.bot, "content": "", "timestamp": w.now(),
		"edited_timestamp": nil, "tts": false, "mention_everyone": false, "mentions": []any{},
		"mention_roles": []any{}, "attachments": []any{}, "embeds": []any{}, "pinned": false, "type": 0,
	}
	if ch != nil && ch.guildID != 0 {
		m["guild_id"] = ch.guildID
	}
	if webhookApp != 0 {
		m["webhook_id"] = webhookApp
		m["application_id"] = webhookApp
	}
	for _, k := range []string{"content", "embeds", "components", "nonce", "tts", "flags", "poll"} {
		if v, present := obj[k]; present && v != nil {
			m[k] = v
		}
	}
	if len(files) > 0 {
		atts := make([]any, 0, len(files))
		for _, f := range files {
			aid := w.newID()
			att := map[string]any{"id": aid, "filename": f["filename"], "size": f["size"],
				"url":       "https://cdn.restsim.invalid/attachments/" + chID.String() + "/" + aid.String() + "/" + f["filename"].(string),
				"proxy_url": "https://media.restsim.invalid/attachments/" + chID.String() + "/" + aid.String() + "/" + f["filename"].(string)}
			if ct, _ := f["content_type"].(string); ct != "" {
				att["content_type"] = ct
			}
			atts = append(atts, att)
		}
		m["attachments"] = atts
	}
	if ch != nil {
		ch.obj["last_message_id"] = id
	}
	return &message{obj: m, authorID: w.bot.ID}
}

func (s *Server) createMessage(c *call) response {
	return s.withPayload(c, func(obj map[string]any, files []map[string]any) response {
		w := s.world
		ch, bad := s.channelFor(c)
		if bad != nil {
			return *bad
		}
		if bad := validateMessage(obj, files, true); bad != nil {
			return *bad
		}
		var ref *message
		if r, _ := obj["message_reference"].(map[string]any); r != nil {
			rid, _ := events.ParseSnowflake(str(r["message_id"]))
			ref = ch.messages[rid]
			if ref == nil && r["fail_if_not_exists"] != false {
				return formError("message_reference", "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
			}
		}
		chID, _ := c.id("channel.id")
		m := s.newMessage(ch, chID, obj, files, 0)
		if ref != nil {
			m.obj["type"] = 19
			mr := map[string]any{"type": 0, "message_id": ref.obj["id"], "channel_id": chID}
			if ch.guildID != 0 {
				mr["guild_id"] = ch.guildID
			}
			m.obj["message_reference"] = mr
			m.obj["referenced_message"] = ref.render(w.bot.ID)
		}
		ch.messages[m.obj["id"].(events.Snowflake)] = m
		return ok(m.render(w.bot.ID))
	})
}

func str(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return ""
}

func (s *Server) getMessage(c *call) response {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	_, m, bad := s.messageFor(c)
	if bad != nil {
		return *bad
	}
	return ok(m.render(s.world.bot.ID))
}

// applyEdit validates an edit and changes the editable fields of a message, or changes nothing
// and returns the error. Callers hold w.mu.
func (s *Server) applyEdit(m *message, obj map[string]any, files []map[string]any) *response {
	if bad := validateMessage(obj, files, false); bad != nil {
		return bad
	}
	for _, k := range []string{"content", "embeds", "components", "flags", "attachments"} {
		if v, present := obj[k]; present {
			if v == nil {
				v = emptyFor(k)
			}
			m.obj[k] = v
		}
	}
	if len(files) > 0 {
		tmp := s.newMessage(nil, 0, map[string]any{}, files, 0)
		m.obj["attachments"] = tmp.obj["attachments"]
	}
	m.obj["edited_timestamp"] = s.world.now()
	return nil
}

func emptyFor(k string) any {
	switch k {
	case "content":
		return ""
	case "flags":
		return 0
	}
	return []any{}
}

func (s *Server) editMessage(c *call) response {
	return s.withPayload(c, func(obj map[string]any, files []map[string]any) response {
		_, m, bad := s.messageFor(c)
		if bad != nil {
			return *bad
		}
		if m.authorID != s.world.bot.ID {
			return errorBody(http.StatusForbidden, codeNotAuthor, "Cannot edit a message authored by another user")
		}
		if bad := s.applyEdit(m, obj, files); bad != nil {
			return *bad
		}
		return ok(m.render(s.world.bot.ID))
	})
}

func (s *Server) deleteMessage(c *call) response {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	ch, m, bad := s.messageFor(c)
	if bad != nil {
		return *bad
	}
	delete(ch.messages, m.obj["id"].(events.Snowflake))
	return noContent()
}

func (s *Server) triggerTyping(c *call) response {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	if _, bad := s.channelFor(c); bad != nil {
		return *bad
	}
	return noContent()
}

// emojiFor parses the {emoji} parameter: a Unicode emoji, or name:id for a custom one.
func emojiFor(c *call) (map[string]any, string, *response) {
	e := c.params["emoji"]
	if name, id, custom := strings.Cut(e, ":"); custom {
		sf, err := events.ParseSnowflake(id)
		if err != nil || sf == 0 || name == "" {
			return nil, "", errRef(errorBody(http.StatusBadRequest, codeUnknownEmoji, "Unknown Emoji"))
		}
		return map[string]any{"id": sf, "name": name}, id, nil
	}
	if e == "" || utf8.RuneCountInString(e) > 8 {
		return nil, "", errRef(errorBody(http.StatusBadRequest, codeUnknownEmoji, "Unknown Emoji"))
	}
	return map[string]any{"id": nil, "name": e}, e, nil
}

func (s *Server) reactionCall(c *call, fn func(m *message, emoji map[string]any, key string) response) response {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	_, m, bad := s.messageFor(c)
	if bad != nil {
		return *bad
	}
	var emoji map[string]any
	var key string
	if _, has := c.params["emoji"]; has {
		emoji, key, bad = emojiFor(c)
		if bad != nil {
			return *bad
		}
	}
	return fn(m, emoji, key)
}

func (m *message) removeReactor(key string, user events.Snowflake) {
	for i, r := range m.reactions {
		if r.key != key {
			continue
		}
		for j, u := range r.users {
			if u == user {
				r.users = append(r.users[:j], r.users[j+1:]...)
				break
			}
		}
		if len(r.users) == 0 {
			m.reactions = append(m.reactions[:i], m.reactions[i+1:]...)
		}
		return
	}
}

func (s *Server) addReaction(c *call) response {
	return s.reactionCall(c, func(m *message, emoji map[string]any, key string) response {
		bot := s.world.bot.ID
		for _, r := range m.reactions {
			if r.key == key {
				for _, u := range r.users {
					if u == bot {
						return noContent()
					}
				}
				r.users = append(r.users, bot)
				return noContent()
			}
		}
		m.reactions = append(m.reactions, &reaction{emoji: emoji, key: key, users: []events.Snowflake{bot}})
		return noContent()
	})
}

func (s *Server) removeOwnReaction(c *call) response {
	return s.reactionCall(c, func(m *message, _ map[string]any, key string) response {
		m.removeReactor(key, s.world.bot.ID)
		return noContent()
	})
}

func (s *Server) removeUserReaction(c *call) response {
	uid, good := c.id("user.id")
	if !good {
		return errorBody(http.StatusNotFound, codeUnknownUser, "Unknown User")
	}
	return s.reactionCall(c, func(m *message, _ map[string]any, key string) response {
		m.removeReactor(key, uid)
		return noContent()
	})
}

func (s *Server) removeEmojiReactions(c *call) response {
	return s.reactionCall(c, func(m *message, _ map[string]any, key string) response {
		for i, r := range m.reactions {
			if r.key == key {
				m.reactions = append(m.reactions[:i], m.reactions[i+1:]...)
				break
			}
		}
		return noContent()
	})
}

func (s *Server) removeAllReactions(c *call) response {
	return s.reactionCall(c, func(m *message, _ map[string]any, _ string) response {
		m.reactions = nil
		return noContent()
	})
}

func (s *Server) guildFor(c *call) (*guild, *response) {
	id, good := c.id("guild.id")
	g := s.world.guilds[id]
	if !good || g == nil {
		return nil, errRef(errorBody(http.StatusNotFound, codeUnknownGuild, "Unknown Guild"))
	}
	return g, nil
}

func (s *Server) getGuild(c *call) response {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	g, bad := s.guildFor(c)
	if bad != nil {
		return *bad
	}
	return ok(map[string]any{
		"id": g.id, "name": g.name, "icon": nil, "splash": nil, "discovery_splash": nil, "owner_id": g.ownerID,
		"afk_channel_id": nil, "afk_timeout": 300, "verification_level": 0, "default_message_notifications": 0,
		"explicit_content_filter": 0, "roles": g.roles, "emojis": []any{}, "features": []any{}, "mfa_level": 0,
		"application_id": nil, "system_channel_id": nil, "system_channel_flags": 0, "rules_channel_id": nil,
		"vanity_url_code": nil, "description": nil, "banner": nil, "premium_tier": 0, "preferred_locale": "en-US",
		"public_updates_channel_id": nil, "nsfw_level": 0, "premium_progress_bar_enabled": false, "stickers": []any{},
	})
}

func (s *Server) getRoles(c *call) response {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	g, bad := s.guildFor(c)
	if bad != nil {
		return *bad
	}
	return ok(g.roles)
}

func (s *Server) getMember(c *call) response {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	g, bad := s.guildFor(c)
	if bad != nil {
		return *bad
	}
	uid, _ := c.id("user.id")
	m := g.members[uid]
	if m == nil {
		return errorBody(http.StatusNotFound, codeUnknownMember, "Unknown Member")
	}
	return ok(m)
}

func (s *Server) memberRole(c *call, add bool) response {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	g, bad := s.guildFor(c)
	if bad != nil {
		return *bad
	}
	uid, _ := c.id("user.id")
	m := g.members[uid]
	if m == nil {
		return errorBody(http.StatusNotFound, codeUnknownMember, "Unknown Member")
	}
	rid, _ := c.id("role.id")
	known := false
	for _, r := range g.roles {
		if r["id"] == rid {
			known = true
		}
	}
	if !known || rid == g.id {
		return errorBody(http.StatusNotFound, codeUnknownRole, "Unknown Role")
	}
	idx := -1
	for i, r := range m.Roles {
		if r == rid {
			idx = i
		}
	}
	switch {
	case add && idx < 0:
		m.Roles = append(m.Roles, rid)
	case !add && idx >= 0:
		m.Roles = append(m.Roles[:idx], m.Roles[idx+1:]...)
	}
	return noContent()
}

func (s *Server) addMemberRole(c *call) response    { return s.memberRole(c, true) }
func (s *Server) removeMemberRole(c *call) response { return s.memberRole(c, false) }

func (s *Server) commandsScope(c *call) (string, events.Snowflake, *response) {
	app, _ := c.id("application.id")
	if app != s.cfg.ApplicationID {
		return "", 0, errRef(errorBody(http.StatusForbidden, codeMissingAccess, "Missing Access"))
	}
	var gid events.Snowflake
	if _, has := c.params["guild.id"]; has {
		g, bad := s.guildFor(c)
		if bad != nil {
			return "", 0, bad
		}
		gid = g.id
	}
	return commandScope(app, gid), gid, nil
}

func (s *Server) listCommands(c *call) response {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	scope, _, bad := s.commandsScope(c)
	if bad != nil {
		return *bad
	}
	list := s.world.commands[scope]
	if list == nil {
		list = []map[string]any{}
	}
	return ok(list)
}

func (s *Server) overwriteCommands(c *call) response {
	var in []map[string]any
	if err := json.Unmarshal(c.body, &in); err != nil {
		return errorBody(http.StatusBadRequest, codeInvalidFormBody, "Invalid Form Body (expected an array of commands)")
	}
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	scope, gid, bad := s.commandsScope(c)
	if bad != nil {
		return *bad
	}
	if len(in) > 110 {
		return formError("_", "BASE_TYPE_MAX_LENGTH", "Must be 110 or fewer in length.")
	}
	old := map[string]map[string]any{}
	for _, cmd := range s.world.commands[scope] {
		old[str(cmd["name"])+"/"+str(cmd["type"])] = cmd
	}
	out := make([]map[string]any, 0, len(in))
	for i, cmd := range in {
		if _, has := cmd["type"]; !has || cmd["type"] == nil {
			cmd["type"] = float64(1)
		}
		name := str(cmd["name"])
		desc := str(cmd["description"])
		field := strconv.Itoa(i)
		if n := utf8.RuneCountInString(name); n < 1 || n > 32 {
			return formError(field+".name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
		}
		if cmd["type"] == float64(1) {
			if name != strings.ToLower(name) || strings.ContainsAny(name, " \t") {
				return formError(field+".name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
			}
			if n := utf8.RuneCountInString(desc); n < 1 || n > 100 {
				return formError(field+".description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
			}
		}
		id := s.world.newID()
		if prev := old[name+"/"+str(cmd["type"])]; prev != nil {
			id = prev["id"].(events.Snowflake)
		}
		cmd["id"] = id
		cmd["application_id"] = s.cfg.ApplicationID
		if gid != 0 {
			cmd["guild_id"] = gid
		}
		cmd["version"] = s.world.newID()
		if _, has := cmd["default_member_permissions"]; !has {
			cmd["default_member_permissions"] = nil
		}
		out = append(out, cmd)
	}
	s.world.commands[scope] = out
	return ok(out)
}

// interactionFor checks the interaction id and token of a callback. Callers hold w.mu.
func (s *Server) interactionFor(c *call) (*interaction, *response) {
	id, _ := c.id("interaction.id")
	it := s.world.interactions[id]
	if it == nil || it.token != c.params["interaction.token"] {
		return nil, errRef(errorBody(http.StatusNotFound, codeUnknownInteraction, "Unknown interaction"))
	}
	return it, nil
}

var callbackTypes = map[int]bool{1: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true, 10: true, 12: true}

func (s *Server) interactionCallback(c *call) response {
	return s.withPayload(c, func(obj map[string]any, files []map[string]any) response {
		w := s.world
		it, bad := s.interactionFor(c)
		if bad != nil {
			return *bad
		}
		if it.response != 0 {
			return errorBody(http.StatusBadRequest, codeAlreadyAcked, "Interaction has already been acknowledged.")
		}
		if c.now.Sub(it.created) > interactionAckWindow {
			return errorBody(http.StatusNotFound, codeUnknownInteraction, "Unknown interaction")
		}
		tf, _ := obj["type"].(float64)
		typ := int(tf)
		if !callbackTypes[typ] {
			return formError("type", "BASE_TYPE_CHOICES", "Value must be one of {1, 4, 5, 6, 7, 8, 9, 10, 12}.")
		}
		data, _ := obj["data"].(map[string]any)
		if data == nil {
			data = map[string]any{}
		}
		ch := w.channels[it.channelID]
		switch typ {
		case 4:
			if bad := validateMessage(data, files, true); bad != nil {
				return *bad
			}
			it.original = s.newMessage(ch, it.channelID, data, files, s.cfg.ApplicationID)
			it.original.obj["type"] = 20
		case 5:
			flags, _ := data["flags"].(float64)
			it.original = s.newMessage(ch, it.channelID, map[string]any{"flags": float64(int(flags) | 128)}, nil, s.cfg.ApplicationID)
			it.original.obj["type"] = 20
		}
		it.response = typ
		if c.r.URL.Query().Get("with_response") != "true" {
			return noContent()
		}
		cb := map[string]any{"interaction": map[string]any{"id": it.id, "type": 2, "activity_instance_id": nil,
			"response_message_id": nil, "response_message_loading": typ == 5, "response_message_ephemeral": false}}
		if it.original != nil {
			cb["interaction"].(map[string]any)["response_message_id"] = it.original.obj["id"]
			cb["resource"] = map[string]any{"type": typ, "message": it.original.render(w.bot.ID)}
		}
		return ok(cb)
	})
}

// webhookFor checks the application id and interaction token of a webhook route. Callers hold
// w.mu.
func (s *Server) webhookFor(c *call) (*interaction, *response) {
	app, _ := c.id("application.id")
	it := s.world.byToken[c.params["interaction.token"]]
	if app != s.cfg.ApplicationID || it == nil {
		return nil, errRef(errorBody(http.StatusNotFound, codeUnknownWebhook, "Unknown Webhook"))
	}
	if c.now.Sub(it.created) > interactionTokenWindow {
		return nil, errRef(errorBody(http.StatusUnauthorized, codeInvalidWebhookTok, "Invalid Webhook Token"))
	}
	if it.response == 0 {
		return nil, errRef(errorBody(http.StatusNotFound, codeUnknownWebhook, "Unknown Webhook"))
	}
	return it, nil
}

func (s *Server) createFollowup(c *call) response {
	return s.withPayload(c, func(obj map[string]any, files []map[string]any) response {
		w := s.world
		it, bad := s.webhookFor(c)
		if bad != nil {
			return *bad
		}
		if bad := validateMessage(obj, files, true); bad != nil {
			return *bad
		}
		m := s.newMessage(w.channels[it.channelID], it.channelID, obj, files, s.cfg.ApplicationID)
		it.followups[m.obj["id"].(events.Snowflake)] = m
		return ok(m.render(w.bot.ID))
	})
}

// webhookMessage finds @original or a follow-up. Callers hold w.mu.
func (s *Server) webhookMessage(c *call) (*interaction, *message, *response) {
	it, bad := s.webhookFor(c)
	if bad != nil {
		return nil, nil, bad
	}
	var m *message
	if c.params["message.id"] == "" {
		m = it.original
	} else if id, good := c.id("message.id"); good {
		m = it.followups[id]
	}
	if m == nil {
		return nil, nil, errRef(errorBody(http.StatusNotFound, codeUnknownMessage, "Unknown Message"))
	}
	return it, m, nil
}

func (s *Server) getWebhookMessage(c *call) response {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	_, m, bad := s.webhookMessage(c)
	if bad != nil {
		return *bad
	}
	return ok(m.render(s.world.bot.ID))
}

func (s *Server) editWebhookMessage(c *call) response {
	return s.withPayload(c, func(obj map[string]any, files []map[string]any) response {
		_, m, bad := s.webhookMessage(c)
		if bad != nil {
			return *bad
		}
		if bad := s.applyEdit(m, obj, files); bad != nil {
			return *bad
		}
		if f, isNum := m.obj["flags"].(float64); isNum {
			m.obj["flags"] = float64(int(f) &^ 128) // an edit ends the "thinking" state
		}
		return ok(m.render(s.world.bot.ID))
	})
}

func (s *Server) deleteWebhookMessage(c *call) response {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	it, m, bad := s.webhookMessage(c)
	if bad != nil {
		return *bad
	}
	if m == it.original {
		it.original = nil
	} else {
		delete(it.followups, m.obj["id"].(events.Snowflake))
	}
	return noContent()
}
