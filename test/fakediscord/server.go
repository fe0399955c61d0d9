package fakediscord

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
)

// ErrNoSession is returned by Dispatch, DispatchToShard and the fault methods when no live
// session (connected, or resumable and buffering) matches.
var ErrNoSession = errors.New("fakediscord: no live session for that shard")

// ErrClosed is returned by methods called after Close.
var ErrClosed = errors.New("fakediscord: server closed")

// Paths the server serves its gateway on. GatewayURL and ResumeURL point at them.
const (
	gatewayPath = "/gateway"
	resumePath  = "/resume-gateway"
	apiPrefix   = "/api/v10"
)

// Server is a running simulated Discord: a gateway and a REST API on one 127.0.0.1 listener.
// All methods are safe for concurrent use.
type Server struct {
	cfg   config
	clk   clock.Clock
	log   *zap.Logger
	world *world

	ln      net.Listener
	httpSrv *http.Server
	mux     *http.ServeMux
	base    string // "127.0.0.1:port"
	rest    atomic.Pointer[http.Handler]

	quit      chan struct{} // closed by Close
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu                sync.Mutex
	closed            bool
	rng               *rand.Rand
	nextConnID        int
	nextEvent         uint64
	conns             map[*conn]struct{}
	sessions          map[string]*session
	sessionOrder      []*session
	identifyLog       []IdentifyRecord
	lastIdentify      map[int]time.Time // bucket → clock time of the last accepted identify
	spacingViolations int
	remaining         int
	resetAt           time.Time
	refuseResumes     bool
	withheldGuilds    map[events.Snowflake]bool      // WithholdGuildCreate
	memberRequests    map[events.Snowflake]time.Time // guild → last allowed all-members request
	received          map[int][]events.Envelope
	userAgents        []string
	opSevenFirst      int
	changed           chan struct{}
	chaosLog          []ChaosEvent
}

// New starts a server listening on 127.0.0.1 with a port the system picks.
func New(opts ...Option) (*Server, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.heartbeatGrace <= 0 {
		cfg.heartbeatGrace = cfg.heartbeatInterval / 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakediscord: listen: %w", err)
	}
	s := &Server{
		cfg:            cfg,
		clk:            cfg.clk,
		log:            cfg.log,
		world:          newWorld(&cfg),
		ln:             ln,
		base:           ln.Addr().String(),
		quit:           make(chan struct{}),
		rng:            rand.New(rand.NewPCG(uint64(cfg.seed), 0x6661_6b65)),
		conns:          map[*conn]struct{}{},
		sessions:       map[string]*session{},
		lastIdentify:   map[int]time.Time{},
		remaining:      cfg.sessionRemaining,
		memberRequests: map[events.Snowflake]time.Time{},
		received:       map[int][]events.Envelope{},
		changed:        make(chan struct{}),
	}
	s.resetAt = s.clk.Now().Add(24 * time.Hour)
	if cfg.rest != nil {
		s.SetREST(cfg.rest)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc(gatewayPath, func(w http.ResponseWriter, r *http.Request) { s.serveGateway(w, r, false) })
	s.mux.HandleFunc(gatewayPath+"/", func(w http.ResponseWriter, r *http.Request) { s.serveGateway(w, r, false) })
	s.mux.HandleFunc(resumePath, func(w http.ResponseWriter, r *http.Request) { s.serveGateway(w, r, true) })
	s.mux.HandleFunc(resumePath+"/", func(w http.ResponseWriter, r *http.Request) { s.serveGateway(w, r, true) })
	s.mux.HandleFunc("/api/", s.serveAPI)
	s.httpSrv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: zap.NewStdLog(s.log)}
	s.wg.Go(func() {
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http serve", zap.Error(err))
		}
	})
	s.log.Info("fakediscord listening", zap.String("addr", s.base))
	return s, nil
}

