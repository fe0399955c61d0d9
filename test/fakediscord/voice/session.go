package voicesim

import (
	"encoding/json"
	"net/netip"
	"slices"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/voice"
)

// session is one voice session: from a successful Identify until it ends (a close whose policy
// is not resume, an expired resume window, a replacement, a leave).
type session struct {
	num     int
	g       *grant
	call    *call
	rec     int // index in ledger.Sessions
	ssrc    uint32
	maxDAVE int
	dave    int // negotiated DAVE protocol version (0: none)
	mode    voice.Mode
	in, out *transport     // client → server opener, server → client sealer
	addr    netip.AddrPort // where relayed packets go (Select Protocol)
	speak   voice.SpeakingFlags
	spoke   bool // sent a non-zero Speaking: its RTP is relayed
	joined  bool // joined the DAVE group

	seq   int64
	buf   []queued // the replay buffer, oldest first
	conn  *wsConn
	ended bool
	back  chan struct{} // closed when a resume ends the current resume window

	// WS faults: counts of the next messages to drop, duplicate or hold back; held is a message
	// held back until the next one is sent.
	dropWS, dupWS, reorderWS int
	held                     *queued
	skipACKs                 int // heartbeats left to leave unanswered
	// UDP faults towards this session (as a receiver).
	udpLoss, udpReorder float64
	udpHeld             []byte
}

type queued struct {
	seq    int64
	binary bool
	data   []byte
	idx    int // index in the session record's Sent
}

func (sess *session) user() events.Snowflake { return sess.g.user }

func (s *Server) recLocked(sess *session) *SessionRecord { return &s.ledger.Sessions[sess.rec] }

// sendLocked sends a sequenced JSON message to a session (buffered for replay even while no
// connection is open).
func (s *Server) sendLocked(sess *session, op voice.Op, payload any) {
	sess.seq++
	data, err := voice.EncodeSeq(op, payload, sess.seq)
	if err != nil {
		panic("voicesim: encoding a server message: " + err.Error()) // our own payload types
	}
	s.enqueueLocked(sess, queued{seq: sess.seq, data: data}, op)
}

// sendBinaryLocked sends a sequenced binary (DAVE) message: u16 seq, opcode, payload.
func (s *Server) sendBinaryLocked(sess *session, op voice.Op, payload []byte) {
	sess.seq++
	data := voice.AppendServerBinary(make([]byte, 0, 3+len(payload)), uint16(sess.seq), op, payload)
	s.enqueueLocked(sess, queued{seq: sess.seq, binary: true, data: data}, op)
}

func (s *Server) enqueueLocked(sess *session, q queued, op voice.Op) {
	rec := s.recLocked(sess)
	q.idx = len(rec.Sent)
	rec.Sent = append(rec.Sent, MessageRecord{Seq: q.seq, Op: op, Binary: q.binary})
	sess.buf = append(sess.buf, q)
	if len(sess.buf) > s.cfg.replayLimit {
		sess.buf = slices.Delete(sess.buf, 0, len(sess.buf)-s.cfg.replayLimit)
	}
	if sess.conn != nil && !sess.conn.decided { // a connection on its way out gets nothing more
		s.deliverLocked(sess, q)
	}
	s.notifyLocked()
}

// deliverLocked writes a sequenced message to the session's connection through the WS faults.
func (s *Server) deliverLocked(sess *session, q queued) {
	rec := s.recLocked(sess)
	if sess.dropWS > 0 {
		sess.dropWS--
		rec.Sent[q.idx].Dropped = true
		return
	}
	if sess.reorderWS > 0 && sess.held == nil {
		sess.reorderWS--
		sess.held = &q
		return
	}
	s.writeLocked(sess, q)
	if sess.dupWS > 0 {
		sess.dupWS--
		s.writeLocked(sess, q)
	}
	if h := sess.held; h != nil {
		sess.held = nil
		s.writeLocked(sess, *h)
	}
}

func (s *Server) writeLocked(sess *session, q queued) {
	kind := outText
	if q.binary {
		kind = outBinary
	}
	if sess.conn.push(outItem{kind: kind, data: q.data}) {
		s.recLocked(sess).Sent[q.idx].Written++
	}
}

