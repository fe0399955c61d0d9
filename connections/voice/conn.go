package voice

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	vgw "github.com/cordage/cordage/events/voice"
)

// Conn is one voice connection: a voice websocket (v8) and a UDP transport to a voice server,
// kept alive across resumes, new sessions and moves. Audio goes out through Send and comes in
// on Packets; everything else comes on Events.
//
// Goroutines: one supervisor (websocket session, heartbeats, reconnects), one websocket reader
// per connection, one UDP reader per session, and the caller's own goroutine inside Send.
// Close stops and waits for all of them.
type Conn struct {
	m       *Manager
	cfg     Config
	log     *zap.Logger
	clk     clock.Clock
	joinCfg JoinConfig
	guildID events.Snowflake

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	done    chan struct{}
	ready   chan error // first session up (nil) or the error that ended the connection first
	once    sync.Once
	started atomic.Bool
	left    atomic.Bool
	errMu   sync.Mutex
	err     error

	creds *creds

	wsMu sync.Mutex
	ws   *websocket.Conn
	// writeOp writes a JSON message on the websocket; a field so unit tests can record it.
	writeOp func(op vgw.Op, payload any) error

	trMu    sync.Mutex
	tr      *transport
	trReady chan struct{} // closed while tr != nil; replaced when tr is cleared

	ssrcs ssrcMap

	daveMu sync.RWMutex
	dave   e2ee
	// lastDAVE is what the last DAVEChanged said; only session goroutines, one at a time, use it.
	lastDAVE struct {
		version int
		auth    []byte
	}

	packets chan Packet
	events  chan Event
	stats   statCounters

	sending atomic.Bool
	snd     sender

	// afterDatagram, when set (tests only, from Manager.afterDatagram), runs on the UDP reader
	// after each datagram it handled, so tests can wait for the reader instead of polling Stats.
	afterDatagram func()

	// supervisor state (owned by the run goroutine)
	seq       int64 // last server seq, -1 for none
	canResume bool
}

type statCounters struct {
	sent, framesDropped, received, dropped, undecrypt, unknownSSRC, eventsDropped, reconnects, keepAlives atomic.Uint64
}

func newConn(m *Manager, j JoinConfig) *Conn {
	ctx, cancel := context.WithCancel(m.ctx)
	c := &Conn{
		m: m, cfg: m.cfg, log: m.cfg.Logger.With(zap.Uint64("guild", uint64(j.GuildID))), clk: m.cfg.Clock,
		joinCfg: j, guildID: j.GuildID, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), ready: make(chan error, 1), creds: newCreds(),
		trReady: make(chan struct{}),
		packets: make(chan Packet, m.cfg.PacketBuffer), events: make(chan Event, m.cfg.EventBuffer),
		seq: -1,
	}
	c.writeOp = c.writeJSON
	c.afterDatagram = m.afterDatagram
	c.ssrcs.m = map[uint32]events.Snowflake{}
	c.snd.init()
	return c
}

// join sends op 4, waits for the credentials, starts the supervisor and waits for the first
// session. It runs on the caller of Manager.Join.
func (c *Conn) join(ctx context.Context) error {
	wctx, cancel := mergeCtx(ctx, c.ctx)
	defer cancel()
	if err := c.requestJoin(wctx); err != nil {
		return err
	}
	cr, err := c.creds.await(wctx, c.clk, c.cfg.JoinTimeout, 0, ErrJoinTimeout)
	if err != nil {
		return err
	}
	c.m.wg.Add(1)
	c.started.Store(true)
	go c.run(cr)
	select {
	case err := <-c.ready:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		if err := c.Err(); err != nil {
			return err
		}
		return ErrClosed
	}
}

// shardRetry is how often op 4 is retried while the guild's shard is still connecting.
const shardRetry = 250 * time.Millisecond

// requestJoin sends op 4 for the channel. A shard that is still identifying or resuming
// refuses commands; a bot that joins right after connecting should not have to care, so the
// request is retried until JoinTimeout.
func (c *Conn) requestJoin(ctx context.Context) error {
	ch := c.joinCfg.ChannelID
	if cur := c.creds.snapshot().ChannelID; cur != nil {
		ch = *cur // moved since the join: stay where we were put
	}
	deadline := c.clk.Now().Add(c.cfg.JoinTimeout)
	for {
		err := c.m.voiceState(ctx, c.joinCfg, &ch)
		if !errors.Is(err, connections.ErrShardNotReady) || c.clk.Now().After(deadline) {
			return err
		}
		if !clock.Sleep(c.clk, shardRetry, ctx.Done()) {
			return ctx.Err()
		}
	}
}

