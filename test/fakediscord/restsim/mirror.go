package restsim

import (
	"encoding/json"
	"errors"

	"github.com/cordage/cordage/events"
)

// This file lets another simulator (the gateway of package fakediscord) share its world with
// the REST side: guilds, channels and users with the ids the gateway already announced, and
// messages written by users rather than by the bot.

// MirrorGuild makes sure guild id exists with the given name, the @everyone role and the bot
// as a member. An existing guild is left as it is.
func (s *Server) MirrorGuild(id events.Snowflake, name string) {
	w := s.world
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.guilds[id] != nil {
		return
	}
	g := &guild{id: id, name: name, ownerID: w.bot.ID, members: map[events.Snowflake]*events.Member{}}
	g.roles = append(g.roles, roleObj(id, "@everyone", 0))
	w.guilds[id] = g
	w.addMemberLocked(g, w.bot.ID)
}

// MirrorChannel makes sure text channel id exists in guildID (0 for none). An existing channel
// is left as it is.
func (s *Server) MirrorChannel(id, guildID events.Snowflake, name string) {
	w := s.world
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.channels[id] != nil {
		return
	}
	obj := map[string]any{"id": id, "type": 0, "name": name, "position": len(w.channels), "nsfw": false,
		"last_message_id": nil, "rate_limit_per_user": 0, "permission_overwrites": []any{}}
	if guildID != 0 {
		obj["guild_id"] = guildID
	}
	w.channels[id] = &channel{obj: obj, guildID: guildID, messages: map[events.Snowflake]*message{}}
}

// MirrorUser makes sure user u exists and, when guildID is a known guild, is its member.
func (s *Server) MirrorUser(u events.User, guildID events.Snowflake) {
	w := s.world
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.users[u.ID]; !ok {
		w.users[u.ID] = u
	}
	if g := w.guilds[guildID]; g != nil && g.members[u.ID] == nil {
		w.addMemberLocked(g, u.ID)
	}
}

// ErrUnknown is returned by PostAsUser and RemoveMessage for a channel, user or message the
// simulator does not know.
var ErrUnknown = errors.New("restsim: unknown channel, user or message")

// PostAsUser creates a message by a user (not the bot) in a channel, as if the user had sent it
// from their client now, and returns it as Discord sends it. The bot can then reply to it.
func (s *Server) PostAsUser(channelID, userID events.Snowflake, content string) (json.RawMessage, error) {
	w := s.world
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := w.channels[channelID]
	u, known := w.users[userID]
	if ch == nil || !known {
		return nil, ErrUnknown
	}
	id := w.newID()
	obj := map[string]any{
		"id": id, "channel_id": channelID, "author": u, "content": content, "timestamp": w.now(),
		"edited_timestamp": nil, "tts": false, "mention_everyone": false, "mentions": []any{},
		"mention_roles": []any{}, "attachments": []any{}, "embeds": []any{}, "pinned": false, "type": 0,
	}
	if ch.guildID != 0 {
		obj["guild_id"] = ch.guildID
	}
	m := &message{obj: obj, authorID: userID}
	ch.messages[id] = m
	ch.obj["last_message_id"] = id
	return mustJSON(m.render(w.bot.ID)), nil
}

// RemoveMessage deletes a message without going through the API (no rate limit, no ledger
// entry), for example one whose gateway event could not be delivered.
func (s *Server) RemoveMessage(channelID, messageID events.Snowflake) error {
	w := s.world
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := w.channels[channelID]
	if ch == nil || ch.messages[messageID] == nil {
		return ErrUnknown
	}
	delete(ch.messages, messageID)
	return nil
}