// sendConnLocked sends an unsequenced message (Hello, heartbeat ACK, Resumed) on one connection.
func sendConn(c *wsConn, op voice.Op, payload any) {
	c.push(outItem{kind: outText, data: mustEncode(op, payload)})
}

func mustEncode(op voice.Op, payload any) []byte {
	b, err := voice.Encode(op, payload)
	if err != nil {
		panic("voicesim: encoding a server message: " + err.Error())
	}
	return b
}

// endSessionLocked ends a session: it leaves its call (the others get op 13 and the DAVE group
// loses it) and, when code is non-zero, its connection is closed with code.
func (s *Server) endSessionLocked(sess *session, why string, code voice.CloseCode) {
	if sess.ended {
		return
	}
	sess.ended = true
	s.recLocked(sess).Ended = why
	if sess.back != nil {
		close(sess.back)
		sess.back = nil
	}
	if sess.g.sess == sess {
		sess.g.sess = nil
	}
	if s.bySSRC[sess.ssrc] == sess {
		delete(s.bySSRC, sess.ssrc)
	}
	if c := sess.conn; c != nil && !c.decided {
		if code != 0 {
			s.closeConnLocked(c, code, why)
		} else {
			s.decideLocked(c, "dropped", 0)
			c.kill()
		}
	}
	cl := sess.call
	if cl.members[sess.user()] == sess {
		delete(cl.members, sess.user())
		for _, o := range s.othersLocked(sess) {
			s.sendLocked(o, voice.OpClientDisconnect, voice.ClientDisconnect{UserID: sess.user()})
		}
		s.daveLeaveLocked(sess)
		if len(cl.members) == 0 && s.calls[cl.channel] == cl {
			delete(s.calls, cl.channel) // the call is over; the next join starts a new one
		}
	}
	s.notifyLocked()
}

// othersLocked lists the other members of sess's call, by user id.
func (s *Server) othersLocked(sess *session) []*session {
	return slices.DeleteFunc(s.membersLocked(sess.call), func(m *session) bool { return m == sess })
}

// membersLocked lists the members of a call, by user id.
func (s *Server) membersLocked(cl *call) []*session {
	out := make([]*session, 0, len(cl.members))
	for _, m := range cl.members {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *session) int { return compareSnowflake(a.user(), b.user()) })
	return out
}

func compareSnowflake(a, b events.Snowflake) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// startResumeWindowLocked keeps a session without a connection resumable for the resume window;
// then it ends.
func (s *Server) startResumeWindowLocked(sess *session) {
	if s.closed {
		return
	}
	back := make(chan struct{})
	sess.back = back
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := s.clk.NewTimer(s.cfg.resumeWindow)
		defer t.Stop()
		select {
		case <-t.C():
			s.mu.Lock()
			if sess.back == back && sess.conn == nil {
				sess.back = nil
				s.endSessionLocked(sess, "resume window expired", 0)
			}
			s.mu.Unlock()
		case <-back:
		case <-s.done:
		}
	}()
}

// bindLocked makes c the session's connection.
func (s *Server) bindLocked(sess *session, c *wsConn) {
	if old := sess.conn; old != nil && old != c {
		// A resume on a new connection while the old one still looks open: the old one goes.
		s.decideLocked(old, "dropped", 0)
		old.kill()
	}
	if sess.back != nil {
		close(sess.back)
		sess.back = nil
	}
	sess.conn = c
	c.sess = sess
	rec := s.recLocked(sess)
	c.connIdx = len(rec.Connections)
	rec.Connections = append(rec.Connections, ConnRecord{Opened: c.opened})
}

// ---- client messages ----

