package fakediscord

import (
	"encoding/json"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/events"
)

// sendWindow and sendLimit are Discord's per-connection budget for frames a client sends.
const (
	sendWindow = 60 * time.Second
	sendLimit  = 120
)

// identifySpacing is how far apart identifies in one max_concurrency bucket must be.
const identifySpacing = 5 * time.Second

// handleFrame processes one frame the client sent. It runs on the connection's reader.
func (s *Server) handleFrame(c *conn, data []byte) {
	now := s.clk.Now()
	// Every frame counts, heartbeats too.
	c.sendTimes = append(c.sendTimes, now)
	drop := 0
	for drop < len(c.sendTimes) && now.Sub(c.sendTimes[drop]) >= sendWindow {
		drop++
	}
	c.sendTimes = c.sendTimes[drop:]
	if len(c.sendTimes) > sendLimit {
		s.closeConn(c, events.CloseRateLimited)
		return
	}
	if len(data) > maxClientPayload {
		s.closeConn(c, events.CloseDecodeError)
		return
	}
	var env events.Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		s.closeConn(c, events.CloseDecodeError)
		return
	}
	if !env.Op.ClientSends() {
		s.closeConn(c, events.CloseUnknownOpcode)
		return
	}
	switch env.Op {
	case events.OpHeartbeat:
		if len(env.D) > 0 {
			var seq *int64
			if json.Unmarshal(env.D, &seq) != nil {
				s.closeConn(c, events.CloseUnknownOpcode)
				return
			}
		}
		c.qmu.Lock()
		c.lastBeat = now
		c.qmu.Unlock()
		c.push(outItem{kind: outFrame, data: envelopeBytes(events.OpHeartbeatACK, nil)})
		return
	case events.OpIdentify:
		s.identify(c, env)
		return
	case events.OpResume:
		s.resume(c, env)
		return
	}
	s.mu.Lock()
	sess := c.sess
	if sess == nil {
		s.closeConnLocked(c, events.CloseNotAuthenticated)
		s.mu.Unlock()
		return
	}
	s.recordLocked(sess.shard, env)
	s.mu.Unlock()
	switch env.Op {
	case events.OpPresenceUpdate:
		var p events.PresenceUpdate
		if env.Decode(&p) != nil {
			s.closeConn(c, events.CloseUnknownOpcode)
		}
	case events.OpVoiceStateUpdate:
		s.voiceStateUpdate(c, env)
	case events.OpRequestGuildMembers:
		s.requestGuildMembers(c, env)
	case events.OpRequestSoundboardSounds:
		s.requestSoundboardSounds(c, env)
	case events.OpRequestChannelInfo:
		s.requestChannelInfo(c, env)
	}
}

// recordLocked keeps a client frame for Received.
func (s *Server) recordLocked(shard int, env events.Envelope) {
	s.received[shard] = append(s.received[shard], env)
	s.notifyLocked()
}

// IdentifyRecord is one Identify the server received.
type IdentifyRecord struct {
	ConnID     int
	Shard      int
	ShardCount int
	At         time.Time // clock time
	// Bucket is shard % max_concurrency: identifies in one bucket must be 5 s apart.
	Bucket   int
	Accepted bool
	// Reason says why an identify was refused: RefusedPacing and RefusedBudget (answered with
	// op 9 d=false), or RefusedClose (closed with Code).
	Reason       string
	Code         events.CloseCode
	SessionID    string // of the session an accepted identify started
	ViaResumeURL bool   // sent on the resume URL, which clients should use for resumes only
	Intents      events.Intent
}

// Reasons for a refused identify, in IdentifyRecord.Reason.
const (
	RefusedPacing = "pacing"              // a second identify in the bucket within 5 s
	RefusedBudget = "session-start-limit" // no session starts remaining
	RefusedClose  = "closed"              // invalid identify, closed with IdentifyRecord.Code
)

