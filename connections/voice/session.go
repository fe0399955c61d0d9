package voice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections/voice/dave"
	vgw "github.com/cordage/cordage/events/voice"
)

// writeTimeout bounds one websocket write (wall time): a stuck peer must not stall the session.
const writeTimeout = 5 * time.Second

type wsFrame struct {
	binary bool
	data   []byte
	err    error
}

// sessionState is what one websocket connection knows.
type sessionState struct {
	cr       credSnapshot
	resume   bool
	pol      *retryPolicy
	hb       clock.Ticker
	acked    bool
	ready    vgw.Ready
	mode     vgw.Mode
	pending  *transport // UDP after IP discovery, before the session description keys it
	connDone bool       // session description or resumed seen
}

// session runs one voice websocket connection until it ends, and returns why.
func (c *Conn) session(cr credSnapshot, resume bool, pol *retryPolicy) (err error) {
	scheme := "wss"
	if c.cfg.Insecure {
		scheme = "ws"
	}
	u := url.URL{Scheme: scheme, Host: cr.Endpoint, Path: "/", RawQuery: "v=8"}
	dctx, cancel := context.WithTimeout(c.ctx, realDuration(c.clk, c.cfg.ConnectTimeout))
	ws, _, err := c.cfg.Dialer.DialContext(dctx, u.String(), nil)
	cancel()
	if err != nil {
		return fmt.Errorf("voice: dial %s: %w", cr.Endpoint, err)
	}
	c.log.Debug("voice websocket connected", zap.String("endpoint", cr.Endpoint), zap.Bool("resume", resume))

	frames := make(chan wsFrame, 16)
	stopRead := make(chan struct{})
	readDone := make(chan struct{})
	go c.readLoop(ws, frames, stopRead, readDone)

	c.wsMu.Lock()
	c.ws = ws
	c.wsMu.Unlock()

	st := &sessionState{cr: cr, resume: resume, pol: pol, acked: true}
	defer func() {
		c.wsMu.Lock()
		c.ws = nil
		if c.ctx.Err() != nil {
			// Closing: end the voice session properly. Otherwise drop the socket so that the
			// session stays resumable.
			_ = ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		}
		_ = ws.Close()
		c.wsMu.Unlock()
		close(stopRead)
		<-readDone
		if st.hb != nil {
			st.hb.Stop()
		}
		if st.pending != nil {
			st.pending.close()
		}
	}()

	connect := c.clk.NewTimer(c.cfg.ConnectTimeout)
	defer connect.Stop()
	var hbC <-chan time.Time
	for {
		if st.hb != nil {
			hbC = st.hb.C()
		}
		select {
		case <-c.ctx.Done():
			return c.ctx.Err()
		case <-connect.C():
			if !st.connDone {
				return ErrConnectTimeout
			}
		case <-c.creds.changed:
			s := c.creds.snapshot()
			switch {
			case s.StateSeen && s.ChannelID == nil:
				return errLeftChannel
			case s.ServerSeen && !s.HasServer:
				return errServerGone
			case s.usable() && s.Gen != cr.Gen:
				return errCredsChanged
			}
		case <-hbC:
			if !st.acked {
				return ErrHeartbeatTimeout
			}
			st.acked = false
			if err := c.writeOp(vgw.OpHeartbeat, vgw.Heartbeat{T: c.clk.Now().UnixMilli(), SeqAck: c.seq}); err != nil {
				return preferReadErr(frames, err)
			}
		case f := <-frames:
			if f.err != nil {
				return closeError(f.err)
			}
			if err := c.handleFrame(st, f); err != nil {
				return preferReadErr(frames, err)
			}
		}
	}
}

// closeError turns a websocket read error into a *voice.CloseError when it carries a code.
func closeError(err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return &vgw.CloseError{Code: vgw.CloseCode(ce.Code), Reason: ce.Text}
	}
	return fmt.Errorf("voice: websocket read: %w", err)
}

