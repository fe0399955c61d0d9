package daveserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events/voice"
	"go.uber.org/zap"
)

// Config configures a [Server].
type Config struct {
	// Clock gives the time for the execute timeout; nil means clock.Real().
	Clock clock.Clock
	// ExecuteTimeout is how long the server waits for every participant's op 23 before it sends
	// op 22 anyway; 0 means DefaultExecuteTimeout.
	ExecuteTimeout time.Duration
	// Logger receives debug lines about rejected messages and transitions; nil means none.
	Logger *zap.Logger
	// ProtocolVersion is the call's DAVE protocol version: 0 (no DAVE) or 1.
	ProtocolVersion int
	// ChannelID is the voice channel id; the MLS group id is its big-endian u64. Required.
	ChannelID uint64
	// Key is the external sender's signature key; nil means a new P-256 key. It must be P-256.
	Key *ecdsa.PrivateKey
}

// DefaultExecuteTimeout is the execute timeout when Config.ExecuteTimeout is 0.
const DefaultExecuteTimeout = 10 * time.Second

// Out is one message for the voice server to send.
type Out struct {
	// To lists the user ids to send to; nil means every connected DAVE member. This package
	// always fills it: who gets what is part of the protocol (op 29 goes to the members that
	// held the previous epoch, op 30 to one joiner each).
	To []uint64
	Op voice.Op
	// JSON is the "d" value of a JSON op (21, 22, 24).
	JSON any
	// Binary is the payload of a binary op (25, 27, 29, 30) after the opcode byte; the voice
	// server frames it with voice.AppendServerBinary and its seq.
	Binary []byte
}

// Errors that Handle* return, saying why a message was refused. Send the returned Outs even
// with an error (a refused commit can make the server re-propose). A refusal changes nothing
// else, so the connection can stay open. Decoding failures also match voice.ErrMalformed
// (errors.As gives the decoder and offset).
var (
	// ErrCommit: an op 28 the server will not announce for a reason no race explains: bad
	// structure, another group, a sender that is not the leaf it names, a ref this server never
	// made, a Remove without a path, a path that changes the sender's key, a welcome that does
	// not match the joiners.
	ErrCommit = errors.New("daveserver: commit rejected")
	// ErrNotMember: a DAVE message from a user who did not join, or joined without DAVE, or while
	// the call runs without DAVE.
	ErrNotMember = errors.New("daveserver: sender is not a DAVE member of the call")
	// ErrUnexpectedOp: an opcode a client does not send to this method.
	ErrUnexpectedOp = errors.New("daveserver: unexpected opcode")
)

// member is one connected user.
type member struct {
	id        uint64
	dave      bool // negotiated a DAVE version ≥ 1 (max_dave_protocol_version ≥ 1)
	gotSender bool // op 25 sent on this session
	kp        *keyPackage
	kpRef     []byte
	stale     bool // holds a leaf whose state it threw away (op 31, new session, new key package)
}

// proposal is one external proposal of the current epoch that no commit has taken yet.
type proposal struct {
	externalProposal
	add    bool
	user   uint64 // add: who is added; remove: whose leaf goes
	kpRef  []byte // add
	sigKey []byte // add: the joiner's leaf signature key
	leaf   uint32 // remove
	sentTo map[uint64]bool
}

func (p *proposal) key() string {
	if p.add {
		return fmt.Sprintf("add %d %x", p.user, p.kpRef)
	}
	return fmt.Sprintf("remove %d", p.leaf)
}

// transition is a prepared transition waiting for op 23 from its participants.
type transition struct {
	id        uint16
	downgrade bool
	deadline  time.Time
	waiting   map[uint64]bool
	to        []uint64 // who gets op 22
}

// Server is Discord's DAVE server side for one call. Create it with [New]. It is not safe for
// concurrent use.
type Server struct {
	clk       clock.Clock
	timeout   time.Duration
	log       *zap.Logger
	key       *ecdsa.PrivateKey
	extSender []byte // op 25 payload
	groupID   []byte

	pv, target int
	members    map[uint64]*member
	leaves     []uint64 // leaf index → user id, 0 = blank; empty = no group yet
	leafKeys   [][]byte // leaf index → signature key the leaf was added with
	epoch      uint64
	pending    []*proposal
	issued     map[string]bool // every ProposalRef this server made, to tell races from bad refs
	refresh    bool            // reconcile: revoke everything pending and propose it again
	tr         *transition
	lastTID    uint16
	faults     Faults
}