func (s *Server) handleTextLocked(c *wsConn, data []byte) {
	if c.decided {
		return
	}
	var env voice.Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		s.closeConnLocked(c, voice.CloseDecodeError, "message is not a voice envelope")
		return
	}
	if env.Op != voice.OpHeartbeat && c.sess != nil {
		rec := s.recLocked(c.sess)
		rec.Received = append(rec.Received, env.Op)
	}
	if c.sess == nil && env.Op != voice.OpIdentify && env.Op != voice.OpResume && env.Op != voice.OpHeartbeat {
		s.closeConnLocked(c, voice.CloseNotAuthenticated, "identify first")
		return
	}
	switch env.Op {
	case voice.OpIdentify:
		s.identifyLocked(c, env)
	case voice.OpResume:
		s.resumeLocked(c, env)
	case voice.OpHeartbeat:
		s.heartbeatLocked(c, env)
	case voice.OpSelectProtocol:
		s.selectProtocolLocked(c, env)
	case voice.OpSpeaking:
		s.speakingLocked(c, env)
	case voice.OpDAVEReadyForTransition, voice.OpDAVEMLSInvalidCommitWelcome:
		s.daveJSONLocked(c, env)
	case voice.OpVoiceBackendVersion:
		// Undocumented: Discord's own client asks for the backend version with an empty op 16.
		s.sendLocked(c.sess, voice.OpVoiceBackendVersion, map[string]string{"voice": "0.0.0-fake", "rtc_worker": "0.0.0-fake"})
	default:
		s.closeConnLocked(c, voice.CloseUnknownOpcode, "unknown opcode "+env.Op.String())
	}
}

func (s *Server) handleBinaryLocked(c *wsConn, data []byte) {
	if c.decided {
		return
	}
	if c.sess == nil {
		s.closeConnLocked(c, voice.CloseNotAuthenticated, "identify first")
		return
	}
	if len(data) == 0 {
		s.closeConnLocked(c, voice.CloseDecodeError, "empty binary message")
		return
	}
	m, err := voice.ParseClientBinary(data)
	if err != nil {
		s.closeConnLocked(c, voice.CloseUnknownOpcode, "binary opcode "+voice.Op(data[0]).String())
		return
	}
	rec := s.recLocked(c.sess)
	rec.Received = append(rec.Received, m.Op)
	s.daveBinaryLocked(c, m)
}

func (s *Server) identifyLocked(c *wsConn, env voice.Envelope) {
	if c.sess != nil {
		s.closeConnLocked(c, voice.CloseAlreadyAuthenticated, "already identified")
		return
	}
	var id voice.Identify
	if err := env.Decode(&id); err != nil {
		s.closeConnLocked(c, voice.CloseDecodeError, "identify does not decode")
		return
	}
	g := s.grants[string(id.Token)]
	switch {
	case g == nil || g.revoked || g.user != id.UserID || g.sessionID != id.SessionID:
		s.closeConnLocked(c, voice.CloseAuthenticationFailed, "authentication failed")
		return
	case g.guild != id.ServerID:
		s.closeConnLocked(c, voice.CloseServerNotFound, "server not found")
		return
	case s.cfg.daveVersion > 0 && s.cfg.daveRequired && id.MaxDAVEProtocolVersion < 1:
		s.closeConnLocked(c, voice.CloseDAVERequired, "E2EE/DAVE protocol required")
		return
	}
	// One session per user and guild: an older one (same token after a lost session, or the
	// token of the channel the user moved from) is replaced.
	for _, o := range s.grants {
		if o.guild == g.guild && o.user == g.user && o.sess != nil && !o.sess.ended {
			s.endSessionLocked(o.sess, "replaced by a new identify", voice.CloseSessionInvalid)
		}
	}
	cl := s.callLocked(g.guild, g.channel)
	s.ledger.Sessions = append(s.ledger.Sessions, SessionRecord{})
	sess := &session{num: len(s.ledger.Sessions), g: g, call: cl, rec: len(s.ledger.Sessions) - 1,
		ssrc: s.newSSRCLocked(), maxDAVE: id.MaxDAVEProtocolVersion}
	if s.cfg.daveVersion > 0 && id.MaxDAVEProtocolVersion > 0 {
		sess.dave = min(s.cfg.daveVersion, id.MaxDAVEProtocolVersion)
	}
	s.ledger.Sessions[sess.rec] = SessionRecord{ID: sess.num, GuildID: g.guild, ChannelID: g.channel,
		UserID: g.user, SessionID: g.sessionID, SSRC: sess.ssrc, MaxDAVEVersion: id.MaxDAVEProtocolVersion,
		LastSeqAck: -1, Received: []voice.Op{voice.OpIdentify}}
	g.sess = sess
	s.bySSRC[sess.ssrc] = sess
	s.bindLocked(sess, c)

	s.sendLocked(sess, voice.OpReady, readyPayload{
		Ready:             voice.Ready{SSRC: sess.ssrc, IP: "127.0.0.1", Port: s.udpPort, Modes: s.cfg.modes},
		HeartbeatInterval: float64(s.cfg.heartbeatInterval.Milliseconds()),
	})
	if s.cfg.undocumented {
		s.sendLocked(sess, voice.OpMediaSinkWants, map[string]any{"any": 100})
	}
	others := s.othersLocked(sess)
	cl.members[g.user] = sess
	if len(others) > 0 {
		ids := make([]events.Snowflake, len(others))
		for i, o := range others {
			ids[i] = o.user()
		}
		s.sendLocked(sess, voice.OpClientsConnect, voice.ClientsConnect{UserIDs: ids})
		for _, o := range others {
			s.sendUndocumentedAboutLocked(sess, o.user())
			if o.spoke {
				s.sendLocked(sess, voice.OpSpeaking, voice.Speaking{Speaking: o.speak, SSRC: o.ssrc, UserID: o.user()})
			}
		}
	}
	for _, o := range others {
		s.sendLocked(o, voice.OpClientsConnect, voice.ClientsConnect{UserIDs: []events.Snowflake{g.user}})
		s.sendUndocumentedAboutLocked(o, g.user)
	}
}

