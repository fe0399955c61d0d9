package voice

import (
	"encoding/binary"
	"errors"
)

// BinaryMessage is one binary DAVE message on the voice websocket. Server messages start with a
// 2-byte big-endian seq (the same counter as JSON "seq"), then the opcode byte; client messages
// start with the opcode byte.
type BinaryMessage struct {
	Seq     uint16 // server messages only
	Op      Op
	Payload []byte // aliases the input
}

const (
	decServerBinary = "voice.ParseServerBinary"
	decClientBinary = "voice.ParseClientBinary"
)

// ParseServerBinary splits a binary message from the voice server. The opcode must be one the
// server sends in binary (25, 27, 29, 30).
func ParseServerBinary(b []byte) (BinaryMessage, error) {
	if len(b) < 3 {
		return BinaryMessage{}, Malformed(decServerBinary, len(b), "shorter than seq and opcode")
	}
	op := Op(b[2])
	if !op.Binary() || !op.ServerSends() {
		return BinaryMessage{}, Malformed(decServerBinary, 2, "opcode "+op.String()+" is not a server binary op")
	}
	return BinaryMessage{Seq: binary.BigEndian.Uint16(b), Op: op, Payload: b[3:]}, nil
}

// ParseClientBinary splits a binary message from a client (the simulator's side). The opcode must
// be one a client sends in binary (26, 28).
func ParseClientBinary(b []byte) (BinaryMessage, error) {
	if len(b) < 1 {
		return BinaryMessage{}, Malformed(decClientBinary, 0, "empty message")
	}
	op := Op(b[0])
	if !op.Binary() || !op.ClientSends() {
		return BinaryMessage{}, Malformed(decClientBinary, 0, "opcode "+op.String()+" is not a client binary op")
	}
	return BinaryMessage{Op: op, Payload: b[1:]}, nil
}

// AppendServerBinary appends a server binary message (seq, op, payload) to dst.
func AppendServerBinary(dst []byte, seq uint16, op Op, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, seq)
	return append(append(dst, byte(op)), payload...)
}

// AppendClientBinary appends a client binary message (op, payload) to dst.
func AppendClientBinary(dst []byte, op Op, payload []byte) []byte {
	return append(append(dst, byte(op)), payload...)
}

// CredentialBasic is the MLS basic credential type; DAVE uses no other.
const CredentialBasic = 1

// ExternalSender is the payload of op 25: the voice server's MLS external sender, which signs
// the Add and Remove proposals of op 27.
type ExternalSender struct {
	SignatureKey []byte // SEC1 uncompressed P-256 point
	Identity     []byte // the basic credential's identity
}

const decExternalSender = "voice.ParseExternalSender"

// ParseExternalSender decodes an op 25 payload: signature_key<V>, then a basic credential
// (u16 type = 1, identity<V>). Trailing bytes are an error. The slices alias p.
func ParseExternalSender(p []byte) (ExternalSender, error) {
	key, off, err := readVector(decExternalSender, p, 0)
	if err != nil {
		return ExternalSender{}, err
	}
	if len(p)-off < 2 {
		return ExternalSender{}, Malformed(decExternalSender, off, "truncated credential type")
	}
	if t := binary.BigEndian.Uint16(p[off:]); t != CredentialBasic {
		return ExternalSender{}, Malformed(decExternalSender, off, "credential type is not basic")
	}
	id, end, err := readVector(decExternalSender, p, off+2)
	if err != nil {
		return ExternalSender{}, err
	}
	if end != len(p) {
		return ExternalSender{}, Malformed(decExternalSender, end, "trailing bytes")
	}
	return ExternalSender{SignatureKey: key, Identity: id}, nil
}

var errTooLong = errors.New("voice: vector longer than 2^30-1 bytes")

// AppendTo appends the op 25 payload encoding of e.
func (e ExternalSender) AppendTo(dst []byte) ([]byte, error) {
	if len(e.SignatureKey) > maxVarint || len(e.Identity) > maxVarint {
		return dst, errTooLong
	}
	dst = appendVector(dst, e.SignatureKey)
	dst = binary.BigEndian.AppendUint16(dst, CredentialBasic)
	return appendVector(dst, e.Identity), nil
}

