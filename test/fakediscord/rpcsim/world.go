package rpcsim

import (
	"github.com/cordage/cordage/events"
)

// Guild is a guild in the simulated app.
type Guild struct {
	ID      events.Snowflake
	Name    string
	IconURL string
}

// Channel is a channel in the simulated app. Type is 0 for text, 2 for voice.
type Channel struct {
	ID      events.Snowflake
	GuildID events.Snowflake
	Name    string
	Type    int
	Topic   string
	Bitrate int
}

// VoiceState is a user in a voice channel, as a test describes one.
type VoiceState struct {
	User     events.User
	Nick     string
	Mute     bool // server mute
	Deaf     bool // server deafen
	SelfMute bool
	SelfDeaf bool
	Suppress bool
	Volume   float64 // the local user's volume for them; 0 means 100
}

// Message is a message a test sends with EmitMessageCreate.
type Message struct {
	ID        events.Snowflake
	Author    events.User
	Content   string
	Timestamp string
}

type world struct {
	user     events.User
	guilds   []Guild
	channels []Channel
	voice    map[events.Snowflake][]VoiceState // channel → users in it, in join order
	selected events.Snowflake                  // the local user's voice channel
}

func newWorld(user events.User) world {
	return world{
		user:   user,
		guilds: []Guild{{ID: GuildID, Name: "Cordage Sim"}},
		channels: []Channel{
			{ID: TextChannelID, GuildID: GuildID, Name: "general", Type: 0, Topic: "talk"},
			{ID: VoiceChannelID, GuildID: GuildID, Name: "General", Type: 2, Bitrate: 64000},
		},
		voice: map[events.Snowflake][]VoiceState{},
	}
}

func (w *world) guild(id events.Snowflake) (Guild, bool) {
	for _, g := range w.guilds {
		if g.ID == id {
			return g, true
		}
	}
	return Guild{}, false
}

func (w *world) channel(id events.Snowflake) (Channel, bool) {
	for _, c := range w.channels {
		if c.ID == id {
			return c, true
		}
	}
	return Channel{}, false
}

// AddGuild adds a guild.
func (s *Server) AddGuild(g Guild) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.world.guilds = append(s.world.guilds, g)
}

// AddChannel adds a channel to a guild.
func (s *Server) AddChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.world.channels = append(s.world.channels, c)
}

// SetSelectedVoiceChannel puts the local user in a voice channel (0: none) without telling
// anyone, as if they had joined before the client connected.
func (s *Server) SetSelectedVoiceChannel(id events.Snowflake) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &s.world
	if w.selected != 0 {
		w.leave(w.selected, w.user.ID)
	}
	w.selected = id
	if id != 0 {
		w.join(id, VoiceState{User: w.user})
	}
}

// wire forms, as the app sends them.

func guildWire(g Guild) map[string]any {
	var icon any
	if g.IconURL != "" {
		icon = g.IconURL
	}
	return map[string]any{"id": g.ID, "name": g.Name, "icon_url": icon}
}

func voiceStateWire(v VoiceState) map[string]any {
	vol := v.Volume
	if vol == 0 {
		vol = 100
	}
	return map[string]any{
		"voice_state": map[string]bool{
			"mute": v.Mute, "deaf": v.Deaf, "self_mute": v.SelfMute, "self_deaf": v.SelfDeaf, "suppress": v.Suppress,
		},
		"user":   v.User,
		"nick":   v.Nick,
		"volume": vol,
		"mute":   false,
		"pan":    map[string]float64{"left": 1, "right": 1},
	}
}

func (w *world) channelWire(c Channel) map[string]any {
	m := map[string]any{
		"id": c.ID, "guild_id": c.GuildID, "name": c.Name, "type": c.Type, "position": 0,
	}
	if c.Type == 2 {
		states := []map[string]any{}
		for _, v := range w.voice[c.ID] {
			states = append(states, voiceStateWire(v))
		}
		m["bitrate"] = c.Bitrate
		m["user_limit"] = 0
		m["voice_states"] = states
	} else {
		m["topic"] = c.Topic
		m["messages"] = []any{}
	}
	return m
}

func (w *world) join(ch events.Snowflake, v VoiceState) {
	w.leave(ch, v.User.ID)
	w.voice[ch] = append(w.voice[ch], v)
}

func (w *world) update(ch events.Snowflake, v VoiceState) {
	for i, o := range w.voice[ch] {
		if o.User.ID == v.User.ID {
			w.voice[ch][i] = v
			return
		}
	}
}

