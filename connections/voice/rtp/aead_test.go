package rtp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/cordage/cordage/events/voice"
)

var testKey = func() []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}()

// Vectors computed independently with Python's cryptography package (AES-GCM, ChaCha20-Poly1305)
// and a separate HChaCha20 checked against draft-irtf-cfrg-xchacha §2.2.1: key 00..1f, payload
// 00..09; the ext packet has one CSRC, a BEDE extension of one word (body 10 ff 00 00) and the
// nonce counter at 0xfffffffe.
var vectors = []struct {
	mode  voice.Mode
	name  string
	nonce uint32
	hex   string
}{
	{voice.ModeAES256GCMRTPSize, "plain0", 0, "80780001000003c0000000010ebdb7ddb12985ba00a180a4e76afc91753698c23dc0a1175a0a00000000"},
	{voice.ModeAES256GCMRTPSize, "plain7", 7, "80780001000003c0000000015fe6d6827e2d258ce7dbab90f4dd9e0c6d6152c94e351784038100000007"},
	{voice.ModeAES256GCMRTPSize, "ext", 0xfffffffe, "91780002000007800000000142424242bede00015c83445e53ebc3baf6e9e6bd8903c10fb1909e6fd539aae458b5d486526bfffffffe"},
	{voice.ModeXChaCha20Poly1305RTPSize, "plain0", 0, "80780001000003c00000000195078ec4e88de31e1e87c83207c6449bc7e50b13316302f0afdb00000000"},
	{voice.ModeXChaCha20Poly1305RTPSize, "plain7", 7, "80780001000003c000000001b6b65f347cc7af4cdf4ab36784001d95fe8062486a5d733953cf00000007"},
	{voice.ModeXChaCha20Poly1305RTPSize, "ext", 0xfffffffe, "91780002000007800000000142424242bede0001852f3c52f7c4487a79a85ef89c695db01fa787c562e156f08086ca4643e9fffffffe"},
}

var opus10 = []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}

func vectorHeader(name string) Header {
	if name == "ext" {
		return Header{Extension: true, CSRCCount: 1, CSRC: [15]uint32{0x42424242}, PayloadType: PayloadTypeOpus,
			Seq: 2, Timestamp: 1920, SSRC: 1, ExtensionProfile: ExtensionProfileOneByte, ExtensionWords: 1}
	}
	return Header{PayloadType: PayloadTypeOpus, Seq: 1, Timestamp: 960, SSRC: 1}
}

func TestKnownVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(string(v.mode)+"/"+v.name, func(t *testing.T) {
			want, _ := hex.DecodeString(v.hex)
			s, err := NewSealer(v.mode, testKey)
			if err != nil {
				t.Fatal(err)
			}
			s.next = v.nonce
			h := vectorHeader(v.name)
			payload := opus10
			if h.Extension {
				payload = append([]byte{0x10, 0xff, 0, 0}, opus10...)
			}
			got := s.Seal(nil, &h, payload)
			if !bytes.Equal(got, want) {
				t.Fatalf("seal\n got %x\nwant %x", got, want)
			}
			if s.NextNonce() != v.nonce+1 {
				t.Fatal("counter did not advance")
			}
			o, _ := NewOpener(v.mode, testKey)
			p, err := o.Open(nil, want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p.Payload, opus10) || p.Nonce != v.nonce || p.Header != h {
				t.Fatalf("open: %+v", p)
			}
			if h.Extension && !bytes.Equal(p.Extension, []byte{0x10, 0xff, 0, 0}) {
				t.Fatalf("extension % x", p.Extension)
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	for _, mode := range []voice.Mode{voice.ModeAES256GCMRTPSize, voice.ModeXChaCha20Poly1305RTPSize} {
		s, _ := NewSealer(mode, testKey)
		o, _ := NewOpener(mode, testKey)
		h := Header{PayloadType: PayloadTypeOpus, SSRC: 3}
		pkt := s.Seal(nil, &h, opus10)
		// Every single-bit flip outside the nonce fails authentication (the header is AAD); a
		// flip in the nonce changes the AEAD nonce and fails too.
		for i := range pkt {
			if i == 0 || i == 1 {
				continue // version/RTCP bits are checked before authentication
			}
			bad := bytes.Clone(pkt)
			bad[i] ^= 0x04
			if _, err := o.Open(nil, bad); !errors.Is(err, ErrOpen) {
				t.Fatalf("%s: flip at %d: %v", mode, i, err)
			}
		}
		other := bytes.Clone(testKey)
		other[0] ^= 1
		o2, _ := NewOpener(mode, other)
		if _, err := o2.Open(nil, pkt); !errors.Is(err, ErrOpen) {
			t.Fatal("wrong key opened")
		}
		if _, err := o.Open(nil, pkt[:12+Overhead-1]); !errors.Is(err, voice.ErrMalformed) {
			t.Fatal("short packet:", err)
		}
		if _, err := o.Open(nil, []byte{0x80, 200, 0, 1, 0, 0, 0, 0}); !errors.Is(err, ErrRTCP) {
			t.Fatal("RTCP:", err)
		}
		// An extension header that claims more body than there is plaintext.
		hx := Header{Extension: true, ExtensionProfile: ExtensionProfileOneByte, ExtensionWords: 4}
		if _, err := o.Open(nil, s.Seal(nil, &hx, []byte{1, 2, 3})); !errors.Is(err, voice.ErrMalformed) {
			t.Fatal("extension overrun:", err)
		}
		// Padding: the last byte counts the padding.
		hp := Header{Padding: true}
		p, err := o.Open(nil, s.Seal(nil, &hp, []byte{7, 7, 0, 0, 3}))
		if err != nil || !bytes.Equal(p.Payload, []byte{7, 7}) {
			t.Fatal(p, err)
		}
		for _, bad := range [][]byte{{}, {0}, {1, 5}} {
			if _, err := o.Open(nil, s.Seal(nil, &hp, bad)); !errors.Is(err, voice.ErrMalformed) {
				t.Fatalf("padding % x: %v", bad, err)
			}
		}
	}
	if _, err := NewSealer("xsalsa20_poly1305", testKey); !errors.Is(err, ErrMode) {
		t.Fatal(err)
	}
	if _, err := NewOpener(voice.ModeAES256GCMRTPSize, testKey[:16]); err == nil {
		t.Fatal("accepted a 16-byte key")
	}
}

// TestSealOpenAllocs pins the steady path in both modes: sealing into and opening into reused
// buffers allocates nothing.
func TestSealOpenAllocs(t *testing.T) {
	frame := bytes.Repeat([]byte{0xAA}, 160)
	for _, c := range []struct {
		mode       voice.Mode
		seal, open float64
	}{
		{voice.ModeAES256GCMRTPSize, 0, 0},
		{voice.ModeXChaCha20Poly1305RTPSize, 0, 0},
	} {
		s, _ := NewSealer(c.mode, testKey)
		o, _ := NewOpener(c.mode, testKey)
		buf := make([]byte, 0, 1500)
		plain := make([]byte, 0, 1500)
		h := Header{PayloadType: PayloadTypeOpus, SSRC: 1}
		var pkt []byte
		if n := testing.AllocsPerRun(200, func() {
			h.Seq++
			h.Timestamp += TimestampStep
			pkt = s.Seal(buf[:0], &h, frame)
		}); n != c.seal {
			t.Errorf("%s seal: %v allocs", c.mode, n)
		}
		if n := testing.AllocsPerRun(200, func() {
			if _, err := o.Open(plain, pkt); err != nil {
				t.Fatal(err)
			}
		}); n != c.open {
			t.Errorf("%s open: %v allocs", c.mode, n)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	for _, mode := range []voice.Mode{voice.ModeAES256GCMRTPSize, voice.ModeXChaCha20Poly1305RTPSize} {
		b.Run(string(mode), func(b *testing.B) {
			s, _ := NewSealer(mode, testKey)
			frame := bytes.Repeat([]byte{0xAA}, 160)
			buf := make([]byte, 0, 1500)
			h := Header{PayloadType: PayloadTypeOpus, SSRC: 1}
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				h.Seq++
				buf = s.Seal(buf[:0], &h, frame)
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, mode := range []voice.Mode{voice.ModeAES256GCMRTPSize, voice.ModeXChaCha20Poly1305RTPSize} {
		b.Run(string(mode), func(b *testing.B) {
			s, _ := NewSealer(mode, testKey)
			o, _ := NewOpener(mode, testKey)
			pkt := s.Seal(nil, &Header{PayloadType: PayloadTypeOpus, SSRC: 1}, bytes.Repeat([]byte{0xAA}, 160))
			plain := make([]byte, 0, 1500)
			b.ReportAllocs()
			b.SetBytes(160)
			for b.Loop() {
				if _, err := o.Open(plain, pkt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