// ProposalsOp says whether op 27 appends proposals or revokes them.
type ProposalsOp uint8

// Op 27 operation types.
const (
	ProposalsAppend ProposalsOp = 0
	ProposalsRevoke ProposalsOp = 1
)

// Proposals is the payload of op 27.
type Proposals struct {
	Op ProposalsOp
	// Messages is the body of the MLSMessage proposal_messages<V> vector (append only): MLS
	// messages back to back, for the MLS layer to split.
	Messages []byte
	// Refs are the proposal references to revoke (revoke only), each an opaque<V> on the wire.
	Refs [][]byte
}

const decProposals = "voice.ParseProposals"

// maxRefs bounds how many refs one revoke may carry, so a hostile length cannot make the decoder
// allocate much; a ref is at least one byte on the wire, so the body length bounds it anyway.
const maxRefs = 1 << 12

// ParseProposals decodes an op 27 payload: u8 operation, then one vector. Slices alias p.
func ParseProposals(p []byte) (Proposals, error) {
	if len(p) < 1 {
		return Proposals{}, Malformed(decProposals, 0, "missing operation type")
	}
	op := ProposalsOp(p[0])
	body, end, err := readVector(decProposals, p, 1)
	if err != nil {
		return Proposals{}, err
	}
	if end != len(p) {
		return Proposals{}, Malformed(decProposals, end, "trailing bytes")
	}
	switch op {
	case ProposalsAppend:
		return Proposals{Op: op, Messages: body}, nil
	case ProposalsRevoke:
		var refs [][]byte
		base := end - len(body)
		for off := 0; off < len(body); {
			if len(refs) == maxRefs {
				return Proposals{}, Malformed(decProposals, base+off, "too many refs")
			}
			ref, next, err := readVector(decProposals, body, off)
			if err != nil {
				var me *MalformedError
				if errors.As(err, &me) {
					me.Offset += base
				}
				return Proposals{}, err
			}
			refs = append(refs, ref)
			off = next
		}
		return Proposals{Op: op, Refs: refs}, nil
	}
	return Proposals{}, Malformed(decProposals, 0, "unknown operation type")
}

// AppendTo appends the op 27 payload encoding of p.
func (p Proposals) AppendTo(dst []byte) ([]byte, error) {
	dst = append(dst, byte(p.Op))
	switch p.Op {
	case ProposalsAppend:
		if len(p.Messages) > maxVarint {
			return dst, errTooLong
		}
		return appendVector(dst, p.Messages), nil
	case ProposalsRevoke:
		n := 0
		for _, r := range p.Refs {
			if len(r) > maxVarint {
				return dst, errTooLong
			}
			n += len(appendVarint(nil, len(r))) + len(r)
		}
		if n > maxVarint {
			return dst, errTooLong
		}
		dst = appendVarint(dst, n)
		for _, r := range p.Refs {
			dst = appendVector(dst, r)
		}
		return dst, nil
	}
	return dst, errors.New("voice: unknown proposals operation")
}

// Transition is the payload of op 29 (announce commit: Data is an MLSMessage commit) and op 30
// (welcome: Data is a Welcome): a u16 transition id, then the MLS message to the end.
type Transition struct {
	TransitionID uint16
	Data         []byte // aliases the input
}

const decTransition = "voice.ParseTransition"

// ParseTransition decodes an op 29 or op 30 payload. Data must not be empty.
func ParseTransition(p []byte) (Transition, error) {
	if len(p) < 2 {
		return Transition{}, Malformed(decTransition, len(p), "truncated transition id")
	}
	if len(p) == 2 {
		return Transition{}, Malformed(decTransition, 2, "no MLS message")
	}
	return Transition{TransitionID: binary.BigEndian.Uint16(p), Data: p[2:]}, nil
}

// AppendTo appends the op 29/30 payload encoding of t.
func (t Transition) AppendTo(dst []byte) []byte {
	return append(binary.BigEndian.AppendUint16(dst, t.TransitionID), t.Data...)
}

// AppendCommitWelcome appends an op 28 payload: the MLSMessage commit, then the Welcome if the
// commit adds members (welcome may be nil).
func AppendCommitWelcome(dst, commit, welcome []byte) []byte {
	return append(append(dst, commit...), welcome...)
}
