package rtp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"

	"github.com/cordage/cordage/events/voice"
)

func mustMalformed(t *testing.T, err error) {
	t.Helper()
	var me *voice.MalformedError
	if !errors.As(err, &me) || me.Decoder == "" || me.Offset < 0 {
		t.Fatalf("untyped error: %v", err)
	}
}

func FuzzParseDiscovery(f *testing.F) {
	f.Add(AppendDiscoveryRequest(nil, 1))
	f.Add(AppendDiscoveryResponse(nil, 1, netip.MustParseAddr("127.0.0.1"), 5000))
	f.Add(AppendDiscoveryResponse(nil, 1, netip.MustParseAddr("2001:db8::7"), 5000))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDiscovery(b)
		if err != nil {
			mustMalformed(t, err)
			return
		}
		var re []byte
		if d.Type == DiscoveryRequest {
			re = AppendDiscoveryRequest(nil, d.SSRC)
		} else {
			re = AppendDiscoveryResponse(nil, d.SSRC, d.Addr, d.Port)
		}
		// Text forms may differ (e.g. "::ffff:1.2.3.4"), so compare what they mean.
		// A request's port is not meaningful (Discord sends 0), so only responses keep it.
		d2, err := ParseDiscovery(re)
		if err != nil || d2.SSRC != d.SSRC || d2.Addr.Unmap() != d.Addr.Unmap() || (d.Type == DiscoveryResponse && d2.Port != d.Port) {
			t.Fatalf("round trip %+v -> %+v %v", d, d2, err)
		}
	})
}

func FuzzParseHeader(f *testing.F) {
	f.Add((&Header{PayloadType: PayloadTypeOpus, Seq: 1, SSRC: 2}).AppendTo(nil))
	f.Add(append(vectorHeaderBytes("ext"), 1, 2, 3, 4))
	f.Add([]byte{0x80, 200, 0, 6, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = IsRTCP(b)
		h, n, err := ParseHeader(b)
		if err != nil {
			mustMalformed(t, err)
			return
		}
		if n != h.Len() || n > len(b) {
			t.Fatalf("n=%d len=%d", n, h.Len())
		}
		if re := h.AppendTo(nil); !bytes.Equal(re, b[:n]) {
			t.Fatalf("round trip\n% x\n% x", b[:n], re)
		}
	})
}

func vectorHeaderBytes(name string) []byte {
	h := vectorHeader(name)
	return h.AppendTo(nil)
}

// FuzzOpen feeds arbitrary datagrams to both openers: each gives a packet or a typed error.
func FuzzOpen(f *testing.F) {
	for _, v := range vectors {
		b, _ := hexDecode(v.hex)
		f.Add(b)
	}
	f.Add([]byte{0x80, 201, 0, 1})
	aes, _ := NewOpener(voice.ModeAES256GCMRTPSize, testKey)
	xc, _ := NewOpener(voice.ModeXChaCha20Poly1305RTPSize, testKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, o := range []*Opener{aes, xc} {
			p, err := o.Open(nil, b)
			if err != nil {
				if !errors.Is(err, ErrOpen) && !errors.Is(err, ErrRTCP) {
					mustMalformed(t, err)
				}
				continue
			}
			if len(p.Payload)+len(p.Extension) > len(b) {
				t.Fatal("payload longer than the packet")
			}
		}
	})
}

// FuzzSealOpen seals any header and payload and checks that opening gives them back.
func FuzzSealOpen(f *testing.F) {
	f.Add(vectorHeaderBytes("plain0"), opus10, uint32(0))
	f.Add(vectorHeaderBytes("ext"), append([]byte{0x10, 0xff, 0, 0}, opus10...), uint32(1<<32-1))
	f.Fuzz(func(t *testing.T, hb, payload []byte, nonce uint32) {
		h, _, err := ParseHeader(hb)
		if err != nil {
			return
		}
		for _, mode := range []voice.Mode{voice.ModeAES256GCMRTPSize, voice.ModeXChaCha20Poly1305RTPSize} {
			s, _ := NewSealer(mode, testKey)
			s.next = nonce
			o, _ := NewOpener(mode, testKey)
			pkt := s.Seal(nil, &h, payload)
			p, err := o.Open(nil, pkt)
			if IsRTCP(pkt) {
				if !errors.Is(err, ErrRTCP) {
					t.Fatal("RTCP-looking packet opened")
				}
				continue
			}
			if err != nil {
				if errors.Is(err, voice.ErrMalformed) && (h.ExtensionBodyLen() > len(payload) || h.Padding) {
					continue
				}
				t.Fatalf("%s: %v", mode, err)
			}
			if p.Nonce != nonce || p.Header != h {
				t.Fatalf("header or nonce changed")
			}
			if !h.Padding && !bytes.Equal(append(bytes.Clone(p.Extension), p.Payload...), payload) {
				t.Fatalf("payload changed")
			}
		}
	})
}

func hexDecode(s string) ([]byte, error) { return hex.DecodeString(s) }