type readyPayload struct {
	voice.Ready
	HeartbeatInterval float64 `json:"heartbeat_interval"`
}

// sendUndocumentedAboutLocked sends op 18 (client flags) and op 20 (client platform) about a
// user, as Discord does next to clients-connect.
func (s *Server) sendUndocumentedAboutLocked(to *session, user events.Snowflake) {
	if !s.cfg.undocumented {
		return
	}
	s.sendLocked(to, voice.OpClientFlags, map[string]any{"user_id": user, "flags": 0})
	s.sendLocked(to, voice.OpClientPlatform, map[string]any{"user_id": user, "platform": 0})
}

func (s *Server) resumeLocked(c *wsConn, env voice.Envelope) {
	if c.sess != nil {
		s.closeConnLocked(c, voice.CloseAlreadyAuthenticated, "already identified")
		return
	}
	var r voice.Resume
	if err := env.Decode(&r); err != nil {
		s.closeConnLocked(c, voice.CloseDecodeError, "resume does not decode")
		return
	}
	g := s.grants[string(r.Token)]
	if g == nil || g.sess == nil || g.sess.ended || g.guild != r.ServerID || g.sessionID != r.SessionID {
		s.closeConnLocked(c, voice.CloseSessionInvalid, "session no longer valid")
		return
	}
	sess := g.sess
	rec := s.recLocked(sess)
	res := ResumeRecord{At: s.clk.Now(), SeqAck: r.SeqAck}
	reaches := len(sess.buf) == 0 || sess.buf[0].seq <= r.SeqAck+1
	if r.SeqAck > sess.seq || r.SeqAck < -1 || !reaches {
		res.Code = voice.CloseSessionInvalid
		rec.Resumes = append(rec.Resumes, res)
		s.closeConnLocked(c, voice.CloseSessionInvalid, "cannot resume from that seq")
		// closeConnLocked ends only the session of a bound connection; this one is not bound.
		s.endSessionLocked(sess, "resume from an unreachable seq", 0)
		return
	}
	s.bindLocked(sess, c)
	rec.LastSeqAck = r.SeqAck
	sendConn(c, voice.OpResumed, nil)
	for _, q := range sess.buf {
		if q.seq > r.SeqAck {
			s.writeLocked(sess, q)
			rec.Sent[q.idx].Replayed++
			res.Replayed = append(res.Replayed, q.seq)
		}
	}
	res.Accepted = true
	rec.Resumes = append(rec.Resumes, res)
	s.notifyLocked()
}