// mergeCtx returns a context done when either is; the second must outlive the returned one's
// use (it is the Conn's own).
func mergeCtx(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}

// Packets delivers received audio. It is closed when the Conn ends. A reader that falls behind
// loses packets (counted in Stats), never the connection.
func (c *Conn) Packets() <-chan Packet { return c.packets }

// Events delivers everything but audio (see Event). It is closed when the Conn ends.
func (c *Conn) Events() <-chan Event { return c.events }

// GuildID is the guild this connection is in.
func (c *Conn) GuildID() events.Snowflake { return c.guildID }

// Done is closed when the connection has ended and all its goroutines have returned.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended: nil after Close or while it runs, else a typed error
// (*voice.CloseError, *RetryError, ErrDisconnected, ...).
func (c *Conn) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Stats returns the connection's counters.
func (c *Conn) Stats() Stats {
	s := &c.stats
	return Stats{
		PacketsSent: s.sent.Load(), FramesDropped: s.framesDropped.Load(),
		PacketsReceived: s.received.Load(), PacketsDropped: s.dropped.Load(),
		PacketsUndecrypt: s.undecrypt.Load(), PacketsUnknownSSRC: s.unknownSSRC.Load(),
		EventsDropped: s.eventsDropped.Load(), Reconnects: s.reconnects.Load(),
		KeepAlivesSent: s.keepAlives.Load(),
	}
}

// Close stops every goroutine of the connection, waits for them, and leaves the voice channel
// (op 4 with no channel, best effort, bounded by 2 s). It is safe to call more than once, and
// after the Manager's context ended (which leaves the channel as well): op 4 goes out once.
func (c *Conn) Close() error {
	c.cancel()
	if c.started.Load() {
		<-c.done
	} else {
		c.finishOnce()
	}
	c.leaveOnce() // a no-op when the supervisor already left
	return nil
}

// leaveOnce sends op 4 with no channel, once per Conn, unless Discord already took the bot out
// (ErrDisconnected). It must not depend on the Conn's or the Manager's context, which are over
// by now: it gets its own deadline of leaveTimeout on the Conn's clock, so that a gateway that
// is gone or stuck delays shutdown by that much at most.
func (c *Conn) leaveOnce() {
	if errors.Is(c.Err(), ErrDisconnected) || !c.left.CompareAndSwap(false, true) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), realDuration(c.clk, leaveTimeout))
	defer cancel()
	if err := c.m.voiceState(ctx, c.joinCfg, nil); err != nil {
		c.log.Debug("leaving the voice channel failed", zap.Error(err))
	}
}

// stop records err (the first one wins, and none after Close) and cancels the connection.
func (c *Conn) stop(err error) {
	c.errMu.Lock()
	if c.err == nil && err != nil && c.ctx.Err() == nil {
		c.err = err
	}
	c.errMu.Unlock()
	c.cancel()
}

// finishOnce runs after every goroutine of the Conn has returned.
func (c *Conn) finishOnce() {
	c.once.Do(func() {
		c.setTransport(nil)
		c.m.remove(c)
		close(c.packets)
		close(c.events)
		close(c.done)
	})
}

// emit delivers an event without ever blocking.
func (c *Conn) emit(ev Event) {
	select {
	case c.events <- ev:
	default:
		c.stats.eventsDropped.Add(1)
	}
}

func (c *Conn) e2ee() e2ee {
	c.daveMu.RLock()
	defer c.daveMu.RUnlock()
	return c.dave
}

func (c *Conn) setE2EE(d e2ee) {
	c.daveMu.Lock()
	c.dave = d
	c.daveMu.Unlock()
}

// ssrcMap maps SSRCs to users, from speaking events; the UDP reader reads it per packet.
type ssrcMap struct {
	mu  sync.RWMutex
	m   map[uint32]events.Snowflake
	ver atomic.Uint64 // bumps on every change, so the UDP reader knows when to look again
}

func (s *ssrcMap) version() uint64 { return s.ver.Load() }

func (s *ssrcMap) get(ssrc uint32) (events.Snowflake, bool) {
	s.mu.RLock()
	u, ok := s.m[ssrc]
	s.mu.RUnlock()
	return u, ok
}

func (s *ssrcMap) set(ssrc uint32, u events.Snowflake) {
	s.mu.Lock()
	s.m[ssrc] = u
	s.ver.Add(1)
	s.mu.Unlock()
}

func (s *ssrcMap) removeUser(u events.Snowflake) {
	s.mu.Lock()
	for k, v := range s.m {
		if v == u {
			delete(s.m, k)
		}
	}
	s.ver.Add(1)
	s.mu.Unlock()
}