func (c *Conn) readLoop(ws *websocket.Conn, out chan<- wsFrame, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		typ, data, err := ws.ReadMessage()
		f := wsFrame{binary: typ == websocket.BinaryMessage, data: data, err: err}
		select {
		case out <- f:
		case <-stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (c *Conn) handleFrame(st *sessionState, f wsFrame) error {
	if f.binary {
		m, err := vgw.ParseServerBinary(f.data)
		if err != nil {
			c.log.Warn("ignoring a malformed binary voice message", zap.Error(err))
			return nil
		}
		c.seq = int64(m.Seq)
		d := c.e2ee()
		if d == nil {
			return nil
		}
		msgs, err := d.HandleBinary(m)
		if err != nil {
			c.log.Warn("DAVE message failed", zap.Stringer("op", m.Op), zap.Error(err))
		}
		return c.writeDAVEAndNote(d, msgs)
	}
	var env vgw.Envelope
	if err := json.Unmarshal(f.data, &env); err != nil {
		c.log.Warn("ignoring a malformed voice message", zap.Error(malformedJSON("voice.Envelope", err)))
		return nil
	}
	if env.HasSeq {
		c.seq = env.Seq
	}
	return c.handleOp(st, env)
}

// decode unmarshals d into v, or returns a *voice.MalformedError.
func decode(op vgw.Op, d []byte, v any) error {
	if err := json.Unmarshal(d, v); err != nil {
		return malformedJSON("voice."+op.String(), err)
	}
	return nil
}

func (c *Conn) handleOp(st *sessionState, env vgw.Envelope) error {
	switch env.Op {
	case vgw.OpHello:
		var h vgw.Hello
		if err := decode(env.Op, env.D, &h); err != nil {
			return err
		}
		iv := time.Duration(h.HeartbeatInterval * float64(time.Millisecond))
		if iv < 100*time.Millisecond {
			return vgw.Malformed("voice.Hello", 0, "heartbeat_interval too small")
		}
		if st.hb != nil {
			st.hb.Stop()
		}
		st.hb = c.clk.NewTicker(iv)
		if st.resume {
			return c.writeOp(vgw.OpResume, vgw.Resume{ServerID: c.guildID, SessionID: st.cr.SessionID, Token: st.cr.Token, SeqAck: c.seq})
		}
		c.seq = -1
		maxDAVE := vgw.DAVEProtocolVersion
		if c.cfg.DisableDAVE {
			maxDAVE = 0
		}
		return c.writeOp(vgw.OpIdentify, vgw.Identify{
			ServerID: c.guildID, UserID: c.m.user(), SessionID: st.cr.SessionID, Token: st.cr.Token,
			MaxDAVEProtocolVersion: maxDAVE,
		})
	case vgw.OpReady:
		return c.onReady(st, env)
	case vgw.OpSessionDescription:
		return c.onSessionDescription(st, env)
	case vgw.OpHeartbeatACK:
		st.acked = true
	case vgw.OpResumed:
		st.connDone = true
		st.pol.success()
		c.canResume = true
		tr := c.transport()
		ev := Connected{Resumed: true}
		if tr != nil {
			ev.SSRC, ev.Mode = tr.ssrc, tr.mode
		}
		if d := c.e2ee(); d != nil {
			ev.DAVEProtocolVersion = d.ProtocolVersion()
		}
		c.emit(ev)
	case vgw.OpSpeaking:
		var s vgw.Speaking
		if err := decode(env.Op, env.D, &s); err != nil {
			c.log.Warn("ignoring speaking", zap.Error(err))
			return nil
		}
		if s.UserID != 0 {
			c.ssrcs.set(s.SSRC, s.UserID)
		}
		c.emit(SpeakingUpdate{UserID: s.UserID, SSRC: s.SSRC, Flags: s.Speaking})
	case vgw.OpClientsConnect:
		var cc vgw.ClientsConnect
		if err := decode(env.Op, env.D, &cc); err != nil {
			c.log.Warn("ignoring clients connect", zap.Error(err))
			return nil
		}
		if d := c.e2ee(); d != nil {
			ids := make([]uint64, len(cc.UserIDs))
			for i, u := range cc.UserIDs {
				ids[i] = uint64(u)
			}
			d.ClientsConnect(ids)
		}
		c.emit(UsersConnected{UserIDs: cc.UserIDs})
	case vgw.OpClientDisconnect:
		var cd vgw.ClientDisconnect
		if err := decode(env.Op, env.D, &cd); err != nil {
			c.log.Warn("ignoring client disconnect", zap.Error(err))
			return nil
		}
		c.ssrcs.removeUser(cd.UserID)
		if d := c.e2ee(); d != nil {
			d.ClientDisconnect(uint64(cd.UserID))
		}
		c.emit(UserDisconnected{UserID: cd.UserID})
	case vgw.OpDAVEPrepareTransition, vgw.OpDAVEExecuteTransition, vgw.OpDAVEPrepareEpoch:
		d := c.e2ee()
		if d == nil {
			return nil
		}
		msgs, err := d.HandleJSON(env.Op, env.D)
		if err != nil {
			c.log.Warn("DAVE message failed", zap.Stringer("op", env.Op), zap.Error(err))
		}
		return c.writeDAVEAndNote(d, msgs)
	default:
		// Undocumented ops (video, codecs, media sink wants, platform, ...) and anything new:
		// never a reason to fail.
		c.log.Debug("ignoring voice op", zap.Stringer("op", env.Op))
	}
	return nil
}

func (c *Conn) onReady(st *sessionState, env vgw.Envelope) error {
	if err := decode(env.Op, env.D, &st.ready); err != nil {
		return err
	}
	mode, ok := vgw.ChooseMode(st.ready.Modes)
	if !ok {
		return ErrNoMode
	}
	st.mode = mode
	if st.pending != nil {
		st.pending.close()
		st.pending = nil
	}
	tr, addr, port, err := c.dialUDP(st.ready)
	if err != nil {
		return err
	}
	st.pending = tr
	if !c.cfg.DisableDAVE {
		var ch uint64
		if st.cr.ChannelID != nil {
			ch = uint64(*st.cr.ChannelID)
		}
		d, err := c.newE2EE(ch)
		if err != nil {
			return err
		}
		c.setE2EE(d)
	} else {
		c.setE2EE(nil)
	}
	return c.writeOp(vgw.OpSelectProtocol, vgw.SelectProtocol{
		Protocol: "udp", Data: vgw.SelectProtocolData{Address: addr, Port: port, Mode: mode},
	})
}

func (c *Conn) onSessionDescription(st *sessionState, env vgw.Envelope) error {
	var sd vgw.SessionDescription
	if err := decode(env.Op, env.D, &sd); err != nil {
		return err
	}
	if st.pending == nil {
		// A session description without Ready on this connection: after a resume Discord may
		// repeat it; the transport we have keeps working.
		return nil
	}
	if sd.Mode != st.mode {
		return fmt.Errorf("voice: server chose mode %q, we selected %q", sd.Mode, st.mode)
	}
	if err := st.pending.key(sd.Mode, sd.SecretKey[:]); err != nil {
		return err
	}
	tr := st.pending
	st.pending = nil
	c.setTransport(tr)
	c.startReceive(tr)
	if sd.DAVEProtocolVersion > 0 {
		d := c.e2ee()
		if d == nil {
			return ErrDAVEUnavailable
		}
		msgs, err := d.SetProtocolVersion(sd.DAVEProtocolVersion)
		if err != nil {
			return err
		}
		if err := c.writeDAVEAndNote(d, msgs); err != nil {
			return err
		}
	}
	st.connDone = true
	c.canResume = true
	st.pol.success()
	c.emit(Connected{SSRC: tr.ssrc, Mode: sd.Mode, DAVEProtocolVersion: sd.DAVEProtocolVersion})
	c.signalReady()
	return nil
}

// writeJSON writes one JSON message on the current websocket.
func (c *Conn) writeJSON(op vgw.Op, payload any) error {
	b, err := vgw.Encode(op, payload)
	if err != nil {
		return err
	}
	return c.writeWS(websocket.TextMessage, b)
}

var (
	errNoWebsocket = errors.New("voice: no voice websocket connected")
	errWSWrite     = errors.New("voice: websocket write")
)

// readErrGrace is how long (wall time) a failed write waits for the reader to report why the
// connection died: a write fails with "close sent" as soon as the server's close frame was read,
// and the close code, not the write error, decides what happens next.
const readErrGrace = time.Second

// preferReadErr returns the reader's error if one arrives soon after werr, else werr.
func preferReadErr(frames <-chan wsFrame, werr error) error {
	if !errors.Is(werr, errWSWrite) {
		return werr
	}
	t := time.NewTimer(readErrGrace)
	defer t.Stop()
	for {
		select {
		case f := <-frames:
			if f.err != nil {
				return closeError(f.err)
			}
		case <-t.C:
			return werr
		}
	}
}

func (c *Conn) writeWS(typ int, b []byte) error {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	if c.ws == nil {
		return errNoWebsocket
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := c.ws.WriteMessage(typ, b); err != nil {
		return fmt.Errorf("%w: %w", errWSWrite, err)
	}
	return nil
}

// writeDAVE writes what the DAVE session asked for.
// writeDAVEAndNote writes the session's answers, then emits DAVEChanged if the protocol version
// or the epoch moved, so a bot can show the privacy code or wait for end-to-end encryption
// without polling.
func (c *Conn) writeDAVEAndNote(d e2ee, msgs []dave.Message) error {
	err := c.writeDAVE(msgs)
	v, auth := d.ProtocolVersion(), d.EpochAuthenticator()
	if v != c.lastDAVE.version || !bytes.Equal(auth, c.lastDAVE.auth) {
		c.lastDAVE.version, c.lastDAVE.auth = v, auth
		ev := DAVEChanged{ProtocolVersion: v}
		if v > 0 && len(auth) > 0 {
			ev.PrivacyCode = d.PrivacyCode()
		}
		c.emit(ev)
	}
	return err
}

func (c *Conn) writeDAVE(msgs []dave.Message) error {
	for _, m := range msgs {
		var err error
		if m.Binary != nil {
			err = c.writeWS(websocket.BinaryMessage, vgw.AppendClientBinary(nil, m.Op, m.Binary))
		} else {
			err = c.writeOp(m.Op, m.JSON)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
