package voicesim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"

	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord/voice/daveserver"
)

// Server is a fake Discord voice server: the voice websocket (v8) and the UDP media relay, both
// on 127.0.0.1. Create it with [New] and stop it with [Server.Close].
type Server struct {
	cfg     config
	clk     clock.Clock
	log     *zap.Logger
	ln      net.Listener
	hs      *http.Server
	udp     *net.UDPConn
	udpPort uint16
	faults  *Faults

	mu       sync.Mutex
	closed   bool
	rng      *mrand.Rand
	grants   map[string]*grant          // by token
	calls    map[events.Snowflake]*call // by channel id
	bySSRC   map[uint32]*session
	conns    map[*wsConn]struct{}
	nextSSRC uint32
	full     map[events.Snowflake]bool // channels whose joins IssueToken refuses
	nulls    int                       // IssueToken calls left that give a null endpoint
	ledger   Ledger
	changed  chan struct{} // closed and replaced on every ledger change
	plain    []byte        // the relay's decrypt buffer (UDP goroutine, under mu)

	wg   sync.WaitGroup
	done chan struct{}
}

// grant is one token handed out by IssueToken: who may identify with it, and where.
type grant struct {
	guild, channel, user events.Snowflake
	sessionID            string
	token                string
	revoked              bool
	sess                 *session // the session identified with this token, if it lasts
}

// call is the set of users in one voice channel.
type call struct {
	guild, channel events.Snowflake
	members        map[events.Snowflake]*session
	dave           *daveserver.Server // nil until the first DAVE join, and without DAVE
}

// New starts a voice server on 127.0.0.1 (a websocket listener and a UDP socket, ports chosen by
// the system).
func New(opts ...Option) (*Server, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.heartbeatInterval <= 0 {
		return nil, errors.New("voicesim: heartbeat interval must be positive")
	}
	if cfg.heartbeatGrace <= 0 {
		cfg.heartbeatGrace = cfg.heartbeatInterval / 2
	}
	if cfg.replayLimit <= 0 || cfg.resumeWindow <= 0 || cfg.executeTimeout <= 0 {
		return nil, errors.New("voicesim: replay limit, resume window and execute timeout must be positive")
	}
	if len(cfg.modes) == 0 {
		return nil, errors.New("voicesim: no encryption mode offered")
	}
	if cfg.daveVersion < 0 {
		return nil, errors.New("voicesim: negative DAVE version")
	}
	if cfg.log == nil {
		cfg.log = zap.NewNop()
	}
	if cfg.clk == nil {
		cfg.clk = clock.Real()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	s := &Server{
		cfg: cfg, clk: cfg.clk, log: cfg.log, ln: ln, udp: udp,
		udpPort:  uint16(udp.LocalAddr().(*net.UDPAddr).Port),
		rng:      mrand.New(mrand.NewPCG(uint64(cfg.seed), 0x766f696365)),
		grants:   map[string]*grant{},
		calls:    map[events.Snowflake]*call{},
		bySSRC:   map[uint32]*session{},
		conns:    map[*wsConn]struct{}{},
		full:     map[events.Snowflake]bool{},
		changed:  make(chan struct{}),
		plain:    make([]byte, 0, 2048),
		done:     make(chan struct{}),
		nextSSRC: 1000 + uint32(cfg.seed%1000),
	}
	s.faults = &Faults{s: s}
	s.hs = &http.Server{Handler: http.HandlerFunc(s.serveWS)}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		_ = s.hs.Serve(ln)
	}()
	go func() {
		defer s.wg.Done()
		s.readUDP()
	}()
	if cfg.daveVersion > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.tickDAVE()
		}()
	}
	return s, nil
}

// URL is the websocket base URL, "ws://127.0.0.1:PORT". Clients dial URL()+"/?v=8".
func (s *Server) URL() string { return "ws://" + s.Endpoint() }

// Endpoint is the voice endpoint as VOICE_SERVER_UPDATE carries it: host and port, no scheme.
// A real client dials wss://ENDPOINT/?v=8; against the simulator it must use ws:// (a client
// option), since the simulator has no TLS.
func (s *Server) Endpoint() string { return s.ln.Addr().String() }

