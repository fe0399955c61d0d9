package rtp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"

	"github.com/cordage/cordage/events/voice"
)

func TestDiscoveryRequestBytes(t *testing.T) {
	b := AppendDiscoveryRequest(nil, 0x01020304)
	want := "0001" + "0046" + "01020304" + string(bytes.Repeat([]byte("00"), 64)) + "0000"
	if hex.EncodeToString(b) != want {
		t.Fatalf("% x", b)
	}
	d, err := ParseDiscovery(b)
	if err != nil || d.Type != DiscoveryRequest || d.SSRC != 0x01020304 || d.Addr.IsValid() {
		t.Fatal(d, err)
	}
}

func TestDiscoveryResponse(t *testing.T) {
	for _, a := range []string{"127.0.0.1", "203.0.113.250", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"} {
		addr := netip.MustParseAddr(a)
		b := AppendDiscoveryResponse(nil, 77, addr, 50000)
		if len(b) != DiscoveryLen {
			t.Fatalf("len %d", len(b))
		}
		// Hand-check the layout: type 2, length 70, address text at 8, port at 72.
		if b[1] != 2 || b[3] != 70 || !bytes.HasPrefix(b[8:], []byte(addr.String()+"\x00")) || b[72] != 0xC3 || b[73] != 0x50 {
			t.Fatalf("% x", b)
		}
		d, err := ParseDiscovery(b)
		if err != nil || d.Addr != addr || d.Port != 50000 || d.SSRC != 77 || d.Type != DiscoveryResponse {
			t.Fatal(a, d, err)
		}
	}
}

func TestDiscoveryMalformed(t *testing.T) {
	good := AppendDiscoveryResponse(nil, 1, netip.MustParseAddr("10.0.0.1"), 1)
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := map[string]struct {
		b   []byte
		off int
	}{
		"short":         {good[:73], 73},
		"long":          {append(bytes.Clone(good), 0), 74},
		"type":          {mut(func(b []byte) []byte { b[1] = 3; return b }), 0},
		"length":        {mut(func(b []byte) []byte { b[3] = 71; return b }), 2},
		"no nul":        {mut(func(b []byte) []byte { copy(b[8:72], bytes.Repeat([]byte("1"), 64)); return b }), 71},
		"not an ip":     {mut(func(b []byte) []byte { copy(b[8:], "example.com\x00"); return b }), 8},
		"request addr":  {mut(func(b []byte) []byte { b[1] = 1; return b }), 8},
		"zone":          {mut(func(b []byte) []byte { copy(b[8:], "fe80::1%eth0\x00"); return b }), 8},
		"empty address": {mut(func(b []byte) []byte { clear(b[8:72]); return b }), 8},
	}
	for name, c := range cases {
		_, err := ParseDiscovery(c.b)
		var me *voice.MalformedError
		if !errors.As(err, &me) || me.Decoder != decDiscovery || me.Offset != c.off {
			t.Errorf("%s: %v", name, err)
		}
	}
}
