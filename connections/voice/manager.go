package voice

import (
	"context"
	"encoding/json"
	"sync"
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

	mu    sync.Mutex
	conns map[events.Snowflake]*Conn
	wg    sync.WaitGroup
}

// NewManager returns a Manager whose connections live at most as long as ctx.
func NewManager(ctx context.Context, gw Gateway, cfg Config) *Manager {
	ctx, cancel := context.WithCancel(ctx)
	return &Manager{ctx: ctx, cancel: cancel, gw: gw, cfg: cfg.withDefaults(), conns: map[events.Snowflake]*Conn{}}
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
	case events.EventVoiceStateUpdate:
		var vs events.VoiceState
		if json.Unmarshal(ev.Data, &vs) != nil || vs.UserID != m.cfg.UserID {
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

// Close closes every voice connection (leaving their channels) and waits for them.
func (m *Manager) Close() error {
	m.mu.Lock()
	conns := make([]*Conn, 0, len(m.conns))
	for _, c := range m.conns {
		conns = append(conns, c)
	}
	m.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	m.cancel()
	m.wg.Wait()
	return nil
}

// leaveTimeout bounds the best-effort op 4 that leaves the channel when a Conn closes.
const leaveTimeout = 2 * time.Second