func (w *world) leave(ch, user events.Snowflake) (VoiceState, bool) {
	for i, o := range w.voice[ch] {
		if o.User.ID == user {
			w.voice[ch] = append(w.voice[ch][:i], w.voice[ch][i+1:]...)
			return o, true
		}
	}
	return VoiceState{}, false
}

// dispatch sends evt with data to every connection subscribed to (evt, id); it returns how
// many got it.
func (s *Server) dispatch(evt string, id events.Snowflake, data any) int {
	key := subKey{evt, id}
	s.mu.Lock()
	var to []*conn
	for c := range s.conns {
		if c.subs[key] {
			to = append(to, c)
		}
	}
	s.mu.Unlock()
	n := 0
	for _, c := range to {
		if c.send(map[string]any{"cmd": "DISPATCH", "evt": evt, "data": data}) == nil {
			n++
		}
	}
	return n
}

// EmitVoiceStateCreate puts a user in a voice channel and tells subscribers of
// VOICE_STATE_CREATE for it. It returns how many connections were told.
func (s *Server) EmitVoiceStateCreate(channelID events.Snowflake, v VoiceState) int {
	s.mu.Lock()
	s.world.join(channelID, v)
	s.mu.Unlock()
	return s.dispatch("VOICE_STATE_CREATE", channelID, voiceStateWire(v))
}

// EmitVoiceStateUpdate changes a user's voice state and tells VOICE_STATE_UPDATE subscribers.
func (s *Server) EmitVoiceStateUpdate(channelID events.Snowflake, v VoiceState) int {
	s.mu.Lock()
	s.world.update(channelID, v)
	s.mu.Unlock()
	return s.dispatch("VOICE_STATE_UPDATE", channelID, voiceStateWire(v))
}

// EmitVoiceStateDelete takes a user out of a voice channel and tells VOICE_STATE_DELETE
// subscribers (with the state the user had, as the app does).
func (s *Server) EmitVoiceStateDelete(channelID, userID events.Snowflake) int {
	s.mu.Lock()
	v, ok := s.world.leave(channelID, userID)
	s.mu.Unlock()
	if !ok {
		v = VoiceState{User: events.User{ID: userID}}
	}
	return s.dispatch("VOICE_STATE_DELETE", channelID, voiceStateWire(v))
}

// EmitSpeakingStart tells SPEAKING_START subscribers of a channel that a user speaks.
func (s *Server) EmitSpeakingStart(channelID, userID events.Snowflake) int {
	return s.dispatch("SPEAKING_START", channelID, map[string]any{"user_id": userID, "channel_id": channelID})
}

// EmitSpeakingStop tells SPEAKING_STOP subscribers that the user stopped.
func (s *Server) EmitSpeakingStop(channelID, userID events.Snowflake) int {
	return s.dispatch("SPEAKING_STOP", channelID, map[string]any{"user_id": userID, "channel_id": channelID})
}

// EmitVoiceChannelSelect moves the local user (channelID 0: out of voice) and tells
// VOICE_CHANNEL_SELECT subscribers.
func (s *Server) EmitVoiceChannelSelect(guildID, channelID events.Snowflake) int {
	s.mu.Lock()
	s.world.selected = channelID
	s.mu.Unlock()
	return s.dispatch("VOICE_CHANNEL_SELECT", 0, selectWire(guildID, channelID))
}

func selectWire(guildID, channelID events.Snowflake) map[string]any {
	var g, c any
	if channelID != 0 {
		c = channelID
		g = guildID
	}
	return map[string]any{"channel_id": c, "guild_id": g}
}

// EmitGuildStatus tells GUILD_STATUS subscribers of a guild about it.
func (s *Server) EmitGuildStatus(guildID events.Snowflake) int {
	s.mu.Lock()
	g, ok := s.world.guild(guildID)
	s.mu.Unlock()
	if !ok {
		g = Guild{ID: guildID}
	}
	return s.dispatch("GUILD_STATUS", guildID, map[string]any{"guild": guildWire(g), "online": 0})
}

// EmitMessageCreate tells MESSAGE_CREATE subscribers of a channel about a message.
func (s *Server) EmitMessageCreate(channelID events.Snowflake, m Message) int {
	ts := m.Timestamp
	if ts == "" {
		ts = s.cfg.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return s.dispatch("MESSAGE_CREATE", channelID, map[string]any{
		"channel_id": channelID,
		"message": map[string]any{
			"id": m.ID, "content": m.Content, "author": m.Author, "timestamp": ts, "type": 0,
			"tts": false, "mentions": []any{}, "embeds": []any{}, "attachments": []any{},
			"content_parsed": []any{map[string]string{"type": "text", "content": m.Content}},
		},
	})
}
