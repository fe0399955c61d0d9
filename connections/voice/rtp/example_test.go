package rtp_test

import (
	"bytes"
	"fmt"

	"github.com/cordage/cordage/connections/voice/rtp"
	"github.com/cordage/cordage/events/voice"
)

// Seal an Opus frame for the voice server and open it again, as the receiving side does.
func Example() {
	key := bytes.Repeat([]byte{1}, rtp.KeyLen) // from Session Description
	s, _ := rtp.NewSealer(voice.ModeAES256GCMRTPSize, key)
	o, _ := rtp.NewOpener(voice.ModeAES256GCMRTPSize, key)

	h := rtp.Header{PayloadType: rtp.PayloadTypeOpus, Seq: 1, Timestamp: rtp.TimestampStep, SSRC: 42}
	buf := make([]byte, 0, 1500) // reused for every packet: no allocation per frame
	pkt := s.Seal(buf, &h, []byte{0xF8, 0xFF, 0xFE})
	fmt.Println(len(pkt), "bytes")

	p, err := o.Open(nil, pkt)
	fmt.Println(p.Header.SSRC, p.Header.Seq, p.Nonce, fmt.Sprintf("% X", p.Payload), err)
	// Output:
	// 35 bytes
	// 42 1 0 F8 FF FE <nil>
}

func ExampleParseDiscovery() {
	req := rtp.AppendDiscoveryRequest(nil, 42)
	fmt.Println(len(req))
	d, err := rtp.ParseDiscovery(req)
	fmt.Println(d.Type, d.SSRC, err)
	// Output:
	// 74
	// 1 42 <nil>
}