// New returns a Server for one call.
func New(cfg Config) (*Server, error) {
	if cfg.ChannelID == 0 {
		return nil, errors.New("daveserver: Config.ChannelID is required")
	}
	if cfg.ProtocolVersion < 0 || cfg.ProtocolVersion > voice.DAVEProtocolVersion {
		return nil, fmt.Errorf("daveserver: protocol version %d is not 0 or 1", cfg.ProtocolVersion)
	}
	s := &Server{
		clk: cfg.Clock, timeout: cfg.ExecuteTimeout, log: cfg.Logger, key: cfg.Key,
		pv: cfg.ProtocolVersion, target: cfg.ProtocolVersion,
		members: map[uint64]*member{},
		issued:  map[string]bool{},
		groupID: binary.BigEndian.AppendUint64(nil, cfg.ChannelID),
	}
	if s.clk == nil {
		s.clk = clock.Real()
	}
	if s.timeout <= 0 {
		s.timeout = DefaultExecuteTimeout
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("daveserver: external sender key: %w", err)
		}
		s.key = k
	} else if s.key.Curve != elliptic.P256() {
		return nil, errors.New("daveserver: Config.Key is not a P-256 key")
	}
	var err error
	if s.extSender, err = externalSenderPayload(&s.key.PublicKey); err != nil {
		return nil, err
	}
	return s, nil
}

// externalSenderPayload encodes op 25: the MLS ExternalSender. Discord's identity bytes are
// not documented; eight zero bytes (user id 0, a user no one is) keep the credential well formed.
func externalSenderPayload(pub *ecdsa.PublicKey) ([]byte, error) {
	point, err := pub.Bytes()
	if err != nil {
		return nil, fmt.Errorf("daveserver: external sender key: %w", err)
	}
	return voice.ExternalSender{SignatureKey: point, Identity: make([]byte, 8)}.AppendTo(nil)
}

// ExternalSender returns the op 25 payload this server sends.
func (s *Server) ExternalSender() []byte { return slices.Clone(s.extSender) }

// ProtocolVersion returns the call's current DAVE protocol version.
func (s *Server) ProtocolVersion() int { return s.pv }

// Epoch returns the MLS epoch of the call's group: 0 before the first commit (every member's
// pending group is at epoch 0), then the epoch the last announced commit led to.
func (s *Server) Epoch() uint64 { return s.epoch }

// Members returns the user ids holding a leaf in the group, in leaf order.
func (s *Server) Members() []uint64 {
	var out []uint64
	for _, u := range s.leaves {
		if u != 0 {
			out = append(out, u)
		}
	}
	return out
}

// LeafIndex returns userID's leaf index in the group.
func (s *Server) LeafIndex(userID uint64) (uint32, bool) {
	i := s.leafOf(userID)
	return uint32(i), i >= 0
}

// TransitionPending returns the id of the transition waiting for op 23, if any.
func (s *Server) TransitionPending() (uint16, bool) {
	if s.tr == nil {
		return 0, false
	}
	return s.tr.id, true
}

func (s *Server) leafOf(u uint64) int {
	for i, v := range s.leaves {
		if v == u && u != 0 {
			return i
		}
	}
	return -1
}

func (s *Server) connected(us []uint64) []uint64 {
	var out []uint64
	for _, u := range us {
		if s.members[u] != nil {
			out = append(out, u)
		}
	}
	return out
}

func (s *Server) nextTID() uint16 {
	s.lastTID++
	if s.lastTID == 0 { // 0 means "execute now"; never use it for a real transition
		s.lastTID = 1
	}
	return s.lastTID
}

// daveMembers returns the connected DAVE members, by user id.
func (s *Server) daveMembers() []uint64 {
	var out []uint64
	for id, m := range s.members {
		if m.dave {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// live returns the group members that still hold their group state, in leaf order.
func (s *Server) live() []uint64 {
	var out []uint64
	for _, u := range s.leaves {
		if m := s.members[u]; u != 0 && m != nil && m.dave && !m.stale {
			out = append(out, u)
		}
	}
	return out
}

func (s *Server) dropGroup() {
	s.leaves, s.leafKeys, s.epoch, s.pending = nil, nil, 0, nil
	for _, m := range s.members {
		m.stale = false
	}
}
