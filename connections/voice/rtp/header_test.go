package rtp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cordage/cordage/events/voice"
)

func TestHeaderDiscordOutgoing(t *testing.T) {
	h := Header{PayloadType: PayloadTypeOpus, Seq: 0xFFFF, Timestamp: 0xFFFFFC40, SSRC: 0xDEADBEEF}
	b := h.AppendTo(nil)
	// 0x80 0x78 seq timestamp ssrc, as Discord expects.
	if hex.EncodeToString(b) != "8078ffff"+"fffffc40"+"deadbeef" {
		t.Fatalf("% x", b)
	}
	got, n, err := ParseHeader(b)
	if err != nil || n != 12 {
		t.Fatal(err, n)
	}
	if diff := cmp.Diff(h, got); diff != "" {
		t.Fatal(diff)
	}
}

func TestHeaderCSRCAndExtension(t *testing.T) {
	h := Header{Marker: true, Padding: true, Extension: true, CSRCCount: 2, PayloadType: 120, Seq: 9,
		Timestamp: 960, SSRC: 5, CSRC: [15]uint32{0x11111111, 0x22222222},
		ExtensionProfile: ExtensionProfileOneByte, ExtensionWords: 3}
	b := h.AppendTo(nil)
	if len(b) != 12+8+4 || h.Len() != len(b) || b[0] != 0xB2 || b[1] != 0xF8 {
		t.Fatalf("% x", b)
	}
	if !bytes.Equal(b[20:], []byte{0xBE, 0xDE, 0, 3}) {
		t.Fatalf("% x", b[20:])
	}
	got, n, err := ParseHeader(append(b, 1, 2, 3))
	if err != nil || n != 24 || got.ExtensionBodyLen() != 12 {
		t.Fatal(err, n)
	}
	if diff := cmp.Diff(h, got); diff != "" {
		t.Fatal(diff)
	}
	for _, cut := range []int{0, 11, 12, 19, 23} {
		_, _, err := ParseHeader(b[:cut])
		var me *voice.MalformedError
		if !errors.As(err, &me) || me.Offset != cut {
			t.Errorf("cut %d: %v", cut, err)
		}
	}
	b[0] = 0x40
	if _, _, err := ParseHeader(b); !errors.Is(err, voice.ErrMalformed) {
		t.Error("accepted version 1")
	}
}

func TestIsRTCP(t *testing.T) {
	for pt := 0; pt < 256; pt++ {
		b := []byte{0x80, byte(pt), 0, 0}
		if got, want := IsRTCP(b), pt >= 192 && pt <= 223; got != want {
			t.Errorf("pt %d: %v", pt, got)
		}
	}
	if IsRTCP([]byte{0x80}) || IsRTCP([]byte{0x00, 200}) {
		t.Error("short or wrong version counted as RTCP")
	}
	if IsRTCP((&Header{PayloadType: PayloadTypeOpus, Marker: true}).AppendTo(nil)) {
		t.Error("Opus with the marker bit counted as RTCP")
	}
}
