package voice

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	vgw "github.com/cordage/cordage/events/voice"
)

// Ogg page layout (RFC 3533 §6): "OggS", version 0, header type, granule position (8),
// serial (4), page sequence (4), CRC (4), segment count (1), segment table, data.
const (
	oggHeaderLen  = 27
	oggContinued  = 0x01
	oggFirstPage  = 0x02
	maxOpusPacket = 1 << 16 // far above the largest Opus packet (≈ 7.7 kB); bounds a hostile file
)

var oggCRCTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

func oggCRC(crc uint32, b []byte) uint32 {
	for _, c := range b {
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^c]
	}
	return crc
}

// OggReader reads the Opus packets of an Ogg/Opus stream (RFC 7845), one 20 ms frame at a
// time, ready for Conn.Send. It follows the first logical stream, checks every page's CRC,
// skips the OpusHead and OpusTags headers and reassembles packets that span pages.
//
// Discord plays 48 kHz stereo Opus in 20 ms frames; Next rejects packets of any other
// duration with ErrFrameDuration (encode with e.g. `opusenc --framesize 20` or ffmpeg's libopus
// default).
type OggReader struct {
	r       *bufio.Reader
	serial  uint32
	started bool // the first page (and its serial) has been read
	headers int  // header packets seen (OpusHead, OpusTags)
	pending []byte
	queue   [][]byte // complete packets of the current page, not yet returned
	hdr     [oggHeaderLen + 255]byte
	page    []byte
	offset  int64 // stream offset of the current page, for errors
	err     error
}

// NewOggReader returns an OggReader on r.
func NewOggReader(r io.Reader) *OggReader {
	return &OggReader{r: bufio.NewReaderSize(r, 16<<10)}
}

// Next returns the next Opus packet, which the caller owns. At the end of the stream it returns
// io.EOF; a damaged stream gives a *voice.MalformedError (decoder "voice.OggReader", offset in
// the stream), a stream that is not Opus or a packet not 20 ms long a descriptive error.
func (o *OggReader) Next() ([]byte, error) {
	for {
		if o.err != nil {
			return nil, o.err
		}
		if len(o.queue) > 0 {
			p := o.queue[0]
			o.queue = o.queue[1:]
			if o.headers < 2 {
				if err := o.header(p); err != nil {
					o.err = err
					return nil, err
				}
				continue
			}
			if err := checkFrameDuration(p); err != nil {
				o.err = err
				return nil, err
			}
			return p, nil
		}
		if err := o.readPage(); err != nil {
			o.err = err
		}
	}
}

func (o *OggReader) header(p []byte) error {
	switch o.headers {
	case 0:
		if len(p) < 19 || !bytes.HasPrefix(p, []byte("OpusHead")) {
			return errors.New("voice: Ogg stream is not Opus (no OpusHead)")
		}
		if p[8]>>4 != 0 { // major version 0 is the only one defined
			return fmt.Errorf("voice: unsupported OpusHead version %d", p[8])
		}
		if p[9] == 0 {
			return errors.New("voice: OpusHead has 0 channels")
		}
	case 1:
		if !bytes.HasPrefix(p, []byte("OpusTags")) {
			return errors.New("voice: Ogg/Opus stream has no OpusTags")
		}
	}
	o.headers++
	return nil
}

func (o *OggReader) malformed(at int, reason string) error {
	return vgw.Malformed("voice.OggReader", int(o.offset)+at, reason)
}

