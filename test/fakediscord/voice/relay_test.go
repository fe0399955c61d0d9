package voicesim

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/voice"
)

// Vectors from connections/voice/rtp's tests (computed there with Python's cryptography package):
// key 00..1f, payload 00..09; "ext" has one CSRC, a one-word BEDE extension (body 10 ff 00 00)
// and the nonce counter at 0xfffffffe. The simulator's own AEAD code must produce the same bytes.
var transportVectors = []struct {
	mode  voice.Mode
	ext   bool
	nonce uint32
	hex   string
}{
	{voice.ModeAES256GCMRTPSize, false, 0, "80780001000003c0000000010ebdb7ddb12985ba00a180a4e76afc91753698c23dc0a1175a0a00000000"},
	{voice.ModeAES256GCMRTPSize, false, 7, "80780001000003c0000000015fe6d6827e2d258ce7dbab90f4dd9e0c6d6152c94e351784038100000007"},
	{voice.ModeAES256GCMRTPSize, true, 0xfffffffe, "91780002000007800000000142424242bede00015c83445e53ebc3baf6e9e6bd8903c10fb1909e6fd539aae458b5d486526bfffffffe"},
	{voice.ModeXChaCha20Poly1305RTPSize, false, 0, "80780001000003c00000000195078ec4e88de31e1e87c83207c6449bc7e50b13316302f0afdb00000000"},
	{voice.ModeXChaCha20Poly1305RTPSize, false, 7, "80780001000003c000000001b6b65f347cc7af4cdf4ab36784001d95fe8062486a5d733953cf00000007"},
	{voice.ModeXChaCha20Poly1305RTPSize, true, 0xfffffffe, "91780002000007800000000142424242bede0001852f3c52f7c4487a79a85ef89c695db01fa787c562e156f08086ca4643e9fffffffe"},
}

func TestTransportKnownVectors(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	opus := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	for _, v := range transportVectors {
		want, _ := hex.DecodeString(v.hex)
		tr, err := newTransport(v.mode, key)
		if err != nil {
			t.Fatal(err)
		}
		h, ok := parseRTP(want)
		if !ok || h.ext != v.ext {
			t.Fatalf("%s: header %+v", v.mode, h)
		}
		plain := opus
		if v.ext {
			plain = append([]byte{0x10, 0xff, 0, 0}, opus...)
			if h.extBody != 4 || h.n != 20 {
				t.Fatalf("ext header %+v", h)
			}
		}
		tr.next = v.nonce
		if got := tr.seal(nil, want[:h.n], plain); !bytes.Equal(got, want) {
			t.Fatalf("%s seal\n got %x\nwant %x", v.mode, got, want)
		}
		pt, err := tr.open(nil, want, h)
		if err != nil || !bytes.Equal(pt, plain) {
			t.Fatalf("%s open: %x %v", v.mode, pt, err)
		}
		bad := bytes.Clone(want)
		bad[h.n] ^= 1
		if _, err := tr.open(nil, bad, h); err != errOpen {
			t.Fatalf("tampered packet: %v", err)
		}
	}
	if _, err := newTransport("xsalsa20_poly1305", key); err == nil {
		t.Fatal("discontinued mode accepted")
	}
}

func TestIPDiscovery(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	c := newClient(t, srv, 10)
	c.identify(1)
	if err := c.expect(voice.OpReady).Decode(&c.ready); err != nil {
		t.Fatal(err)
	}
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c.udp = u
	got := c.discover()
	if got != u.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("discovered %s, socket is %s", got, u.LocalAddr())
	}
	// An unknown SSRC and a malformed request get no answer.
	req := make([]byte, discoveryLen)
	binary.BigEndian.PutUint16(req, discoveryRequest)
	binary.BigEndian.PutUint16(req[2:], 70)
	binary.BigEndian.PutUint32(req[4:], c.ready.SSRC+12345)
	_, _ = u.WriteToUDPAddrPort(req, c.serverUDP())
	_, _ = u.WriteToUDPAddrPort(req[:73], c.serverUDP())
	l := waitLedger(t, srv, func(l *Ledger) bool { return l.UDP.Unknown == 2 })
	if l.UDP.Discoveries != 1 {
		t.Fatalf("udp stats %+v", l.UDP)
	}
	if b, ok := c.readUDP(50 * time.Millisecond); ok {
		t.Fatalf("answer to a bad request: %x", b)
	}
}

