package daveserver

import (
	"crypto/ecdsa"
	"errors"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events/voice"
	"go.uber.org/zap"
)

// Config configures a [Server].
type Config struct {
	// Clock gives the time for key package lifetimes and the execute timeout; nil means
	// clock.Real().
	Clock clock.Clock
	// ExecuteTimeout is how long the server waits for every member's op 23 before it sends op 22
	// anyway; 0 means 10 s.
	ExecuteTimeout time.Duration
	// Logger receives debug lines about rejected messages and transitions; nil means no logging.
	Logger *zap.Logger
	// ProtocolVersion is the call's DAVE protocol version: 0 (no DAVE) or 1.
	ProtocolVersion int
	// ChannelID is the voice channel id; the MLS group id is its big-endian u64. Required.
	ChannelID uint64
	// Key is the external sender's signature key; nil means a new P-256 key.
	Key *ecdsa.PrivateKey
}

// Out is one message for the voice server to send.
type Out struct {
	// To lists the user ids to send to; nil means every connected DAVE member.
	To []uint64
	Op voice.Op
	// JSON is the "d" value of a JSON op (21, 22, 24).
	JSON any
	// Binary is the payload of a binary op (25, 27, 29, 30) after the opcode byte; the voice
	// server frames it with voice.AppendServerBinary and its seq.
	Binary []byte
}

// Server is the DAVE server side of one call. Create it with [New].
type Server struct {
	cfg Config
}

// New returns a Server for one call.
func New(cfg Config) (*Server, error) {
	if cfg.ChannelID == 0 {
		return nil, errors.New("daveserver: Config.ChannelID is required")
	}
	return &Server{cfg: cfg}, nil
}

// Join records that userID identified with max_dave_protocol_version maxDAVEVersion.
func (s *Server) Join(userID uint64, maxDAVEVersion int) []Out { return nil }

// Leave records that userID left the call.
func (s *Server) Leave(userID uint64) []Out { return nil }

// HandleBinary handles a client's binary DAVE message (op 26 or 28).
func (s *Server) HandleBinary(userID uint64, m voice.BinaryMessage) ([]Out, error) { return nil, nil }

// HandleJSON handles a client's JSON DAVE message (op 23 or 31); d is the "d" value.
func (s *Server) HandleJSON(userID uint64, op voice.Op, d []byte) ([]Out, error) { return nil, nil }

// Tick acts on timeouts; call it after the clock advances.
func (s *Server) Tick() []Out { return nil }

// SetProtocolVersion downgrades (0) or upgrades (1) the call.
func (s *Server) SetProtocolVersion(v int) []Out { return nil }

// Epoch returns the MLS epoch of the call's group (0 when there is no group).
func (s *Server) Epoch() uint64 { return 0 }

// Members returns the user ids holding a leaf in the group, in leaf order.
func (s *Server) Members() []uint64 { return nil }