// readPage reads one page and queues its complete packets.
func (o *OggReader) readPage() error {
	h := o.hdr[:oggHeaderLen]
	n, err := io.ReadFull(o.r, h)
	if err != nil {
		if err == io.EOF {
			if len(o.pending) > 0 {
				return o.malformed(0, "stream ends inside a packet")
			}
			if o.headers < 2 {
				return errors.New("voice: Ogg/Opus stream ends before its headers")
			}
			return io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return o.malformed(n, "truncated page header")
		}
		return err
	}
	if !bytes.Equal(h[:4], []byte("OggS")) {
		return o.malformed(0, "missing OggS capture pattern")
	}
	if h[4] != 0 {
		return o.malformed(4, "unknown Ogg version")
	}
	flags := h[5]
	serial := binary.LittleEndian.Uint32(h[14:])
	crc := binary.LittleEndian.Uint32(h[22:])
	nseg := int(h[26])
	seg := o.hdr[oggHeaderLen : oggHeaderLen+nseg]
	if n, err := io.ReadFull(o.r, seg); err != nil {
		return o.malformed(oggHeaderLen+n, "truncated segment table")
	}
	size := 0
	for _, s := range seg {
		size += int(s)
	}
	if cap(o.page) < size {
		o.page = make([]byte, size)
	}
	body := o.page[:size]
	if n, err := io.ReadFull(o.r, body); err != nil {
		return o.malformed(oggHeaderLen+nseg+n, "truncated page body")
	}
	// The CRC covers the whole page with its own field zeroed.
	h[22], h[23], h[24], h[25] = 0, 0, 0, 0
	sum := oggCRC(0, o.hdr[:oggHeaderLen+nseg])
	sum = oggCRC(sum, body)
	if sum != crc {
		return o.malformed(22, "page CRC mismatch")
	}
	pageAt := o.offset
	o.offset += int64(oggHeaderLen + nseg + size)
	if !o.started {
		if flags&oggFirstPage == 0 {
			return vgw.Malformed("voice.OggReader", int(pageAt)+5, "first page is not a beginning-of-stream page")
		}
		o.started, o.serial = true, serial
	} else if serial != o.serial {
		return nil // another logical stream (multiplexed); not ours
	}
	if flags&oggContinued == 0 && len(o.pending) > 0 {
		return vgw.Malformed("voice.OggReader", int(pageAt)+5, "packet not continued on the next page")
	}
	if flags&oggContinued != 0 && len(o.pending) == 0 {
		return vgw.Malformed("voice.OggReader", int(pageAt)+5, "continued page without a packet to continue")
	}
	pos := 0
	for _, s := range seg {
		o.pending = append(o.pending, body[pos:pos+int(s)]...)
		pos += int(s)
		if len(o.pending) > maxOpusPacket {
			return vgw.Malformed("voice.OggReader", int(pageAt), "packet larger than 64 KiB")
		}
		if s < 255 { // a lacing value under 255 ends the packet
			p := make([]byte, len(o.pending))
			copy(p, o.pending)
			o.queue = append(o.queue, p)
			o.pending = o.pending[:0]
		}
	}
	return nil
}

// opusFrameDuration returns the duration of a packet in units of 2.5 ms, from its TOC byte
// (RFC 6716 §3.1), or -1 if the packet is malformed.
func opusFrameDuration(p []byte) int {
	if len(p) == 0 {
		return -1
	}
	toc := p[0]
	cfg := toc >> 3
	var per int // one frame, in 2.5 ms units
	switch {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		per = [4]int{4, 8, 16, 24}[cfg%4]
	case cfg < 16: // hybrid: 10, 20 ms
		per = [2]int{4, 8}[cfg%2]
	default: // CELT: 2.5, 5, 10, 20 ms
		per = [4]int{1, 2, 4, 8}[cfg%4]
	}
	switch toc & 3 {
	case 0:
		return per
	case 1, 2:
		return 2 * per
	default:
		if len(p) < 2 {
			return -1
		}
		return int(p[1]&0x3f) * per
	}
}

func checkFrameDuration(p []byte) error {
	if d := opusFrameDuration(p); d != 8 {
		if d < 0 {
			return vgw.Malformed("voice.OggReader", 0, "empty Opus packet")
		}
		return fmt.Errorf("%w: packet holds %.1f ms", ErrFrameDuration, float64(d)*2.5)
	}
	return nil
}
