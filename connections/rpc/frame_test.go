package rpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf []byte
	buf = AppendFrame(buf, OpHandshake, []byte(`{"v":1,"client_id":"1"}`))
	buf = AppendFrame(buf, OpFrame, []byte(`{"cmd":"DISPATCH"}`))
	buf = AppendFrame(buf, OpPing, nil)
	r := bytes.NewReader(buf)
	want := []struct {
		op Op
		p  string
	}{{OpHandshake, `{"v":1,"client_id":"1"}`}, {OpFrame, `{"cmd":"DISPATCH"}`}, {OpPing, ``}}
	for _, w := range want {
		op, p, err := ReadFrame(r, 1024)
		if err != nil || op != w.op || string(p) != w.p {
			t.Fatalf("ReadFrame = %v %q %v, want %v %q", op, p, err, w.op, w.p)
		}
	}
	if _, _, err := ReadFrame(r, 1024); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

func TestFrameHeaderIsLittleEndian(t *testing.T) {
	b := AppendFrame(nil, OpClose, []byte("xy"))
	if !bytes.Equal(b[:8], []byte{2, 0, 0, 0, 2, 0, 0, 0}) {
		t.Fatalf("header % x", b[:8])
	}
}

func TestFrameRejectsOversizeBeforeAllocating(t *testing.T) {
	var hdr [8]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(OpFrame))
	binary.LittleEndian.PutUint32(hdr[4:], 0xFFFFFFFF)
	// Only the header exists: a decoder that allocated first would still fail, but reading
	// stops at the header, which the reader's position proves.
	r := bytes.NewReader(append(hdr[:], "tail"...))
	_, _, err := ReadFrame(r, 1<<20)
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("err = %v, want ErrFrameTooLarge", err)
	}
	if r.Len() != 4 {
		t.Fatalf("decoder consumed %d payload bytes of an oversize frame", 4-r.Len())
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 10; i++ {
		_, _, _ = ReadFrame(bytes.NewReader(hdr[:]), 1<<20)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("rejecting 10 oversize frames allocated %d bytes", grew)
	}
}

func TestFrameErrors(t *testing.T) {
	bad := AppendFrame(nil, Op(9), []byte("{}"))
	if _, _, err := ReadFrame(bytes.NewReader(bad), 64); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("unknown opcode: %v", err)
	}
	short := AppendFrame(nil, OpFrame, []byte("{}"))[:9]
	if _, _, err := ReadFrame(bytes.NewReader(short), 64); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated payload: %v", err)
	}
	if _, _, err := ReadFrame(bytes.NewReader([]byte{1, 0, 0}), 64); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated header: %v", err)
	}
}

// FuzzIPCFrame feeds arbitrary bytes to the frame decoder and the payload decoder: neither may
// panic, no frame may exceed the limit, and every frame read re-encodes to the same bytes.
func FuzzIPCFrame(f *testing.F) {
	f.Add(AppendFrame(nil, OpHandshake, []byte(`{"v":1,"client_id":"123"}`)))
	f.Add(AppendFrame(nil, OpFrame, []byte(`{"cmd":"DISPATCH","evt":"READY","data":{"v":1}}`)))
	f.Add(AppendFrame(nil, OpClose, []byte(`{"code":4000,"message":"Invalid Client ID"}`)))
	f.Add(AppendFrame(AppendFrame(nil, OpPing, []byte("x")), OpPong, []byte("x")))
	f.Add([]byte{1, 0, 0, 0, 255, 255, 255, 255})
	f.Add([]byte{7, 0, 0, 0, 0, 0, 0, 0})
	const max = 4096
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			op, p, err := ReadFrame(r, max)
			if err != nil {
				return
			}
			if len(p) > max {
				t.Fatalf("frame of %d bytes passed a %d limit", len(p), max)
			}
			again := AppendFrame(nil, op, p)
			op2, p2, err := ReadFrame(bytes.NewReader(again), max)
			if err != nil || op2 != op || !bytes.Equal(p2, p) {
				t.Fatalf("re-encoded frame reads back as %v %q %v", op2, p2, err)
			}
			if op == OpFrame {
				if pl, err := decodePayload(p); err == nil {
					if pl.Cmd == "" {
						t.Fatalf("payload decoded with no cmd")
					}
					if pl.Evt == EventError {
						_ = pl.asError()
					}
					_ = decodeDispatch(pl)
				}
			}
		}
	})
}