func (s *Server) heartbeatLocked(c *wsConn, env voice.Envelope) {
	var hb voice.Heartbeat
	if err := env.Decode(&hb); err != nil {
		// Before v8 the heartbeat was a bare nonce; the ACK echoes it.
		var n int64
		if err := env.Decode(&n); err != nil {
			s.closeConnLocked(c, voice.CloseDecodeError, "heartbeat does not decode")
			return
		}
		hb = voice.Heartbeat{T: n, SeqAck: -1}
	}
	s.touchBeat(c)
	if sess := c.sess; sess != nil {
		rec := s.recLocked(sess)
		rec.Heartbeats++
		rec.LastSeqAck = hb.SeqAck
		if sess.skipACKs > 0 {
			sess.skipACKs--
			rec.ACKsWithheld++
			return
		}
	}
	sendConn(c, voice.OpHeartbeatACK, voice.HeartbeatACK{T: hb.T})
	s.notifyLocked()
}

func (s *Server) selectProtocolLocked(c *wsConn, env voice.Envelope) {
	sess := c.sess
	var sp voice.SelectProtocol
	if err := env.Decode(&sp); err != nil {
		s.closeConnLocked(c, voice.CloseDecodeError, "select protocol does not decode")
		return
	}
	if sp.Protocol != "udp" {
		s.closeConnLocked(c, voice.CloseUnknownProtocol, "unknown protocol")
		return
	}
	if !slices.Contains(s.cfg.modes, sp.Data.Mode) {
		s.closeConnLocked(c, voice.CloseUnknownEncryptionMode, "unknown encryption mode")
		return
	}
	ip, err := netip.ParseAddr(sp.Data.Address)
	if err != nil || sp.Data.Port == 0 {
		s.closeConnLocked(c, voice.CloseBadRequest, "bad address or port")
		return
	}
	var key voice.SecretKey
	if _, err := randRead(key[:]); err != nil {
		s.closeConnLocked(c, voice.CloseServerCrashed, "no randomness")
		return
	}
	in, err1 := newTransport(sp.Data.Mode, key[:])
	out, err2 := newTransport(sp.Data.Mode, key[:])
	if err1 != nil || err2 != nil {
		s.closeConnLocked(c, voice.CloseUnknownEncryptionMode, "unknown encryption mode")
		return
	}
	first := sess.in == nil
	sess.mode, sess.in, sess.out, sess.addr = sp.Data.Mode, in, out, netip.AddrPortFrom(ip.Unmap(), sp.Data.Port)
	rec := s.recLocked(sess)
	version := s.daveVersionLocked(sess)
	rec.Mode, rec.DAVEVersion = sess.mode, version
	s.sendLocked(sess, voice.OpSessionDescription, sessionDescription{
		SessionDescription: voice.SessionDescription{Mode: sess.mode, SecretKey: key, DAVEProtocolVersion: version},
		AudioCodec:         "opus", VideoCodec: "H264", MediaSessionID: "fake-media-" + itoa(sess.num),
	})
	if first {
		s.daveJoinLocked(sess)
	}
}

// sessionDescription adds the fields Discord sends that clients ignore.
type sessionDescription struct {
	voice.SessionDescription
	AudioCodec     string `json:"audio_codec"`
	VideoCodec     string `json:"video_codec"`
	MediaSessionID string `json:"media_session_id"`
}

func (s *Server) speakingLocked(c *wsConn, env voice.Envelope) {
	sess := c.sess
	var sp voice.Speaking
	if err := env.Decode(&sp); err != nil {
		s.closeConnLocked(c, voice.CloseDecodeError, "speaking does not decode")
		return
	}
	if sp.SSRC != sess.ssrc {
		s.closeConnLocked(c, voice.CloseBadRequest, "speaking with an ssrc that is not the session's")
		return
	}
	sess.speak = sp.Speaking
	if sp.Speaking != 0 {
		sess.spoke = true
	}
	for _, o := range s.othersLocked(sess) {
		s.sendLocked(o, voice.OpSpeaking, voice.Speaking{Speaking: sp.Speaking, SSRC: sess.ssrc, UserID: sess.user()})
	}
}
