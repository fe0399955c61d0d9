package fakediscord

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cordage/cordage/events"
)

// allMembersInterval is how often one guild's full member list may be requested (op 8 with
// query "" and limit 0); a request within it gets a RATE_LIMITED dispatch instead of chunks.
const allMembersInterval = 30 * time.Second

// maxChunk is the most members one GUILD_MEMBERS_CHUNK carries.
const maxChunk = 1000

// voiceStateUpdate answers op 4 as Discord does: VOICE_STATE_UPDATE for the bot, and, when it
// joins or moves, VOICE_SERVER_UPDATE with a token and endpoint.
func (s *Server) voiceStateUpdate(c *conn, env events.Envelope) {
	var v events.UpdateVoiceState
	if err := env.Decode(&v); err != nil || v.GuildID == 0 {
		s.closeConn(c, events.CloseUnknownOpcode)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := c.sess
	if sess == nil {
		return
	}
	var channel any
	if v.ChannelID != nil {
		channel = *v.ChannelID
	}
	voiceSession := fmt.Sprintf("voice-%d-%d", sess.shard, s.rng.Uint64())
	var token, endpoint string
	vs := s.cfg.voiceServer
	switch {
	case v.ChannelID == nil:
	case vs == nil:
		token, endpoint = fmt.Sprintf("voice-token-%d", s.rng.Uint32()), s.cfg.voiceEndpoint
	default:
		if token, endpoint = vs.IssueToken(v.GuildID, *v.ChannelID, s.world.botID, voiceSession); token == "" {
			return // a full channel: Discord sends nothing at all
		}
	}
	member := s.world.member(v.GuildID, -1)
	_ = s.dispatchNewLocked(sess, "VOICE_STATE_UPDATE", v.GuildID, map[string]any{
		"guild_id": v.GuildID, "channel_id": channel, "user_id": s.world.botID, "member": member,
		"session_id": voiceSession, "deaf": false, "mute": false, "self_deaf": v.SelfDeaf,
		"self_mute": v.SelfMute, "self_video": false, "suppress": false,
		"request_to_speak_timestamp": nil,
	})
	// An empty endpoint is a voice server being reallocated: VOICE_SERVER_UPDATE with a null
	// endpoint, then another one with the next token (a few at most).
	for i := 0; vs != nil && token != "" && endpoint == "" && i < 3; i++ {
		_ = s.dispatchNewLocked(sess, "VOICE_SERVER_UPDATE", v.GuildID, map[string]any{
			"token": token, "guild_id": v.GuildID, "endpoint": nil,
		})
		token, endpoint = vs.IssueToken(v.GuildID, *v.ChannelID, s.world.botID, voiceSession)
	}
	if token != "" {
		_ = s.dispatchNewLocked(sess, "VOICE_SERVER_UPDATE", v.GuildID, map[string]any{
			"token": token, "guild_id": v.GuildID, "endpoint": endpoint,
		})
	} else if vs != nil && v.ChannelID == nil {
		vs.Leave(v.GuildID, s.world.botID)
	}
	s.notifyLocked()
}

// memberRequest is op 8 as sent; user_ids may be one id or a list.
type memberRequest struct {
	GuildID   events.Snowflake `json:"guild_id"`
	Query     *string          `json:"query"`
	Limit     *int             `json:"limit"`
	Presences bool             `json:"presences"`
	UserIDs   json.RawMessage  `json:"user_ids"`
	Nonce     *string          `json:"nonce"`
}

func (s *Server) requestGuildMembers(c *conn, env events.Envelope) {
	var r memberRequest
	if err := env.Decode(&r); err != nil || r.GuildID == 0 {
		s.closeConn(c, events.CloseUnknownOpcode)
		return
	}
	var ids []events.Snowflake
	if len(r.UserIDs) > 0 && string(r.UserIDs) != "null" {
		var one events.Snowflake
		if json.Unmarshal(r.UserIDs, &one) == nil {
			ids = []events.Snowflake{one}
		} else if json.Unmarshal(r.UserIDs, &ids) != nil {
			s.closeConn(c, events.CloseUnknownOpcode)
			return
		}
	}
	if r.Query == nil && ids == nil {
		s.closeConn(c, events.CloseUnknownOpcode) // one of query or user_ids is required
		return
	}
	nonce := ""
	if r.Nonce != nil && len(*r.Nonce) <= events.MaxNonceLength {
		nonce = *r.Nonce // a longer nonce is dropped silently, as Discord does
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := c.sess
	if sess == nil {
		return
	}
	if !s.holdsGuild(sess, r.GuildID) {
		return // Discord answers nothing for a guild the session does not hold
	}
	now := s.clk.Now()
	limit := 0
	if r.Limit != nil {
		limit = *r.Limit
	}
	allMembers := ids == nil && r.Query != nil && *r.Query == "" && limit == 0
	if allMembers {
		if !sess.intents.Has(events.IntentGuildMembers) {
			s.closeConnLocked(c, events.CloseUnknownOpcode) // all members needs GUILD_MEMBERS
			return
		}
		if last, ok := s.memberRequests[r.GuildID]; ok && now.Sub(last) < allMembersInterval {
			meta, _ := jsonBytes(events.RequestGuildMembersRateLimit{GuildID: r.GuildID, Nonce: nonce})
			retry := (allMembersInterval - now.Sub(last)).Seconds()
			_ = s.dispatchNewLocked(sess, "RATE_LIMITED", r.GuildID, events.RateLimited{
				Opcode: events.OpRequestGuildMembers, RetryAfter: retry, Meta: meta,
			})
			s.notifyLocked()
			return
		}
		s.memberRequests[r.GuildID] = now
	}
	presences := r.Presences && sess.intents.Has(events.IntentGuildPresences)

	var members []events.Member
	var notFound []events.Snowflake
	switch {
	case ids != nil:
		for _, id := range ids[:min(len(ids), 100)] {
			if i, ok := s.world.memberIndex(r.GuildID, id); ok {
				members = append(members, s.world.member(r.GuildID, i))
			} else {
				notFound = append(notFound, id)
			}
		}
	default:
		q := strings.ToLower(*r.Query)
		most := limit
		if q != "" && (most == 0 || most > 100) {
			most = 100 // a prefix query returns at most 100
		}
		if strings.HasPrefix(s.world.botUser().Username, q) {
			members = append(members, s.world.member(r.GuildID, -1))
		}
		for i := 0; i < s.world.members && (most == 0 || len(members) < most); i++ {
			if strings.HasPrefix(s.world.memberName(i), q) {
				members = append(members, s.world.member(r.GuildID, i))
			}
		}
		if most > 0 && len(members) > most {
			members = members[:most]
		}
	}
	count := max(1, (len(members)+maxChunk-1)/maxChunk)
	for i := range count {
		part := members[min(i*maxChunk, len(members)):min((i+1)*maxChunk, len(members))]
		chunk := map[string]any{
			"guild_id": r.GuildID, "members": nonNil(part), "chunk_index": i, "chunk_count": count,
		}
		if nonce != "" {
			chunk["nonce"] = nonce
		}
		if i == 0 && ids != nil {
			chunk["not_found"] = nonNil(notFound)
		}
		if presences {
			ps := make([]map[string]any, 0, len(part))
			for _, m := range part {
				ps = append(ps, map[string]any{
					"user": map[string]any{"id": m.User.ID}, "guild_id": r.GuildID, "status": "online",
					"activities": []any{}, "client_status": map[string]any{"desktop": "online"},
				})
			}
			chunk["presences"] = ps
		}
		_ = s.dispatchNewLocked(sess, "GUILD_MEMBERS_CHUNK", r.GuildID, chunk)
	}
	s.notifyLocked()
}

// holdsGuild reports whether guild exists and is on sess's shard. Callers hold s.mu.
func (s *Server) holdsGuild(sess *session, guild events.Snowflake) bool {
	return s.world.hasGuild(guild) && guild.ShardID(sess.count) == sess.shard
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// requestSoundboardSounds answers op 31 with one SOUNDBOARD_SOUNDS per requested guild of the
// session's shard.
func (s *Server) requestSoundboardSounds(c *conn, env events.Envelope) {
	var r events.RequestSoundboardSounds
	if err := env.Decode(&r); err != nil {
		s.closeConn(c, events.CloseUnknownOpcode)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := c.sess
	if sess == nil {
		return
	}
	for _, g := range r.GuildIDs {
		if !s.holdsGuild(sess, g) {
			continue
		}
		_ = s.dispatchNewLocked(sess, "SOUNDBOARD_SOUNDS", g, map[string]any{
			"guild_id": g, "soundboard_sounds": s.world.sounds(g),
		})
	}
	s.notifyLocked()
}

// requestChannelInfo answers op 43 with CHANNEL_INFO for the guild's voice channel.
func (s *Server) requestChannelInfo(c *conn, env events.Envelope) {
	var r events.RequestChannelInfo
	if err := env.Decode(&r); err != nil || r.GuildID == 0 {
		s.closeConn(c, events.CloseUnknownOpcode)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := c.sess
	if sess == nil || !s.holdsGuild(sess, r.GuildID) {
		return
	}
	ch := map[string]any{"id": s.world.voiceChannel(r.GuildID)}
	for _, f := range r.Fields {
		switch f {
		case "status":
			ch["status"] = "fake voice status"
		case "voice_start_time":
			ch["voice_start_time"] = worldEpoch.Unix()
		}
	}
	_ = s.dispatchNewLocked(sess, "CHANNEL_INFO", r.GuildID, map[string]any{
		"guild_id": r.GuildID, "channels": []any{ch},
	})
	s.notifyLocked()
}
