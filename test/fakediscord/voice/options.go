package voicesim

import (
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events/voice"
)

// Option configures a Server.
type Option func(*config)

type config struct {
	clk               clock.Clock
	log               *zap.Logger
	heartbeatInterval time.Duration
	heartbeatGrace    time.Duration
	resumeWindow      time.Duration
	replayLimit       int
	modes             []voice.Mode
	daveVersion       int
	daveRequired      bool
	executeTimeout    time.Duration
	seed              int64
	undocumented      bool
	relayExtension    bool
	relayLimit        int
}

func defaultConfig() config {
	return config{
		clk:               clock.Real(),
		log:               zap.NewNop(),
		heartbeatInterval: 13750 * time.Millisecond,
		resumeWindow:      time.Minute,
		replayLimit:       1000,
		modes:             []voice.Mode{voice.ModeAES256GCMRTPSize, voice.ModeXChaCha20Poly1305RTPSize},
		daveVersion:       voice.DAVEProtocolVersion,
		daveRequired:      true,
		executeTimeout:    5 * time.Second,
		seed:              1,
		undocumented:      true,
		relayLimit:        100000,
	}
}

// WithClock sets the clock of every timer: heartbeat deadlines, the resume window, DAVE
// transition timeouts (default the wall clock). Give clients the same clock.
func WithClock(c clock.Clock) Option { return func(cfg *config) { cfg.clk = c } }

// WithLogger sets the logger (default zap.NewNop()). Tokens and keys are never logged.
func WithLogger(l *zap.Logger) Option { return func(cfg *config) { cfg.log = l } }

// WithHeartbeatInterval sets Hello's heartbeat_interval (default 13.75 s, clock time).
func WithHeartbeatInterval(d time.Duration) Option {
	return func(cfg *config) { cfg.heartbeatInterval = d }
}

// WithHeartbeatGrace sets how late a heartbeat may be (after the interval) before the
// connection is closed with 4009 (default half the interval).
func WithHeartbeatGrace(d time.Duration) Option { return func(cfg *config) { cfg.heartbeatGrace = d } }

// WithResumeWindow sets how long a session whose connection dropped stays resumable (default
// 1 min, clock time). When it runs out the user leaves the call.
func WithResumeWindow(d time.Duration) Option { return func(cfg *config) { cfg.resumeWindow = d } }

// WithReplayLimit sets how many sequenced messages per session are kept for a resume
// (default 1000). A resume whose seq_ack is older than the buffer is closed with 4006.
func WithReplayLimit(n int) Option { return func(cfg *config) { cfg.replayLimit = n } }

// WithModes sets the encryption modes Ready offers, in order (default AES-256-GCM, then
// XChaCha20-Poly1305). A Select Protocol naming another mode is closed with 4016.
func WithModes(m ...voice.Mode) Option {
	return func(cfg *config) { cfg.modes = append([]voice.Mode(nil), m...) }
}

// WithDAVE sets the DAVE protocol version the server negotiates (the lowest of this and the
// client's max_dave_protocol_version) and whether a client offering no DAVE is refused with 4017,
// as Discord does since 2026-03-02. Default: version 1, required. WithDAVE(0, false) gives calls
// with transport encryption only.
func WithDAVE(version int, required bool) Option {
	return func(cfg *config) { cfg.daveVersion, cfg.daveRequired = version, required }
}

// WithExecuteTimeout sets how long the DAVE server waits for every member's ready-for-transition
// before it executes a transition anyway (default 5 s, clock time).
func WithExecuteTimeout(d time.Duration) Option { return func(cfg *config) { cfg.executeTimeout = d } }

// WithSeed seeds SSRC assignment and the random faults (default 1).
func WithSeed(s int64) Option { return func(cfg *config) { cfg.seed = s } }

// WithUndocumentedOps sets whether the server sends the undocumented ops Discord sends (15 media
// sink wants after Ready, 18 client flags and 20 client platform with every clients-connect),
// which clients must ignore (default on).
func WithUndocumentedOps(on bool) Option { return func(cfg *config) { cfg.undocumented = on } }

// WithRelayExtension makes the relay add a one-word RTP header extension (profile 0xBEDE, an
// audio-level element) to every relayed packet that has none, as Discord's SFU does, so that
// receivers must skip the encrypted extension body (default off).
func WithRelayExtension(on bool) Option { return func(cfg *config) { cfg.relayExtension = on } }

// WithRelayLedgerLimit bounds how many relayed packets the ledger lists one by one (default
// 100,000); the counters keep counting past it.
func WithRelayLedgerLimit(n int) Option { return func(cfg *config) { cfg.relayLimit = n } }
