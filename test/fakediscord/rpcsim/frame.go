package rpcsim

import (
	"encoding/binary"
	"fmt"
	"io"
)

// IPC opcodes, as the desktop app frames them: little-endian uint32 opcode, little-endian
// uint32 length, then that many bytes of JSON.
const (
	opHandshake = 0
	opFrame     = 1
	opClose     = 2
	opPing      = 3
	opPong      = 4
)

// maxFrame is the largest frame the simulated app accepts from a client.
const maxFrame = 64 << 10

func readFrame(r io.Reader) (uint32, []byte, error) {
	var h [8]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	op, n := binary.LittleEndian.Uint32(h[:4]), binary.LittleEndian.Uint32(h[4:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("rpcsim: frame of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return 0, nil, err
	}
	return op, b, nil
}

func frame(op uint32, b []byte) []byte {
	out := make([]byte, 8, 8+len(b))
	binary.LittleEndian.PutUint32(out[:4], op)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(b)))
	return append(out, b...)
}