func (s *Server) identify(c *conn, env events.Envelope) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	rec := IdentifyRecord{ConnID: c.id, At: now, ShardCount: 1, ViaResumeURL: c.viaResume}
	refuse := func(code events.CloseCode) {
		rec.Reason, rec.Code = RefusedClose, code
		s.identifyLog = append(s.identifyLog, rec)
		s.closeConnLocked(c, code)
	}
	if c.sess != nil {
		refuse(events.CloseAlreadyAuthenticated)
		return
	}
	var id events.Identify
	if err := env.Decode(&id); err != nil {
		refuse(events.CloseDecodeError)
		return
	}
	if id.Shard != nil {
		rec.Shard, rec.ShardCount = id.Shard.ID(), id.Shard.Count()
	}
	rec.Intents = id.Intents
	rec.Bucket = rec.Shard % s.cfg.maxConcurrency
	s.recordLocked(rec.Shard, env)
	switch {
	case id.Token != s.cfg.token:
		refuse(events.CloseAuthenticationFailed)
		return
	case rec.ShardCount < 1 || rec.Shard < 0 || rec.Shard >= rec.ShardCount:
		rec.Bucket = 0
		refuse(events.CloseInvalidShard)
		return
	case id.Intents.Unknown() != 0:
		refuse(events.CloseInvalidIntents)
		return
	case id.Intents.Privileged()&^s.cfg.grantedIntents != 0:
		refuse(events.CloseDisallowedIntents)
		return
	}
	lt := id.LargeThreshold
	if lt == 0 {
		lt = 50
	}
	if lt < 50 || lt > 250 {
		refuse(events.CloseUnknownOpcode) // a payload that is invalid for its opcode
		return
	}
	guilds := s.world.guildsOfShard(rec.Shard, rec.ShardCount)
	if len(guilds) > s.cfg.maxGuildsPerShard {
		refuse(events.CloseShardingRequired)
		return
	}
	s.refreshBudgetLocked(now)
	if s.remaining <= 0 {
		rec.Reason = RefusedBudget
		s.identifyLog = append(s.identifyLog, rec)
		c.push(outItem{kind: outFrame, data: envelopeBytes(events.OpInvalidSession, []byte("false"))})
		s.notifyLocked()
		return
	}
	if last, ok := s.lastIdentify[rec.Bucket]; ok && now.Sub(last) < identifySpacing {
		rec.Reason = RefusedPacing
		s.identifyLog = append(s.identifyLog, rec)
		s.spacingViolations++
		c.push(outItem{kind: outFrame, data: envelopeBytes(events.OpInvalidSession, []byte("false"))})
		s.notifyLocked()
		return
	}
	s.remaining--
	s.lastIdentify[rec.Bucket] = now
	sess := &session{
		id: s.newSessionIDLocked(), shard: rec.Shard, count: rec.ShardCount, intents: id.Intents,
		largeThreshold: lt, started: now,
	}
	s.sessions[sess.id] = sess
	s.sessionOrder = append(s.sessionOrder, sess)
	s.attachLocked(c, sess)
	rec.Accepted, rec.SessionID = true, sess.id
	s.identifyLog = append(s.identifyLog, rec)

	unavailable := make([]events.UnavailableGuild, len(guilds))
	for i, g := range guilds {
		unavailable[i] = events.UnavailableGuild{ID: g, Unavailable: true}
	}
	ready := map[string]any{
		"v":                  10,
		"user":               s.world.botUser(),
		"guilds":             unavailable,
		"session_id":         sess.id,
		"resume_gateway_url": s.ResumeURL(),
		"application":        events.PartialApplication{ID: s.world.appID, Flags: 1 << 23},
		"session_type":       "normal",
		"private_channels":   []any{},
		"relationships":      []any{},
		"_trace":             []string{`["fakediscord-session",{"micros":0}]`},
	}
	if id.Shard != nil {
		ready["shard"] = events.ShardInfo{rec.Shard, rec.ShardCount} // only when identify sent one
	}
	_ = s.dispatchNewLocked(sess, "READY", 0, ready)
	for _, g := range guilds {
		if s.withheldGuilds[g] {
			continue
		}
		_ = s.dispatchNewLocked(sess, "GUILD_CREATE", g, s.world.guildCreate(g, lt, worldEpoch))
	}
	s.log.Info("session started", zap.Int("shard", rec.Shard), zap.Int("shards", rec.ShardCount), zap.Int("conn", c.id))
	s.notifyLocked()
}

// refreshBudgetLocked starts a new session-start window when the old one has passed.
func (s *Server) refreshBudgetLocked(now time.Time) {
	for !now.Before(s.resetAt) {
		s.remaining = s.cfg.sessionTotal
		s.resetAt = s.resetAt.Add(24 * time.Hour)
	}
}

func (s *Server) resume(c *conn, env events.Envelope) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	if c.sess != nil {
		s.closeConnLocked(c, events.CloseAlreadyAuthenticated)
		return
	}
	var r events.Resume
	if err := env.Decode(&r); err != nil {
		s.closeConnLocked(c, events.CloseDecodeError)
		return
	}
	if r.Token != s.cfg.token {
		s.closeConnLocked(c, events.CloseAuthenticationFailed)
		return
	}
	sess := s.sessions[r.SessionID]
	if sess != nil {
		s.recordLocked(sess.shard, env)
	}
	tooOld := sess != nil && r.Seq < sess.entries[sess.firstReplay].seq-1 // replay buffer ran out
	if sess == nil || s.refuseResumes || tooOld || !s.aliveLocked(sess, now) {
		if sess != nil && sess.conn != nil {
			// A refused resume ends the session for good, even if another connection carries it.
			s.detachLocked(sess.conn, EndInvalidated, 0, false)
		}
		if sess != nil {
			sess.state = SessionDead
		}
		c.push(outItem{kind: outFrame, data: envelopeBytes(events.OpInvalidSession, []byte("false"))})
		s.notifyLocked()
		return
	}
	if r.Seq > sess.seq {
		if sess.conn != nil {
			s.detachLocked(sess.conn, EndInvalidated, 0, false)
		}
		sess.state = SessionDead
		s.closeConnLocked(c, events.CloseInvalidSeq)
		return
	}
	if old := sess.conn; old != nil {
		// The session moves to the new connection; the old one is closed without touching it.
		s.detachLocked(old, EndTakenOver, events.CloseUnknownError, true)
		old.decided, old.end, old.code = true, EndTakenOver, events.CloseUnknownError
		old.push(outItem{kind: outClose, code: events.CloseUnknownError})
	}
	s.attachLocked(c, sess)
	rr := ResumeRecord{At: now, FromSeq: r.Seq, ViaResumeURL: c.viaResume}
	for _, e := range sess.entries[sess.firstReplay:] {
		if e.seq > r.Seq {
			e.replays++
			rr.Replayed = append(rr.Replayed, e.seq)
			c.push(outItem{kind: outFrame, data: dispatchBytes(e), ent: e})
		}
	}
	resumed, _ := jsonBytes(map[string]any{"_trace": []string{`["fakediscord-resume",{"micros":0}]`}})
	e := s.dispatchLocked(sess, "RESUMED", 0, resumed, s.newEventIDLocked())
	rr.ResumedSeq = e.seq
	sess.resumes = append(sess.resumes, rr)
	s.log.Info("session resumed", zap.Int("shard", sess.shard), zap.Int("conn", c.id), zap.Int("replayed", len(rr.Replayed)))
	s.notifyLocked()
}
