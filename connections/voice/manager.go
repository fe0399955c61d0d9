package voice

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
)

// Gateway is the part of the gateway runtime voice needs: sending op 4. *connections.Conn
// satisfies it.
type Gateway interface {
	UpdateVoiceState(ctx context.Context, v connections.VoiceStateUpdate) error
}

// Manager owns a bot's voice connections, one per guild. The bot feeds it the gateway's events
// from its own select loop with Handle; Join, called from any other goroutine, sends op 4 and
// waits for the two dispatches Handle routes to it.
//
//	m := voice.NewManager(ctx, gw, voice.Config{UserID: me})
//	go func() { conn, err := m.Join(ctx, voice.JoinConfig{GuildID: g, ChannelID: ch}); ... }()
//	for ev := range out {
//		if m.Handle(ev) {
//			continue
//		}
//		...
//	}
//
// Join blocks until the voice session is up, so it must not run on the goroutine that calls
// Handle.
type Manager struct {
	ctx    context.Context
	cancel context.CancelFunc
	gw     Gateway
	cfg    Config

	userID    atomic.Uint64 // Config.UserID, or learned from READY
	userKnown chan struct{} // closed once userID is set

	mu    sync.Mutex
	conns map[events.Snowflake]*Conn
	wg    sync.WaitGroup

	afterDatagram func() // copied into each Conn; tests only
}

// NewManager returns a Manager whose connections live at most as long as ctx. When ctx ends,
// every connection stops and leaves its channel (op 4 with no channel) as Close would; the
// gateway must outlive ctx for that op 4 to get out.
func NewManager(ctx context.Context, gw Gateway, cfg Config) *Manager {
	ctx, cancel := context.WithCancel(ctx)
	m := &Manager{ctx: ctx, cancel: cancel, gw: gw, cfg: cfg.withDefaults(), conns: map[events.Snowflake]*Conn{},
		userKnown: make(chan struct{})}
	if cfg.UserID != 0 {
		m.userID.Store(uint64(cfg.UserID))
		close(m.userKnown)
	}
	return m
}

// JoinConfig says which voice channel to join.
type JoinConfig struct {
	GuildID   events.Snowflake
	ChannelID events.Snowflake
	SelfMute  bool
	SelfDeaf  bool
}

// Handle gives the Manager one event from the gateway runtime's out channel. It never blocks.
// It returns true when the event was the bot's own VOICE_STATE_UPDATE or a VOICE_SERVER_UPDATE
// for a guild with a voice connection (the bot need not look at it); other events, including
// other users' voice states, return false.
func (m *Manager) Handle(ev connections.Event) bool {
	if ev.Kind != connections.KindDispatch {
		return false
	}
	switch ev.Type {
	case events.EventReady:
		if m.userID.Load() == 0 {
			var r struct {
				User struct {
					ID events.Snowflake `json:"id"`
				} `json:"user"`
			}
			if json.Unmarshal(ev.Data, &r) == nil && r.User.ID != 0 && m.userID.CompareAndSwap(0, uint64(r.User.ID)) {
				close(m.userKnown)
			}
		}
		return false
	case events.EventVoiceStateUpdate:
		var vs events.VoiceState
		if json.Unmarshal(ev.Data, &vs) != nil || vs.UserID == 0 || vs.UserID != m.user() {
			return false
		}
		if c := m.conn(vs.GuildID); c != nil {
			c.creds.state(vs)
		}
		return true
	case events.EventVoiceServerUpdate:
		var su events.VoiceServerUpdate
		if json.Unmarshal(ev.Data, &su) != nil {
			return false
		}
		c := m.conn(su.GuildID)
		if c == nil {
			return false
		}
		c.creds.server(su)
		return true
	}
	return false
}

// user is the bot's user id (0 while unknown).
func (m *Manager) user() events.Snowflake { return events.Snowflake(m.userID.Load()) }

func (m *Manager) conn(guild events.Snowflake) *Conn {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conns[guild]
}

// Conn returns the guild's voice connection, or nil.
func (m *Manager) Conn(guild events.Snowflake) *Conn { return m.conn(guild) }

// Join joins a voice channel: op 4 through the gateway, then the voice websocket and UDP. It
// returns once audio can flow, or with ErrJoinTimeout (no answer from Discord: e.g. a full
// channel), a *voice.CloseError, or ctx's error. ctx bounds the join only; the Conn lives until
// Close or until the Manager's context ends.
func (m *Manager) Join(ctx context.Context, j JoinConfig) (*Conn, error) {
	if err := m.awaitUser(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.ctx.Err() != nil {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	if m.conns[j.GuildID] != nil {
		m.mu.Unlock()
		return nil, ErrAlreadyJoined
	}
	c := newConn(m, j)
	m.conns[j.GuildID] = c
	m.mu.Unlock()

	err := c.join(ctx)
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// awaitUser waits (up to JoinTimeout) for the bot's user id, which READY brings when
// Config.UserID was not set: a bot may call Join right after connecting.
func (m *Manager) awaitUser(ctx context.Context) error {
	select {
	case <-m.userKnown:
		return nil
	default:
	}
	t := m.cfg.Clock.NewTimer(m.cfg.JoinTimeout)
	defer t.Stop()
	select {
	case <-m.userKnown:
		return nil
	case <-t.C():
		return ErrUnknownUser
	case <-ctx.Done():
		return ctx.Err()
	case <-m.ctx.Done():
		return ErrClosed
	}
}

func (m *Manager) remove(c *Conn) {
	m.mu.Lock()
	if m.conns[c.guildID] == c {
		delete(m.conns, c.guildID)
	}
	m.mu.Unlock()
}

// voiceState sends op 4 for guild: join channel, or leave when channel is nil.
func (m *Manager) voiceState(ctx context.Context, j JoinConfig, channel *events.Snowflake) error {
	return m.gw.UpdateVoiceState(ctx, connections.VoiceStateUpdate{
		GuildID: j.GuildID, ChannelID: channel, Mute: j.SelfMute, Deaf: j.SelfDeaf,
	})
}

// Close closes every voice connection (leaving their channels) and waits for them. The
// connections stop together, so a gateway that cannot take op 4 delays Close by one leave
// timeout (2 s), not one per guild.
func (m *Manager) Close() error {
	m.mu.Lock()
	conns := make([]*Conn, 0, len(m.conns))
	for _, c := range m.conns {
		conns = append(conns, c)
	}
	m.mu.Unlock()
	m.cancel() // every supervisor stops and leaves now, in parallel
	for _, c := range conns {
		c.Close()
	}
	m.wg.Wait()
	return nil
}

// leaveTimeout bounds the best-effort op 4 that leaves the channel when a Conn ends (clock
// time, like every other wait).
const leaveTimeout = 2 * time.Second

// UserID is the bot's user id: Config.UserID, or the one learned from READY (0 until then).
func (m *Manager) UserID() events.Snowflake { return m.user() }
