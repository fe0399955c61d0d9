package dave

import (
	"crypto/ecdsa"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections/voice/mls"
	"github.com/cordage/cordage/events/voice"
)

// SessionConfig configures a [Session]: one member's DAVE state for one call.
type SessionConfig struct {
	UserID    uint64
	ChannelID uint64 // the call; the MLS group id is the channel id as a big-endian u64
	// SignatureKey is this member's MLS signature key (ECDSA P-256). nil: a fresh ephemeral key
	// for this call, which is what DAVE asks of clients without a persistent identity.
	SignatureKey *ecdsa.PrivateKey
	Clock        clock.Clock // nil: clock.Real()
	Logger       *zap.Logger // nil: zap.NewNop()
}

// Message is one thing to write on the voice websocket. A binary DAVE op has Binary set: the
// payload after the opcode byte, which the runtime frames with voice.AppendClientBinary.
// A JSON op has JSON set: the "d" value, which the runtime wraps with voice.Encode.
type Message struct {
	Op     voice.Op
	Binary []byte
	JSON   any
}

// Session is the DAVE protocol state machine of one member of one call: the MLS group (pending
// or established), the proposals queued for the next commit, the transitions the voice gateway
// announced, and the media keys: an encryptor for this member's frames and a decryptor per
// other member.
//
// The websocket goroutine feeds it the gateway's DAVE messages (SetProtocolVersion, ClientsConnect,
// ClientDisconnect, HandleJSON, HandleBinary) and writes back the Messages they return, in
// order. The send goroutine calls Encrypt and the UDP receive goroutine Decrypt. All methods are
// safe for concurrent use; Encrypt and Decrypt take separate locks that the websocket side
// holds only for the few instructions it takes to swap keys, so media never waits on MLS work.
type Session struct {
	userID  uint64
	groupID []byte
	signer  *mls.Signer
	clock   clock.Clock
	log     *zap.Logger

	mu          sync.Mutex // the MLS side: everything below up to send
	version     int        // the DAVE protocol version the gateway last announced for the group
	bundle      *mls.KeyPackageBundle
	extSender   *mls.ExternalSender
	pending     *mls.Group          // the local group with only this member, before one is established
	group       *mls.Group          // the established group
	proposing   bool                // proposals arrived for the current base group since it became current
	outbound    []*mls.CommitResult // commits sent in the current epoch, with their next states
	recognized  map[uint64]struct{}
	transitions map[uint16]transition
	authCode    string

	active atomic.Int32 // the protocol version executed: what Encrypt and Decrypt act on

	send struct {
		mu    sync.Mutex
		plain bool // protocol version 0: frames go out as they are
		// enc encrypts with this member's ratchet of group's epoch; nil when there is no key.
		// It survives a switch to version 0, so that coming back to the same epoch continues
		// its nonces instead of reusing them.
		enc   *Encryptor
		group *mls.Group
	}
	recv struct {
		mu      sync.Mutex
		senders map[uint64]*senderKeys
		pass    passthrough
	}
}

// transition is what an execute (op 22) switches to: a protocol version and, when it is above
// 0, the group whose epoch senders move to (nil: the group established at execute time, if
// any; without one there is nothing to encrypt with).
type transition struct {
	version int
	group   *mls.Group
}

// NewSession returns a session at protocol version 0 (no DAVE) until SetProtocolVersion.
func NewSession(cfg SessionConfig) (*Session, error) {
	key := cfg.SignatureKey
	if key == nil {
		var err error
		if key, err = mls.GenerateSignatureKey(); err != nil {
			return nil, fmt.Errorf("dave: signature key: %w", err)
		}
	}
	signer, err := mls.NewSigner(key)
	if err != nil {
		return nil, fmt.Errorf("dave: signature key: %w", err)
	}
	s := &Session{
		userID:      cfg.UserID,
		groupID:     binary.BigEndian.AppendUint64(nil, cfg.ChannelID),
		signer:      signer,
		clock:       cfg.Clock,
		log:         cfg.Logger,
		recognized:  make(map[uint64]struct{}),
		transitions: make(map[uint16]transition),
	}
	if s.clock == nil {
		s.clock = clock.Real()
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	s.send.plain = true
	s.recv.senders = make(map[uint64]*senderKeys)
	s.recv.pass = passthrough{always: true}
	return s, nil
}

// ProtocolVersion is the DAVE protocol version in effect for media: 0 while frames travel
// without end-to-end encryption, 1 once a transition to DAVE executed.
func (s *Session) ProtocolVersion() int { return int(s.active.Load()) }

// Epoch is the epoch of the established MLS group, 0 when there is none (before the first
// commit or welcome, and after a reset).
func (s *Session) Epoch() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.group == nil {
		return 0
	}
	return s.group.Epoch()
}

// EpochAuthenticator is the MLS epoch authenticator of the established group (nil when there is
// none). Every member of an epoch has the same one; comparing them out of band shows that
// nobody in between sees a different group.
func (s *Session) EpochAuthenticator() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.group == nil {
		return nil
	}
	return s.group.EpochAuthenticator()
}

// PrivacyCode is the voice privacy code Discord clients display for the call: the epoch
// authenticator as a 30-digit displayable code (see [DisplayableCode]). Empty when there is no
// established group.
func (s *Session) PrivacyCode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authCode
}

// Members lists the user ids of the established group, in leaf order (nil when there is none).
func (s *Session) Members() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.group == nil {
		return nil
	}
	ids, _ := rosterIDs(s.group)
	return ids
}

// rosterIDs reads each leaf's basic credential as a big-endian user id and refuses a roster
// where two leaves claim one user (DAVE's client commit validity rule).
func rosterIDs(g *mls.Group) ([]uint64, error) {
	members := g.Members()
	ids := make([]uint64, 0, len(members))
	seen := make(map[uint64]bool, len(members))
	for _, m := range members {
		if len(m.Identity) != 8 {
			return nil, fmt.Errorf("leaf %d: identity is %d bytes, not a user id", m.LeafIndex, len(m.Identity))
		}
		id := binary.BigEndian.Uint64(m.Identity)
		if seen[id] {
			return nil, fmt.Errorf("user %d holds two leaves", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	return ids, nil
}

// DisplayableCode renders data as DAVE's displayable code: digits/group groups, each the next
// group bytes read as a big-endian integer, modulo 10^group, zero-padded to group digits. The
// voice privacy code is DisplayableCode(epochAuthenticator, 30, 5); pairwise verification codes
// use 45 digits. It fails when data is shorter than digits, digits is not a multiple of group,
// or group is not in 1..7.
func DisplayableCode(data []byte, digits, group int) (string, error) {
	if group < 1 || group > 7 || digits <= 0 || digits%group != 0 || len(data) < digits {
		return "", fmt.Errorf("dave: displayable code of %d digits in groups of %d from %d bytes", digits, group, len(data))
	}
	mod := uint64(1)
	for range group {
		mod *= 10
	}
	out := make([]byte, 0, digits)
	for i := 0; i < digits; i += group {
		var v uint64
		for _, b := range data[i : i+group] {
			v = v<<8 | uint64(b)
		}
		v %= mod
		for p := mod / 10; p > 0; p /= 10 {
			out = append(out, byte('0'+v/p%10))
		}
	}
	return string(out), nil
}
