package transport

import (
	"bytes"
	"compress/zlib"
	"io"
)

// naiveZlib is the straightforward stdlib pipeline, the baseline for benchmarks and the
// demonstration of the window-boundary bug: one compress/zlib reader kept for the whole
// connection, over a source that is refilled with each message and so never ends from the
// reader's point of view. A message is read until its input is consumed. It handles whole
// messages only (one frame per message).
type naiveZlib struct {
	src bytes.Reader
	zr  io.ReadCloser
	buf [64 << 10]byte // more than one 32 KiB window flush, so a short Read means drained
	out []byte
}

func (n *naiveZlib) Decode(frame []byte) ([]byte, error) {
	n.src.Reset(frame)
	if n.zr == nil {
		zr, err := zlib.NewReader(&n.src)
		if err != nil {
			return nil, err
		}
		n.zr = zr
	}
	n.out = n.out[:0]
	for {
		k, err := n.zr.Read(n.buf[:])
		n.out = append(n.out, n.buf[:k]...)
		if err != nil {
			return nil, err
		}
		if n.src.Len() == 0 && k < len(n.buf) {
			return n.out, nil
		}
	}
}