// UDPAddr is the UDP address Ready announces.
func (s *Server) UDPAddr() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), s.udpPort)
}

// Faults returns the fault knobs.
func (s *Server) Faults() *Faults { return s.faults }

// IssueToken hands out a voice token for a user joining a channel, as the main gateway's
// VOICE_SERVER_UPDATE does, and returns it with the endpoint to put in that dispatch. sessionID
// is the session_id of the user's VOICE_STATE_UPDATE; Identify must repeat all three. A new token
// for the same guild and user revokes the previous one (a channel move gives a new token); the
// session identified with an old token lasts until the new one identifies.
//
// Two faults change the answer: for a channel made full with [Faults.FullChannel] the token is
// empty (the gateway then sends nothing), and after [Faults.NullEndpoints] the endpoint is empty
// (the gateway sends a null endpoint and asks again).
func (s *Server) IssueToken(guildID, channelID, userID events.Snowflake, sessionID string) (token, endpoint string) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token = "voice." + hex.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full[channelID] {
		return "", ""
	}
	endpoint = s.Endpoint()
	if s.nulls > 0 {
		s.nulls--
		endpoint = ""
	}
	for _, g := range s.grants {
		if g.guild == guildID && g.user == userID {
			g.revoked = true
		}
	}
	s.grants[token] = &grant{guild: guildID, channel: channelID, user: userID, sessionID: sessionID, token: token}
	return token, endpoint
}

// Leave is the main gateway's op 4 with a null channel: the user's tokens in the guild are
// revoked and its voice session, if any, is closed with 4014.
func (s *Server) Leave(guildID, userID events.Snowflake) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.grants {
		if g.guild != guildID || g.user != userID {
			continue
		}
		g.revoked = true
		if g.sess != nil && !g.sess.ended {
			s.endSessionLocked(g.sess, "left the channel", 4014)
		}
	}
}

// Ledger returns a copy of the ledger.
func (s *Server) Ledger() *Ledger {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotLocked()
}

// snapshotLocked copies the ledger and adds the calls as they are now.
func (s *Server) snapshotLocked() *Ledger {
	l := s.ledger.clone()
	for _, cl := range s.calls {
		r := CallRecord{GuildID: cl.guild, ChannelID: cl.channel}
		for _, m := range s.membersLocked(cl) {
			r.Members = append(r.Members, m.user())
		}
		if cl.dave != nil {
			st := daveState(cl.dave)
			r.DAVE = &st
		}
		l.Calls = append(l.Calls, r)
	}
	slices.SortFunc(l.Calls, func(a, b CallRecord) int { return compareSnowflake(a.ChannelID, b.ChannelID) })
	return l
}

// WaitFor blocks until pred holds for the ledger, ctx ends, or the server closes. pred runs on
// a copy, with no lock held.
func (s *Server) WaitFor(ctx context.Context, pred func(*Ledger) bool) error {
	for {
		s.mu.Lock()
		l, ch, closed := s.snapshotLocked(), s.changed, s.closed
		s.mu.Unlock()
		if pred(l) {
			return nil
		}
		if closed {
			return errClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

var errClosed = errors.New("voicesim: server closed")

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Close stops the server: every connection is cut, the UDP socket closed, and Close returns once
// every goroutine the server started has ended.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	for c := range s.conns {
		c.kill()
	}
	for _, g := range s.grants {
		if g.sess != nil && !g.sess.ended {
			s.endSessionLocked(g.sess, "server closed", 0)
		}
	}
	s.notifyLocked()
	s.mu.Unlock()
	err := s.hs.Close()
	_ = s.udp.Close()
	s.wg.Wait()
	return err
}

func (s *Server) callLocked(guild, channel events.Snowflake) *call {
	c := s.calls[channel]
	if c == nil {
		c = &call{guild: guild, channel: channel, members: map[events.Snowflake]*session{}}
		s.calls[channel] = c
	}
	return c
}

func (s *Server) newSSRCLocked() uint32 {
	for {
		s.nextSSRC += 1 + uint32(s.rng.IntN(7))
		if _, used := s.bySSRC[s.nextSSRC]; !used && s.nextSSRC != 0 {
			return s.nextSSRC
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
