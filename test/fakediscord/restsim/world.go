package restsim

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/cordage/cordage/events"
)

// The world is kept as Discord's wire shapes (JSON objects), because a simulator answers in
// that format and must not lean on the client's types.
type world struct {
	mu  sync.Mutex
	cfg Config
	seq uint32

	bot          events.User
	users        map[events.Snowflake]events.User
	guilds       map[events.Snowflake]*guild
	channels     map[events.Snowflake]*channel
	dms          map[events.Snowflake]events.Snowflake // user -> DM channel
	forbidden    map[events.Snowflake]bool             // channels the bot may not see
	commands     map[string][]map[string]any           // "app" or "app/guild" -> commands
	interactions map[events.Snowflake]*interaction
	byToken      map[string]*interaction
	seeded       Seed
}

type guild struct {
	id      events.Snowflake
	name    string
	ownerID events.Snowflake
	roles   []map[string]any
	members map[events.Snowflake]*events.Member
}

type channel struct {
	obj      map[string]any
	guildID  events.Snowflake
	messages map[events.Snowflake]*message
}

type message struct {
	obj       map[string]any
	authorID  events.Snowflake
	reactions []*reaction
}

type reaction struct {
	emoji map[string]any
	key   string
	users []events.Snowflake
}

type interaction struct {
	id        events.Snowflake
	token     string
	channelID events.Snowflake
	guildID   events.Snowflake
	created   time.Time
	response  int // callback type, 0 before the first callback
	original  *message
	followups map[events.Snowflake]*message
}

func newWorld(cfg Config) *world {
	bot := events.User{ID: cfg.ApplicationID, Username: "cordage-sim-bot", Discriminator: "0", Bot: true}
	return &world{
		cfg:          cfg,
		bot:          bot,
		users:        map[events.Snowflake]events.User{bot.ID: bot},
		guilds:       map[events.Snowflake]*guild{},
		channels:     map[events.Snowflake]*channel{},
		dms:          map[events.Snowflake]events.Snowflake{},
		forbidden:    map[events.Snowflake]bool{},
		commands:     map[string][]map[string]any{},
		interactions: map[events.Snowflake]*interaction{},
		byToken:      map[string]*interaction{},
	}
}

// newID returns a fresh snowflake stamped with the clock. Callers hold w.mu.
func (w *world) newID() events.Snowflake {
	w.seq++
	return events.NewSnowflake(w.cfg.Clock.Now(), w.seq)
}

func (w *world) now() string {
	return w.cfg.Clock.Now().UTC().Format("2006-01-02T15:04:05.000000+00:00")
}

// Seed names what New put into the world.
type Seed struct {
	GuildID events.Snowflake
	// ChannelIDs are the guild's text channels: general, bots, logs.
	ChannelIDs []events.Snowflake
	// RoleIDs are the @everyone role (equal to GuildID), Moderator and Member.
	RoleIDs []events.Snowflake
	// UserIDs are five human members of the guild.
	UserIDs []events.Snowflake
}

func (w *world) seed() {
	w.mu.Lock()
	defer w.mu.Unlock()
	g := w.addGuildLocked("Cordage Sim")
	w.seeded.GuildID = g.id
	for _, name := range []string{"general", "bots", "logs"} {
		w.seeded.ChannelIDs = append(w.seeded.ChannelIDs, w.addChannelLocked(g.id, name))
	}
	w.seeded.RoleIDs = append(w.seeded.RoleIDs, g.id)
	for _, name := range []string{"Moderator", "Member"} {
		w.seeded.RoleIDs = append(w.seeded.RoleIDs, w.addRoleLocked(g, name))
	}
	for i := 0; i < 5; i++ {
		u := w.addUserLocked("user" + strconv.Itoa(i))
		w.addMemberLocked(g, u)
		w.seeded.UserIDs = append(w.seeded.UserIDs, u)
	}
}

func (w *world) addGuildLocked(name string) *guild {
	id := w.newID()
	g := &guild{id: id, name: name, ownerID: w.bot.ID, members: map[events.Snowflake]*events.Member{}}
	g.roles = append(g.roles, roleObj(id, "@everyone", 0))
	w.guilds[id] = g
	w.addMemberLocked(g, w.bot.ID)
	return g
}

func roleObj(id events.Snowflake, name string, pos int) map[string]any {
	return map[string]any{"id": id, "name": name, "color": 0, "hoist": false, "position": pos,
		"permissions": "1071698660929", "managed": false, "mentionable": false, "flags": 0}
}

func (w *world) addRoleLocked(g *guild, name string) events.Snowflake {
	id := w.newID()
	g.roles = append(g.roles, roleObj(id, name, len(g.roles)))
	return id
}

func (w *world) addChannelLocked(guildID events.Snowflake, name string) events.Snowflake {
	id := w.newID()
	w.channels[id] = &channel{
		obj:      map[string]any{"id": id, "type": 0, "guild_id": guildID, "name": name, "position": len(w.channels), "nsfw": false, "last_message_id": nil, "rate_limit_per_user": 0, "permission_overwrites": []any{}},
		guildID:  guildID,
		messages: map[events.Snowflake]*message{},
	}
	return id
}

func (w *world) addUserLocked(name string) events.Snowflake {
	id := w.newID()
	w.users[id] = events.User{ID: id, Username: name, Discriminator: "0"}
	return id
}

func (w *world) addMemberLocked(g *guild, user events.Snowflake) {
	u := w.users[user]
	g.members[user] = &events.Member{User: &u, Roles: []events.Snowflake{}, JoinedAt: w.now()}
}

