package voicesim

import (
	"testing"

	"github.com/cordage/cordage/events/voice"
)

// BenchmarkRelay measures the relay's work for one 160-byte Opus packet to one receiver: open
// with the sender's key, seal with the receiver's, send on the UDP socket.
func BenchmarkRelay(b *testing.B) {
	for _, modes := range [][2]voice.Mode{
		{voice.ModeAES256GCMRTPSize, voice.ModeAES256GCMRTPSize},
		{voice.ModeXChaCha20Poly1305RTPSize, voice.ModeXChaCha20Poly1305RTPSize},
	} {
		b.Run(string(modes[0]), func(b *testing.B) {
			srv := newServer(b, WithDAVE(0, false), WithRelayLedgerLimit(0))
			a, _ := pair(b, srv, modes[0], modes[1], 1, 1)
			h := []byte{0x80, 0x78, 0, 1, 0, 0, 3, 0xc0, 0, 0, 0, 0}
			h[8], h[9], h[10], h[11] = byte(a.ready.SSRC>>24), byte(a.ready.SSRC>>16), byte(a.ready.SSRC>>8), byte(a.ready.SSRC)
			pkt := a.out.seal(nil, h, make([]byte, 160))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				srv.mu.Lock()
				srv.relayLocked(pkt)
				srv.mu.Unlock()
			}
			b.StopTimer()
			if l := srv.Ledger(); l.UDP.Relayed < b.N || l.UDP.BadAuth != 0 {
				b.Fatalf("udp %+v for %d packets", l.UDP, b.N)
			}
		})
	}
}