func (c *config) validate() error {
	switch {
	case c.shardCount < 1:
		return errors.New("fakediscord: shard count must be at least 1")
	case c.maxConcurrency < 1:
		return errors.New("fakediscord: max_concurrency must be at least 1")
	case c.sessionTotal < 0 || c.sessionRemaining < 0 || c.sessionRemaining > c.sessionTotal:
		return errors.New("fakediscord: session start limit needs 0 <= remaining <= total")
	case c.heartbeatInterval < time.Millisecond:
		return errors.New("fakediscord: heartbeat interval must be at least 1 ms (Hello carries milliseconds)")
	case c.heartbeatGrace < 0 || c.resumeWindow < 0:
		return errors.New("fakediscord: heartbeat grace and resume window must not be negative")
	case c.maxGuildsPerShard < 1:
		return errors.New("fakediscord: max guilds per shard must be at least 1")
	case c.replayLimit < 0:
		return errors.New("fakediscord: replay limit must not be negative")
	case c.token == "":
		return errors.New("fakediscord: empty token")
	case c.guildCount < 0 || c.membersPerGuild < 0:
		return errors.New("fakediscord: guild and member counts must not be negative")
	case c.membersPerGuild >= 1<<20:
		return errors.New("fakediscord: at most 1048575 members per guild")
	case c.clk == nil:
		return errors.New("fakediscord: nil clock")
	case c.zlibSplit < 0:
		return errors.New("fakediscord: zlib split size must not be negative")
	}
	return nil
}

// Close stops the server: it closes the listener and every connection, stops traffic and chaos,
// and returns once every goroutine the server started has ended. It is safe to call twice.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
			s.decideEndLocked(c, EndServerStop, events.CloseAbnormal, false)
		}
		s.notifyLocked()
		s.mu.Unlock()
		close(s.quit)
		_ = s.httpSrv.Close()
		for _, c := range conns {
			c.kill()
		}
		s.wg.Wait()
	})
}

// Token returns the bot token the server accepts.
func (s *Server) Token() string { return s.cfg.token }

// RESTURL returns the REST base, "http://127.0.0.1:PORT/api/v10".
func (s *Server) RESTURL() string { return "http://" + s.base + apiPrefix }

// GatewayURL returns the gateway URL that GET /gateway and GET /gateway/bot return,
// "ws://127.0.0.1:PORT/gateway". Clients append ?v=10&encoding=json[&compress=…].
func (s *Server) GatewayURL() string { return "ws://" + s.base + gatewayPath }

// ResumeURL returns the resume_gateway_url that READY carries. It is served by the same server
// but differs from GatewayURL, so a test can tell whether a client resumed where it was told to
// (see ResumeRecord.ViaResumeURL).
func (s *Server) ResumeURL() string { return "ws://" + s.base + resumePath }

// Addr returns the listener's address, "127.0.0.1:PORT".
func (s *Server) Addr() string { return s.base }

// Guilds returns the ids of the bot's guilds.
func (s *Server) Guilds() []events.Snowflake {
	return append([]events.Snowflake(nil), s.world.guildIDs...)
}

// GuildsOfShard returns the bot's guilds that (id>>22) % count routes to shard.
func (s *Server) GuildsOfShard(shard, count int) []events.Snowflake {
	return s.world.guildsOfShard(shard, count)
}

// BotUser returns the bot's user as READY and GET /users/@me show it.
func (s *Server) BotUser() events.User { return s.world.botUser() }

// ApplicationID returns the application id in READY and GET /applications/@me.
func (s *Server) ApplicationID() events.Snowflake { return s.world.appID }

// MemberID returns the user id of member i (from 0) of guild g; see WithMembersPerGuild.
func (s *Server) MemberID(g events.Snowflake, i int) events.Snowflake { return s.world.memberID(g, i) }

// SetREST mounts h for every /api/ request the server does not answer itself, replacing any
// handler set before (nil removes it). See WithREST.
func (s *Server) SetREST(h http.Handler) {
	if h == nil {
		s.rest.Store(nil)
		return
	}
	s.rest.Store(&h)
}

// Mount serves h for pattern (http.ServeMux syntax, e.g. "/control/") on the server's listener,
// next to the gateway and REST routes. It is how tools add routes such as a control API. A
// pattern that is invalid or conflicts with a registered one is an error.
func (s *Server) Mount(pattern string, h http.Handler) (err error) {
	if h == nil {
		return errors.New("fakediscord: mount needs a handler")
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("fakediscord: mount %q: %v", pattern, r)
		}
	}()
	s.mux.Handle(pattern, h)
	return nil
}

// notifyLocked wakes every WaitFor. Callers hold s.mu.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// newEventIDLocked returns the next server-side event id. Callers hold s.mu.
func (s *Server) newEventIDLocked() string {
	s.nextEvent++
	return fmt.Sprintf("ev-%d", s.nextEvent)
}
