package rpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Op is the opcode of a frame on the IPC socket. Every frame is an 8-byte header (opcode, then
// payload length, both little-endian uint32) followed by that many bytes of JSON.
type Op uint32

// IPC opcodes.
const (
	OpHandshake Op = 0 // client → app, first frame: {"v":1,"client_id":"…"}
	OpFrame     Op = 1 // an RPC payload, either direction
	OpClose     Op = 2 // app → client: {"code":…,"message":"…"}, then the socket closes
	OpPing      Op = 3 // either side; the other answers OpPong with the same payload
	OpPong      Op = 4
)

func (o Op) String() string {
	switch o {
	case OpHandshake:
		return "handshake"
	case OpFrame:
		return "frame"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return fmt.Sprintf("Op(%d)", uint32(o))
}

// frameHeaderSize is the opcode plus the length, 4 bytes each.
const frameHeaderSize = 8

// DefaultMaxFrameSize bounds one incoming frame (IPC) or message (websocket) unless
// WithMaxFrameSize says otherwise. A GET_GUILDS answer for a user in a few hundred guilds is
// tens of kilobytes; one mebibyte leaves room without letting a broken peer make us allocate
// gigabytes.
const DefaultMaxFrameSize = 1 << 20

var (
	// ErrFrameTooLarge is returned when a peer announces a frame longer than the maximum. The
	// length is checked before anything is allocated.
	ErrFrameTooLarge = errors.New("rpc: frame too large")
	// ErrBadFrame is returned for a frame header with an unknown opcode.
	ErrBadFrame = errors.New("rpc: malformed ipc frame")
)

// ReadFrame reads one IPC frame from r. It never allocates more than max bytes for the
// payload: a longer announced length fails with ErrFrameTooLarge before the payload is read.
// A stream that ends inside a frame fails with io.ErrUnexpectedEOF; one that ends between
// frames with io.EOF.
func ReadFrame(r io.Reader, max int) (Op, []byte, error) {
	var hdr [frameHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	op := Op(binary.LittleEndian.Uint32(hdr[0:4]))
	n := binary.LittleEndian.Uint32(hdr[4:8])
	if op > OpPong {
		return 0, nil, fmt.Errorf("%w: opcode %d", ErrBadFrame, uint32(op))
	}
	if max < 0 || uint64(n) > uint64(max) {
		return 0, nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrFrameTooLarge, n, max)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return op, payload, nil
}

// AppendFrame appends one IPC frame carrying payload to buf.
func AppendFrame(buf []byte, op Op, payload []byte) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, uint32(op))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(payload)))
	return append(buf, payload...)
}