// Seeded returns the ids of the guild, channels, roles and users New created (zero with
// Config.NoSeed).
func (s *Server) Seeded() Seed {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	return s.world.seeded
}

// BotUser returns the bot's user object, which GET /users/@me answers.
func (s *Server) BotUser() events.User { return s.world.bot }

// AddGuild creates a guild owned by the bot, with the @everyone role and the bot as member.
func (s *Server) AddGuild(name string) events.Snowflake {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	return s.world.addGuildLocked(name).id
}

// AddChannel creates a text channel in a guild (0 for none).
func (s *Server) AddChannel(guildID events.Snowflake, name string) events.Snowflake {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	return s.world.addChannelLocked(guildID, name)
}

// AddUser creates a user and, when guildID is a known guild, makes it a member.
func (s *Server) AddUser(name string, guildID events.Snowflake) events.Snowflake {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	id := s.world.addUserLocked(name)
	if g := s.world.guilds[guildID]; g != nil {
		s.world.addMemberLocked(g, id)
	}
	return id
}

// AddRole creates a role in a guild; it returns 0 for an unknown guild.
func (s *Server) AddRole(guildID events.Snowflake, name string) events.Snowflake {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	g := s.world.guilds[guildID]
	if g == nil {
		return 0
	}
	return s.world.addRoleLocked(g, name)
}

// Forbid makes every route on a channel answer 403 Missing Access (50001).
func (s *Server) Forbid(channelID events.Snowflake) {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	s.world.forbidden[channelID] = true
}

// Messages returns the messages of a channel, oldest first, as Discord would send them.
func (s *Server) Messages(channelID events.Snowflake) []json.RawMessage {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	ch := s.world.channels[channelID]
	if ch == nil {
		return nil
	}
	ids := make([]events.Snowflake, 0, len(ch.messages))
	for id := range ch.messages {
		ids = append(ids, id)
	}
	sortIDs(ids)
	out := make([]json.RawMessage, 0, len(ids))
	for _, id := range ids {
		out = append(out, mustJSON(ch.messages[id].render(s.world.bot.ID)))
	}
	return out
}

// MemberRoles returns the role ids of a guild member, nil when unknown.
func (s *Server) MemberRoles(guildID, userID events.Snowflake) []events.Snowflake {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	g := s.world.guilds[guildID]
	if g == nil || g.members[userID] == nil {
		return nil
	}
	return append([]events.Snowflake(nil), g.members[userID].Roles...)
}

// Commands returns the registered commands of the bot's application, global for guildID 0.
func (s *Server) Commands(guildID events.Snowflake) []json.RawMessage {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	var out []json.RawMessage
	for _, c := range s.world.commands[commandScope(s.cfg.ApplicationID, guildID)] {
		out = append(out, mustJSON(c))
	}
	return out
}

// Interaction is an interaction the simulator created for the bot to answer.
type Interaction struct {
	ID            events.Snowflake
	Token         string
	ApplicationID events.Snowflake
	ChannelID     events.Snowflake
	GuildID       events.Snowflake
}

// NewInteraction creates an interaction in a channel, as if a user had run a command there now.
// Its token works for 3 s for the first callback and 15 min for follow-ups, on the server clock.
func (s *Server) NewInteraction(channelID events.Snowflake) Interaction {
	w := s.world
	w.mu.Lock()
	defer w.mu.Unlock()
	id := w.newID()
	it := &interaction{id: id, token: "aW50ZXJhY3Rpb246" + id.String() + ":sim", channelID: channelID, created: w.cfg.Clock.Now(), followups: map[events.Snowflake]*message{}}
	if ch := w.channels[channelID]; ch != nil {
		it.guildID = ch.guildID
	}
	w.interactions[id] = it
	w.byToken[it.token] = it
	return Interaction{ID: id, Token: it.token, ApplicationID: s.cfg.ApplicationID, ChannelID: channelID, GuildID: it.guildID}
}

// InteractionState is what the bot has done with an interaction.
type InteractionState struct {
	// ResponseType is the callback type of the initial response, 0 before it.
	ResponseType int
	// Original is the original response message, nil before one exists or after deletion.
	Original json.RawMessage
	// Followups is how many follow-up messages exist.
	Followups int
}

// InteractionState reports what was done with the interaction id.
func (s *Server) InteractionState(id events.Snowflake) InteractionState {
	w := s.world
	w.mu.Lock()
	defer w.mu.Unlock()
	it := w.interactions[id]
	if it == nil {
		return InteractionState{}
	}
	st := InteractionState{ResponseType: it.response, Followups: len(it.followups)}
	if it.original != nil {
		st.Original = mustJSON(it.original.render(w.bot.ID))
	}
	return st
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}

func sortIDs(ids []events.Snowflake) { slices.Sort(ids) }

func commandScope(app, guildID events.Snowflake) string {
	if guildID == 0 {
		return app.String()
	}
	return app.String() + "/" + guildID.String()
}

// render returns the message as Discord sends it, reactions included.
func (m *message) render(bot events.Snowflake) map[string]any {
	out := make(map[string]any, len(m.obj)+1)
	for k, v := range m.obj {
		out[k] = v
	}
	if len(m.reactions) > 0 {
		rs := make([]any, 0, len(m.reactions))
		for _, r := range m.reactions {
			me := false
			for _, u := range r.users {
				if u == bot {
					me = true
				}
			}
			rs = append(rs, map[string]any{"count": len(r.users), "me": me, "emoji": r.emoji})
		}
		out["reactions"] = rs
	}
	return out
}
