package voice

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	vgw "github.com/cordage/cordage/events/voice"
)

// oggWriter builds Ogg streams for tests: packets are laced into pages of at most maxSegs
// segments, so small values force packets across page boundaries.
type oggWriter struct {
	buf     bytes.Buffer
	serial  uint32
	pageSeq uint32
	maxSegs int
	segs    []byte
	body    []byte
	cont    bool // the page being built continues a packet
	first   bool
	granule uint64
}

func newOggWriter(serial uint32, maxSegs int) *oggWriter {
	return &oggWriter{serial: serial, maxSegs: maxSegs, first: true}
}

func (w *oggWriter) packet(p []byte) {
	for {
		n := min(len(p), 255)
		w.segs = append(w.segs, byte(n))
		w.body = append(w.body, p[:n]...)
		p = p[n:]
		last := n < 255
		if len(w.segs) == w.maxSegs {
			w.flush(false)
			w.cont = !last
		}
		if last {
			return
		}
	}
}

func (w *oggWriter) flush(eos bool) {
	if len(w.segs) == 0 && !eos {
		return
	}
	var h [27]byte
	copy(h[:], "OggS")
	if w.cont {
		h[5] |= oggContinued
	}
	if w.first {
		h[5] |= oggFirstPage
		w.first = false
	}
	if eos {
		h[5] |= 0x04
	}
	w.granule += 960
	binary.LittleEndian.PutUint64(h[6:], w.granule)
	binary.LittleEndian.PutUint32(h[14:], w.serial)
	binary.LittleEndian.PutUint32(h[18:], w.pageSeq)
	w.pageSeq++
	h[26] = byte(len(w.segs))
	crc := oggCRC(0, h[:])
	crc = oggCRC(crc, w.segs)
	crc = oggCRC(crc, w.body)
	binary.LittleEndian.PutUint32(h[22:], crc)
	w.buf.Write(h[:])
	w.buf.Write(w.segs)
	w.buf.Write(w.body)
	w.segs, w.body, w.cont = w.segs[:0], w.body[:0], false
}

func opusHead() []byte {
	h := []byte("OpusHead")
	h = append(h, 1, 2)                          // version, channels
	h = binary.LittleEndian.AppendUint16(h, 312) // pre-skip
	h = binary.LittleEndian.AppendUint32(h, 48000)
	h = append(h, 0, 0, 0) // gain, mapping family
	return h
}

func opusTags() []byte {
	t := []byte("OpusTags")
	t = binary.LittleEndian.AppendUint32(t, 7)
	t = append(t, "cordage"...)
	return binary.LittleEndian.AppendUint32(t, 0)
}

// celt20 is a 20 ms CELT packet (TOC config 31, code 0) of n bytes, filled with b.
func celt20(n int, b byte) []byte {
	p := bytes.Repeat([]byte{b}, n)
	p[0] = 31<<3 | 0
	return p
}

func oggStream(maxSegs int, packets ...[]byte) []byte {
	w := newOggWriter(0x1234, maxSegs)
	w.packet(opusHead())
	w.flush(false)
	w.packet(opusTags())
	w.flush(false)
	for _, p := range packets {
		w.packet(p)
	}
	w.flush(true)
	return w.buf.Bytes()
}

func readAll(r *OggReader) ([][]byte, error) {
	var out [][]byte
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
}

func TestOggReaderPackets(t *testing.T) {
	packets := [][]byte{celt20(1, 0), celt20(160, 1), celt20(255, 2), celt20(510, 3), celt20(600, 4), celt20(3, 5)}
	for _, maxSegs := range []int{255, 3, 1} {
		got, err := readAll(NewOggReader(bytes.NewReader(oggStream(maxSegs, packets...))))
		if err != nil {
			t.Fatalf("maxSegs %d: %v", maxSegs, err)
		}
		if len(got) != len(packets) {
			t.Fatalf("maxSegs %d: %d packets, want %d", maxSegs, len(got), len(packets))
		}
		for i := range packets {
			if !bytes.Equal(got[i], packets[i]) {
				t.Fatalf("maxSegs %d: packet %d differs (len %d, want %d)", maxSegs, i, len(got[i]), len(packets[i]))
			}
		}
	}
}