// pair joins two users, a in modeA and b in modeB, both speaking.
func pair(t testing.TB, srv *Server, modeA, modeB voice.Mode, daveA, daveB int) (a, b *testClient) {
	a = newClient(t, srv, 10)
	a.join(daveA, modeA)
	a.speak()
	b = newClient(t, srv, 20)
	b.join(daveB, modeB)
	b.speak()
	waitSpoke(t, srv, 10, 20)
	return a, b
}

// waitSpoke waits until the server has handled a Speaking from each user: only then does the
// relay forward their RTP (websocket and UDP are not ordered with each other).
func waitSpoke(t testing.TB, srv *Server, users ...events.Snowflake) {
	t.Helper()
	waitLedger(t, srv, func(l *Ledger) bool {
		for _, u := range users {
			r, _ := l.Session(u)
			if !slices.Contains(r.Received, voice.OpSpeaking) {
				return false
			}
		}
		return true
	})
}

func TestRelayResealsPerReceiver(t *testing.T) {
	modes := []voice.Mode{voice.ModeAES256GCMRTPSize, voice.ModeXChaCha20Poly1305RTPSize}
	for _, ma := range modes {
		for _, mb := range modes {
			t.Run(string(ma)+"→"+string(mb), func(t *testing.T) {
				srv := newServer(t, WithDAVE(0, false))
				a, b := pair(t, srv, ma, mb, 1, 1)
				for i := range 20 {
					frame := []byte{0xF8, 0xFF, byte(i), 1, 2, 3}
					a.sendRTP(frame)
					p, ok := b.recvRTP(waitWall)
					if !ok {
						t.Fatalf("b received nothing for frame %d", i)
					}
					if p.ssrc != a.ready.SSRC || p.seq != a.seq || p.ts != a.ts || !bytes.Equal(p.opus, frame) || len(p.ext) != 0 {
						t.Fatalf("b got %+v for seq %d", p, a.seq)
					}
					back := []byte{0xF8, 0xFE, byte(i)}
					b.sendRTP(back)
					q, ok := a.recvRTP(waitWall)
					if !ok || q.ssrc != b.ready.SSRC || !bytes.Equal(q.opus, back) {
						t.Fatalf("a got %+v %v", q, ok)
					}
				}
				l := srv.Ledger()
				if n := len(l.RelayedTo(10, 20)); n != 20 {
					t.Fatalf("%d relayed a→b", n)
				}
				if l.UDP.Relayed != 40 || l.UDP.BadAuth != 0 {
					t.Fatalf("udp %+v", l.UDP)
				}
			})
		}
	}
}

func TestRelayExtensionAdded(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false), WithRelayExtension(true))
	a, b := pair(t, srv, voice.ModeAES256GCMRTPSize, voice.ModeXChaCha20Poly1305RTPSize, 1, 1)
	a.sendRTP([]byte{1, 2, 3})
	p, ok := b.recvRTP(waitWall)
	if !ok || !bytes.Equal(p.ext, relayExtBody) || !bytes.Equal(p.opus, []byte{1, 2, 3}) {
		t.Fatalf("got %+v", p)
	}
}

