package rtp

import (
	"bytes"
	"encoding/binary"
	"net/netip"

	"github.com/cordage/cordage/events/voice"
)

// IP discovery packet: type u16 · length u16 (= 70) · ssrc u32 · address [64]byte · port u16,
// all big-endian. The client sends a request with a zero address; the voice server answers with
// the client's external address as NUL-terminated text and its port.
const (
	DiscoveryLen      = 74
	DiscoveryRequest  = 1
	DiscoveryResponse = 2

	discoveryBodyLen = 70
	discoveryAddrLen = 64
)

// Discovery is one IP discovery packet.
type Discovery struct {
	Type uint16 // DiscoveryRequest or DiscoveryResponse
	SSRC uint32
	Addr netip.Addr // invalid (zero) in a request
	Port uint16
}

// AppendDiscoveryRequest appends the 74-byte request for ssrc.
func AppendDiscoveryRequest(dst []byte, ssrc uint32) []byte {
	return appendDiscovery(dst, DiscoveryRequest, ssrc, "", 0)
}

// AppendDiscoveryResponse appends the 74-byte response a voice server sends (the simulator's
// side). addr must be valid.
func AppendDiscoveryResponse(dst []byte, ssrc uint32, addr netip.Addr, port uint16) []byte {
	return appendDiscovery(dst, DiscoveryResponse, ssrc, addr.Unmap().String(), port)
}

func appendDiscovery(dst []byte, typ uint16, ssrc uint32, addr string, port uint16) []byte {
	dst = binary.BigEndian.AppendUint16(dst, typ)
	dst = binary.BigEndian.AppendUint16(dst, discoveryBodyLen)
	dst = binary.BigEndian.AppendUint32(dst, ssrc)
	var a [discoveryAddrLen]byte
	copy(a[:discoveryAddrLen-1], addr) // an IPv6 text form is at most 45 bytes; NUL stays
	dst = append(dst, a[:]...)
	return binary.BigEndian.AppendUint16(dst, port)
}

const decDiscovery = "rtp.ParseDiscovery"

// ParseDiscovery decodes a request or a response. A response must carry a NUL-terminated IP
// address; a request's address field must be all zero.
func ParseDiscovery(b []byte) (Discovery, error) {
	if len(b) != DiscoveryLen {
		return Discovery{}, voice.Malformed(decDiscovery, min(len(b), DiscoveryLen), "not 74 bytes")
	}
	d := Discovery{Type: binary.BigEndian.Uint16(b), SSRC: binary.BigEndian.Uint32(b[4:]),
		Port: binary.BigEndian.Uint16(b[72:])}
	if d.Type != DiscoveryRequest && d.Type != DiscoveryResponse {
		return Discovery{}, voice.Malformed(decDiscovery, 0, "unknown type")
	}
	if binary.BigEndian.Uint16(b[2:]) != discoveryBodyLen {
		return Discovery{}, voice.Malformed(decDiscovery, 2, "length is not 70")
	}
	field := b[8:72]
	end := bytes.IndexByte(field, 0)
	if end < 0 {
		return Discovery{}, voice.Malformed(decDiscovery, 71, "address not NUL-terminated")
	}
	if d.Type == DiscoveryRequest {
		if end != 0 {
			return Discovery{}, voice.Malformed(decDiscovery, 8, "request carries an address")
		}
		return d, nil
	}
	a, err := netip.ParseAddr(string(field[:end]))
	if err != nil || a.Zone() != "" {
		return Discovery{}, voice.Malformed(decDiscovery, 8, "address is not an IP address")
	}
	d.Addr = a
	return d, nil
}
