package voice

import (
	"crypto/ecdsa"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
)

// Config configures a Manager and every Conn it makes. Only UserID is required.
type Config struct {
	// UserID is the bot's own user id. VOICE_STATE_UPDATE for this user carries the voice
	// session id; everyone else's voice states are left to the bot. 0: learned from the READY
	// dispatch passed to Manager.Handle.
	UserID events.Snowflake

	Logger *zap.Logger       // default zap.NewNop()
	Clock  clock.Clock       // default clock.Real(); paces sending, heartbeats, timeouts, backoff
	Dialer *websocket.Dialer // default: a copy of websocket.DefaultDialer

	// Insecure dials ws:// instead of wss://. Discord's voice servers never accept it; it
	// exists for the simulator in test/fakediscord.
	Insecure bool

	// DisableDAVE identifies with max_dave_protocol_version 0. Discord closes such connections
	// with 4017 since 2026-03-02; only simulators and debugging want it.
	DisableDAVE bool
	// SignatureKey is the MLS signature key for DAVE; nil makes a fresh ephemeral key per call.
	SignatureKey *ecdsa.PrivateKey

	// JoinTimeout bounds the wait for VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE after op 4
	// (default 10 s). A full channel answers with nothing, so this is how it is detected.
	JoinTimeout time.Duration
	// ConnectTimeout bounds one voice websocket from dial to session description (default 15 s).
	ConnectTimeout time.Duration
	// ServerUpdateWait is how long a connection closed with 4014, or told its server went away
	// (null endpoint), waits for a new VOICE_SERVER_UPDATE before it ends (default 10 s).
	ServerUpdateWait time.Duration
	// DiscoveryTimeout bounds one IP discovery attempt (default 1 s); DiscoveryAttempts is how
	// many are made (default 5).
	DiscoveryTimeout  time.Duration
	DiscoveryAttempts int

	Backoff Backoff // default DefaultBackoff
	// MaxRetries caps consecutive failed reconnects before the Conn ends (default 6).
	MaxRetries int

	// PacketBuffer is the capacity of Conn.Packets (default 512, about 10 s of one speaker).
	// When it is full, packets are dropped and counted; the UDP reader never waits.
	PacketBuffer int
	// EventBuffer is the capacity of Conn.Events (default 64); full means dropped and counted.
	EventBuffer int
	// Speaking is the flag set Send announces (default voice.SpeakingMicrophone).
	Speaking SpeakingFlags
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Clock == nil {
		c.Clock = clock.Real()
	}
	if c.Dialer == nil {
		d := *websocket.DefaultDialer
		c.Dialer = &d
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.JoinTimeout, 10*time.Second)
	def(&c.ConnectTimeout, 15*time.Second)
	def(&c.ServerUpdateWait, 10*time.Second)
	def(&c.DiscoveryTimeout, time.Second)
	if c.DiscoveryAttempts <= 0 {
		c.DiscoveryAttempts = 5
	}
	if c.Backoff == (Backoff{}) {
		c.Backoff = DefaultBackoff
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 6
	}
	if c.PacketBuffer <= 0 {
		c.PacketBuffer = 512
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = 64
	}
	if c.Speaking == 0 {
		c.Speaking = SpeakingMicrophone
	}
	return c
}

// realDuration converts a clock duration into wall time, for the few waits that must use OS
// deadlines (socket reads): under clock.Scaled they shrink like every other rule.
func realDuration(c clock.Clock, d time.Duration) time.Duration {
	return time.Duration(float64(d) / clock.Factor(c))
}