func TestRelayDropsWhatItMust(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	a := newClient(t, srv, 10)
	a.join(1, voice.ModeAES256GCMRTPSize)
	b := newClient(t, srv, 20)
	b.join(1, voice.ModeAES256GCMRTPSize)
	// Before Speaking: dropped.
	a.sendRTP([]byte{1})
	waitLedger(t, srv, func(l *Ledger) bool { return l.UDP.NotSpeaking == 1 })
	a.speak()
	waitSpoke(t, srv, 10)
	// RTCP receiver report: dropped.
	rtcp := []byte{0x81, 201, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	_, _ = a.udp.WriteToUDPAddrPort(rtcp, a.serverUDP())
	// Sealed with a wrong key: dropped.
	wrong, _ := newTransport(voice.ModeAES256GCMRTPSize, make([]byte, 32))
	h := []byte{0x80, 0x78, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(h[8:], a.ready.SSRC)
	_, _ = a.udp.WriteToUDPAddrPort(wrong.seal(nil, h, []byte{1, 2}), a.serverUDP())
	// An SSRC no session has: dropped.
	binary.BigEndian.PutUint32(h[8:], 77)
	_, _ = a.udp.WriteToUDPAddrPort(a.out.seal(nil, h, []byte{1, 2}), a.serverUDP())
	l := waitLedger(t, srv, func(l *Ledger) bool {
		u := l.UDP
		return u.NotSpeaking == 1 && u.RTCP == 1 && u.BadAuth == 1 && u.Unknown == 1
	})
	if l.UDP.Relayed != 0 {
		t.Fatalf("relayed %+v", l.UDP)
	}
	// The next good packet is the first b sees.
	a.sendRTP([]byte{42})
	p, ok := b.recvRTP(waitWall)
	if !ok || !bytes.Equal(p.opus, []byte{42}) {
		t.Fatalf("b got %+v %v", p, ok)
	}
}

// daveFrame builds bytes shaped like a DAVE protocol frame: ciphertext, 8-byte tag, a 1-byte
// nonce, supplemental size 12, 0xFAFA.
func daveFrame(n byte) []byte {
	return []byte{n, n, n, 1, 2, 3, 4, 5, 6, 7, 8, 0x05, 12, 0xFA, 0xFA}
}

func TestDAVEFramesOnlyToDAVEMembers(t *testing.T) {
	srv := newServer(t, WithDAVE(1, false))
	a := newClient(t, srv, 10) // DAVE
	a.join(1, voice.ModeAES256GCMRTPSize)
	a.speak()
	b := newClient(t, srv, 20) // no DAVE
	b.join(0, voice.ModeXChaCha20Poly1305RTPSize)
	b.speak()
	c := newClient(t, srv, 30) // DAVE
	c.join(1, voice.ModeXChaCha20Poly1305RTPSize)
	c.speak()
	waitSpoke(t, srv, 10, 20, 30)
	if a.desc.DAVEProtocolVersion != 1 || b.desc.DAVEProtocolVersion != 0 {
		t.Fatalf("dave versions %d %d", a.desc.DAVEProtocolVersion, b.desc.DAVEProtocolVersion)
	}
	a.sendRTP(daveFrame(1))
	p, ok := c.recvRTP(waitWall)
	if !ok || !bytes.Equal(p.opus, daveFrame(1)) {
		t.Fatalf("c got %+v %v", p, ok)
	}
	// The silence frame is not a DAVE frame: everyone gets it.
	a.sendRTP([]byte{0xF8, 0xFF, 0xFE})
	for _, r := range []*testClient{b, c} {
		p, ok := r.recvRTP(waitWall)
		if !ok || !bytes.Equal(p.opus, []byte{0xF8, 0xFF, 0xFE}) {
			t.Fatalf("user %d got %+v %v (a DAVE frame reached a non-member?)", r.user, p, ok)
		}
	}
	l := srv.Ledger()
	if l.UDP.DAVEWithheld != 1 || len(l.RelayedTo(10, 20)) != 1 || len(l.RelayedTo(10, 30)) != 2 || !l.RelayedTo(10, 30)[0].DAVE {
		t.Fatalf("udp %+v relays %+v", l.UDP, l.Relays)
	}
}

func TestUDPFaults(t *testing.T) {
	srv := newServer(t, WithDAVE(0, false))
	a, b := pair(t, srv, voice.ModeAES256GCMRTPSize, voice.ModeAES256GCMRTPSize, 1, 1)
	if err := srv.Faults().SetUDPReorder(20, 1); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		a.sendRTP([]byte{byte(i)})
	}
	var got []byte
	for range 4 {
		p, ok := b.recvRTP(waitWall)
		if !ok {
			t.Fatal("missing packet")
		}
		got = append(got, p.opus[0])
	}
	if !bytes.Equal(got, []byte{1, 0, 3, 2}) {
		t.Fatalf("reordered arrival %v, want [1 0 3 2]", got)
	}
	_ = srv.Faults().SetUDPReorder(20, 0)
	_ = srv.Faults().SetUDPLoss(20, 1)
	a.sendRTP([]byte{9})
	waitLedger(t, srv, func(l *Ledger) bool { return l.UDP.Lost == 1 })
	_ = srv.Faults().SetUDPLoss(20, 0)
	a.sendRTP([]byte{10})
	if p, ok := b.recvRTP(waitWall); !ok || p.opus[0] != 10 {
		t.Fatalf("after loss got %+v %v", p, ok)
	}
}

func FuzzRelayInput(f *testing.F) {
	for _, v := range transportVectors {
		b, _ := hex.DecodeString(v.hex)
		f.Add(b)
	}
	f.Add(make([]byte, discoveryLen))
	f.Add([]byte{0x81, 201, 0, 7})
	key := make([]byte, 32)
	tr, _ := newTransport(voice.ModeAES256GCMRTPSize, key)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseDiscoveryRequest(b)
		_ = isRTCP(b)
		_ = isDAVEFrame(b)
		if h, ok := parseRTP(b); ok {
			if h.n > len(b) {
				t.Fatalf("header length %d beyond %d", h.n, len(b))
			}
			_, _ = tr.open(nil, b, h)
		}
	})
}