func TestOggReaderOtherStreamIgnored(t *testing.T) {
	s := oggStream(255, celt20(10, 1), celt20(10, 2))
	other := newOggWriter(0x9999, 255)
	other.packet([]byte("not ours at all"))
	other.flush(false)
	// Put the foreign page after the headers (pages are self-delimiting).
	head := oggStream(255)
	headLen := len(head) - 27 // the empty EOS page at the end of head
	mixed := append(append(append([]byte{}, s[:headLen]...), other.buf.Bytes()...), s[headLen:]...)
	got, err := readAll(NewOggReader(bytes.NewReader(mixed)))
	if err != nil || len(got) != 2 {
		t.Fatalf("got %d packets, err %v", len(got), err)
	}
}

func TestOggReaderErrors(t *testing.T) {
	good := oggStream(255, celt20(100, 1))
	crc := append([]byte(nil), good...)
	crc[len(crc)-1] ^= 0xFF
	var silk40 = celt20(10, 1)
	silk40[0] = 2 << 3 // SILK 40 ms
	twoFrames := celt20(10, 1)
	twoFrames[0] = 31<<3 | 1 // two 20 ms frames: 40 ms
	notOpus := newOggWriter(1, 255)
	notOpus.packet([]byte("\x01vorbis...."))
	notOpus.flush(true)
	cases := []struct {
		name      string
		in        []byte
		malformed bool
		is        error
	}{
		{"crc", crc, true, nil},
		{"truncated header", good[:len(good)-len(celt20(100, 1))-20], true, nil},
		{"truncated body", good[:len(good)-10], true, nil},
		{"garbage", []byte("this is not an ogg file at all, not even close"), true, nil},
		{"empty", nil, false, nil},
		{"not opus", notOpus.buf.Bytes(), false, nil},
		{"40 ms silk", oggStream(255, silk40), false, ErrFrameDuration},
		{"2×20 ms", oggStream(255, twoFrames), false, ErrFrameDuration},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewOggReader(bytes.NewReader(tc.in))
			_, err := readAll(r)
			if err == nil {
				t.Fatal("no error")
			}
			var me *vgw.MalformedError
			if tc.malformed && (!errors.As(err, &me) || me.Decoder != "voice.OggReader") {
				t.Fatalf("err = %v, want a MalformedError from voice.OggReader", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if _, again := r.Next(); again != err {
				t.Fatalf("error did not stick: %v then %v", err, again)
			}
		})
	}
	if _, err := readAll(NewOggReader(bytes.NewReader(crc))); err != nil {
		var me *vgw.MalformedError
		if errors.As(err, &me) && me.Offset <= 0 {
			t.Fatalf("crc error offset %d, want the failing page's CRC field", me.Offset)
		}
	}
}

func TestOpusFrameDuration(t *testing.T) {
	cases := map[byte]int{ // TOC → 2.5 ms units
		0<<3 | 0: 4, 1<<3 | 0: 8, 3<<3 | 0: 24, 13<<3 | 0: 8, 12<<3 | 0: 4,
		16<<3 | 0: 1, 19<<3 | 0: 8, 19<<3 | 1: 16, 19<<3 | 2: 16,
	}
	for toc, want := range cases {
		if got := opusFrameDuration([]byte{toc, 0}); got != want {
			t.Errorf("TOC %#x: %d, want %d", toc, got, want)
		}
	}
	if got := opusFrameDuration([]byte{17<<3 | 3, 4}); got != 8 { // 4 × 5 ms
		t.Errorf("code 3: %d", got)
	}
	if opusFrameDuration(nil) != -1 || opusFrameDuration([]byte{3}) != -1 {
		t.Error("malformed packets not rejected")
	}
}

var update = flag.Bool("update", false, "rewrite testdata/tone.opus")

// TestTestdataOgg keeps testdata/tone.opus (used by the Example) readable: 50 packets of
// 20 ms, laced across pages.
func TestTestdataOgg(t *testing.T) {
	path := filepath.Join("testdata", "tone.opus")
	if *update {
		var packets [][]byte
		for i := range 50 {
			p := celt20(40+i, byte(i))
			packets = append(packets, p)
		}
		if err := os.WriteFile(path, oggStream(32, packets...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := readAll(NewOggReader(f))
	if err != nil || len(got) != 50 {
		t.Fatalf("%d packets, err %v", len(got), err)
	}
}

func FuzzOggReader(f *testing.F) {
	f.Add(oggStream(255, celt20(100, 1), celt20(300, 2)))
	f.Add(oggStream(1, celt20(600, 3)))
	f.Add([]byte("OggS"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewOggReader(bytes.NewReader(b))
		for range 1000 {
			p, err := r.Next()
			if err != nil {
				return
			}
			if len(p) > maxOpusPacket || len(p) > len(b) {
				t.Fatalf("packet of %d bytes from %d bytes of input", len(p), len(b))
			}
		}
	})
}
