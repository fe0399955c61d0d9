package dave

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"testing"

	"github.com/cordage/cordage/events/voice"
)

func TestULEB128Vectors(t *testing.T) {
	for _, c := range []struct {
		v   uint64
		hex string
	}{
		{0, "00"}, {1, "01"}, {127, "7f"}, {128, "8001"}, {300, "ac02"}, {16383, "ff7f"}, {16384, "808001"},
		{624485, "e58e26"}, {1<<32 - 1, "ffffffff0f"}, {0x01000005, "85808008"},
		{math.MaxUint64, "ffffffffffffffffff01"},
	} {
		b := AppendULEB128(nil, c.v)
		if hex.EncodeToString(b) != c.hex || ULEB128Len(c.v) != len(b) {
			t.Errorf("%d: %x", c.v, b)
		}
		v, n, err := ReadULEB128(append(b, 0xAA))
		if err != nil || v != c.v || n != len(b) {
			t.Errorf("%d: read %d %d %v", c.v, v, n, err)
		}
	}
}

func TestULEB128Errors(t *testing.T) {
	for _, c := range []struct {
		in  string
		off int
	}{
		{"", 0}, {"80", 1}, {"ffff", 2},
		{"ffffffffffffffffff02", 9}, // bit 64 set
		{"ffffffffffffffffff80", 9}, // an 11th byte would follow
		{"80808080808080808080", 9},
	} {
		b, _ := hex.DecodeString(c.in)
		_, _, err := ReadULEB128(b)
		var me *voice.MalformedError
		if !errors.As(err, &me) || me.Offset != c.off || me.Decoder != decULEB128 {
			t.Errorf("%s: %v", c.in, err)
		}
	}
	// Non-minimal forms are read (other readers accept them too).
	if v, n, err := ReadULEB128([]byte{0x80, 0x00}); err != nil || v != 0 || n != 2 {
		t.Error(v, n, err)
	}
}

func FuzzULEB128(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte{0xe5, 0x8e, 0x26})
	f.Add(bytes.Repeat([]byte{0xff}, 10))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n, err := ReadULEB128(b)
		if err != nil {
			var me *voice.MalformedError
			if !errors.As(err, &me) || me.Offset < 0 || me.Offset > len(b) {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		if n < 1 || n > len(b) || n > maxULEB128Len {
			t.Fatalf("n=%d", n)
		}
		re := AppendULEB128(nil, v)
		if len(re) > n {
			t.Fatal("shortest form longer than what was read")
		}
		if v2, n2, err := ReadULEB128(re); err != nil || v2 != v || n2 != len(re) {
			t.Fatal("round trip")
		}
	})
}
