package transport

import (
	"testing"

	"go.uber.org/goleak"
)

// The zstd decoder runs synchronously and the encoders in tests use concurrency 1, so no
// goroutine may outlive a test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// restarts reports how many times a zlib decompressor restarted its inflater with the saved
// window (the window-boundary recovery and fresh streams).
func restarts(d Decompressor) int { return d.(*zlibStream).restarts }

// bufCaps reports the capacities of a decompressor's own buffers.
func bufCaps(d Decompressor) (pending, out int) {
	switch z := d.(type) {
	case *zlibStream:
		return cap(z.pending), cap(z.out)
	case *zstdStream:
		return cap(z.pending), cap(z.out)
	}
	return 0, 0
}
