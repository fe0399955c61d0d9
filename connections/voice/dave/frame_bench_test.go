package dave

import (
	"bytes"
	"testing"

	"github.com/cordage/cordage/connections/voice/rtp"
	"github.com/cordage/cordage/events/voice"
)

// A typical 20 ms Opus voice frame at 64 kbit/s is about 160 bytes.
var benchOpus = bytes.Repeat([]byte{0x5A}, 160)

func reportFrames(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

func BenchmarkEncrypt(b *testing.B) {
	e := NewEncryptor(NewKeyRatchet([]byte("bench")))
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchOpus)))
	for b.Loop() {
		buf, _ = e.Encrypt(buf[:0], benchOpus)
	}
	reportFrames(b)
}

func BenchmarkDecrypt(b *testing.B) {
	const ring = 1 << 15
	e := NewEncryptor(NewKeyRatchet([]byte("bench")))
	frames := make([][]byte, ring)
	for i := range frames {
		frames[i], _ = e.Encrypt(nil, benchOpus)
	}
	d := NewDecryptor()
	d.AddRatchet(NewKeyRatchet([]byte("bench")), testEpoch)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchOpus)))
	i := 0
	for b.Loop() {
		if i == ring { // every nonce decrypts once: start a fresh receiver on the same key
			d = NewDecryptor()
			d.AddRatchet(NewKeyRatchet([]byte("bench")), testEpoch)
			i = 0
		}
		if _, err := d.Decrypt(buf[:0], frames[i], testEpoch); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportFrames(b)
}

// BenchmarkSendPath is the whole per-frame send cost below the socket: DAVE encryption, the RTP
// header, and transport sealing, in both transport modes.
func BenchmarkSendPath(b *testing.B) {
	key := bytes.Repeat([]byte{7}, 32)
	for _, mode := range []voice.Mode{voice.ModeAES256GCMRTPSize, voice.ModeXChaCha20Poly1305RTPSize} {
		b.Run(string(mode), func(b *testing.B) {
			e := NewEncryptor(NewKeyRatchet([]byte("bench")))
			s, _ := rtp.NewSealer(mode, key)
			h := rtp.Header{PayloadType: rtp.PayloadTypeOpus, SSRC: 42}
			daveBuf := make([]byte, 0, 512)
			pkt := make([]byte, 0, 1500)
			b.ReportAllocs()
			for b.Loop() {
				daveBuf, _ = e.Encrypt(daveBuf[:0], benchOpus)
				h.Seq++
				h.Timestamp += rtp.TimestampStep
				pkt = s.Seal(pkt[:0], &h, daveBuf)
			}
			reportFrames(b)
		})
	}
}

// BenchmarkReceivePath: transport open, then DAVE decryption.
func BenchmarkReceivePath(b *testing.B) {
	key := bytes.Repeat([]byte{7}, 32)
	for _, mode := range []voice.Mode{voice.ModeAES256GCMRTPSize, voice.ModeXChaCha20Poly1305RTPSize} {
		b.Run(string(mode), func(b *testing.B) {
			const ring = 1 << 14
			e := NewEncryptor(NewKeyRatchet([]byte("bench")))
			s, _ := rtp.NewSealer(mode, key)
			o, _ := rtp.NewOpener(mode, key)
			h := rtp.Header{PayloadType: rtp.PayloadTypeOpus, SSRC: 42}
			pkts := make([][]byte, ring)
			for i := range pkts {
				f, _ := e.Encrypt(nil, benchOpus)
				h.Seq++
				pkts[i] = s.Seal(nil, &h, f)
			}
			newD := func() *Decryptor {
				d := NewDecryptor()
				d.AddRatchet(NewKeyRatchet([]byte("bench")), testEpoch)
				return d
			}
			d := newD()
			plain := make([]byte, 0, 1500)
			opus := make([]byte, 0, 1500)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == ring {
					d, i = newD(), 0
				}
				p, err := o.Open(plain, pkts[i])
				if err != nil {
					b.Fatal(err)
				}
				if _, err := d.Decrypt(opus[:0], p.Payload, testEpoch); err != nil {
					b.Fatal(err)
				}
				i++
			}
			reportFrames(b)
		})
	}
}
