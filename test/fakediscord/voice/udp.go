package voicesim

import (
	"errors"
	"net"
	"net/netip"
	"slices"
)

// readUDP is the UDP goroutine: IP discovery and the SFU relay. It ends when the socket closes.
func (s *Server) readUDP() {
	buf := make([]byte, 2048)
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		pkt := buf[:n]
		s.mu.Lock()
		if ssrc, ok := parseDiscoveryRequest(pkt); ok {
			s.discoveryLocked(ssrc, from)
		} else if len(pkt) == keepAliveLen {
			// A client's UDP keepalive (undocumented; discord.js and Cordage send one every 5 s
			// of silence): counted and echoed, never relayed.
			s.ledger.UDP.KeepAlives++
			_, _ = s.udp.WriteToUDPAddrPort(pkt, from)
		} else if isRTCP(pkt) {
			s.ledger.UDP.RTCP++
		} else {
			s.relayLocked(pkt)
		}
		s.notifyLocked()
		s.mu.Unlock()
	}
}

// keepAliveLen is the size of a UDP keepalive datagram: a 32-bit counter and four zero bytes,
// shorter than any RTP packet.
const keepAliveLen = 8

func (s *Server) discoveryLocked(ssrc uint32, from netip.AddrPort) {
	if s.bySSRC[ssrc] == nil {
		s.ledger.UDP.Unknown++
		return
	}
	s.ledger.UDP.Discoveries++
	reply := appendDiscoveryReply(make([]byte, 0, discoveryLen), ssrc, from.Addr().Unmap().String(), from.Port())
	_, _ = s.udp.WriteToUDPAddrPort(reply, from)
}

// relayExtension is the header extension the relay adds with WithRelayExtension: the RFC 8285
// one-byte preamble for one word, and the word itself (audio level, id 1, one byte, then padding).
var (
	relayExtPreamble = []byte{0xBE, 0xDE, 0x00, 0x01}
	relayExtBody     = []byte{0x10, 0x7F, 0x00, 0x00}
)

// relayLocked opens one RTP packet with its sender's key and seals it again for every other
// member of the call with theirs. The payload (a DAVE frame or plain Opus) is never changed.
func (s *Server) relayLocked(pkt []byte) {
	h, ok := parseRTP(pkt)
	if !ok {
		s.ledger.UDP.Unknown++
		return
	}
	from := s.bySSRC[h.ssrc]
	switch {
	case from == nil:
		s.ledger.UDP.Unknown++
		return
	case from.in == nil:
		s.ledger.UDP.NoKey++
		return
	case !from.spoke:
		s.ledger.UDP.NotSpeaking++
		return
	}
	plain, err := from.in.open(s.plain, pkt, h)
	if err != nil {
		s.ledger.UDP.BadAuth++
		return
	}
	s.plain = plain[:0]
	opus := plain[h.extBody:]
	dave := isDAVEFrame(opus)
	header := pkt[:h.n]
	if s.cfg.relayExtension && !h.ext {
		header = append(slices.Clone(header), relayExtPreamble...)
		header[0] |= 0x10
		plain = append(slices.Clone(relayExtBody), plain...)
	}
	for _, to := range s.othersLocked(from) {
		if to.out == nil || !to.addr.IsValid() {
			continue
		}
		if dave && !to.daveMember() {
			s.ledger.UDP.DAVEWithheld++
			continue
		}
		r := RelayRecord{From: from.user(), To: to.user(), SSRC: h.ssrc, Seq: h.seq, Timestamp: h.ts, Len: len(opus), DAVE: dave}
		out := to.out.seal(make([]byte, 0, len(header)+len(plain)+aeadTagLen+nonceTailLen), header, plain)
		switch {
		case to.udpLoss > 0 && s.rng.Float64() < to.udpLoss:
			r.Fault = "loss"
			s.ledger.UDP.Lost++
		case to.udpReorder > 0 && to.udpHeld == nil && s.rng.Float64() < to.udpReorder:
			r.Fault = "reorder"
			to.udpHeld = out
		default:
			_, _ = s.udp.WriteToUDPAddrPort(out, to.addr)
			s.ledger.UDP.Relayed++
			if held := to.udpHeld; held != nil {
				to.udpHeld = nil
				_, _ = s.udp.WriteToUDPAddrPort(held, to.addr)
				s.ledger.UDP.Relayed++
			}
		}
		s.recordRelayLocked(r)
	}
}

func (s *Server) recordRelayLocked(r RelayRecord) {
	if len(s.ledger.Relays) < s.cfg.relayLimit {
		s.ledger.Relays = append(s.ledger.Relays, r)
	}
}
