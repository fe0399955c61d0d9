package dave

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cordage/cordage/events/voice"
)

var frameKey = [KeyLen]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// Vectors computed independently with Python's cryptography AES-GCM: key 00..0f, 12-byte nonce
// = 8 zero bytes + the 32-bit nonce little-endian, full tag cut to 8 bytes, then the ULEB128
// nonce, the ranges, the supplemental size and FA FA.
const (
	vecOpus0   = "59c795408d8eb09bfb9060737c9cae823cf3aa1d4debe391000cfafa"                   // 10..1f, nonce 0
	vecOpusG1  = "64894937a6d680f5629cab4c57887c1a3f858080080ffafa"                           // "\xfc\xff\xfe hello", nonce 0x01000005
	vecRanges  = "00012a97669680ca0f970a0b0c6b6dbf1b70ae8987c17ff4b43a5826ac0200020a0311fafa" // 00..13, ranges (0,2) (10,3), nonce 300
	opusG1Text = "\xfc\xff\xfe hello"
)

func fixedEncryptor(counter uint64) *Encryptor {
	return &Encryptor{ratchet: NewKeyRatchet([]byte{1}), counter: counter, gen: uint32(counter >> 24), cipher: newFrameCipher(frameKey)}
}

func seq(from, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(from + i)
	}
	return b
}

func TestFrameVectors(t *testing.T) {
	for _, c := range []struct {
		name    string
		counter uint64
		plain   []byte
		want    string
	}{
		{"opus nonce 0", 0, seq(0x10, 16), vecOpus0},
		{"opus generation 1", 0x01000005, []byte(opusG1Text), vecOpusG1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := fixedEncryptor(c.counter).Encrypt(nil, c.plain)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, c.want); !bytes.Equal(got, want) {
				t.Fatalf("\n got %x\nwant %x", got, want)
			}
			f, err := ParseFrame(got)
			if err != nil || f.Nonce != uint32(c.counter) || len(f.Tag) != TagLen || f.HasRanges() {
				t.Fatal(f, err)
			}
			out, ok := newFrameCipher(frameKey).open(nil, &f)
			if !ok || !bytes.Equal(out, c.plain) {
				t.Fatalf("open %x %v", out, ok)
			}
		})
	}
}

func TestFrameRanges(t *testing.T) {
	b := unhex(t, vecRanges)
	f, err := ParseFrame(b)
	if err != nil || f.Nonce != 300 {
		t.Fatal(f, err)
	}
	var rs []Range
	f.EachRange(func(r Range) { rs = append(rs, r) })
	if len(rs) != 2 || rs[0] != (Range{0, 2}) || rs[1] != (Range{10, 3}) {
		t.Fatal(rs)
	}
	c := newFrameCipher(frameKey)
	out, ok := c.open([]byte("pre"), &f)
	if !ok || !bytes.Equal(out, append([]byte("pre"), seq(0, 20)...)) {
		t.Fatalf("%x", out)
	}
	// The unencrypted bytes are authenticated too.
	bad := bytes.Clone(b)
	bad[11] ^= 1 // inside range (10,3)
	f2, _ := ParseFrame(bad)
	if _, ok := c.open(nil, &f2); ok {
		t.Fatal("tampered unencrypted range accepted")
	}
}

func TestFrameTamper(t *testing.T) {
	good, _ := fixedEncryptor(7).Encrypt(nil, seq(0, 40))
	c := newFrameCipher(frameKey)
	for i := range good {
		for _, bit := range []byte{1, 0x80} {
			bad := bytes.Clone(good)
			bad[i] ^= bit
			f, err := ParseFrame(bad)
			if err != nil {
				continue // broke the structure: refused before any crypto
			}
			if out, ok := c.open(nil, &f); ok {
				t.Fatalf("flip %#x at %d accepted: %x", bit, i, out)
			}
		}
	}
	// In place: dst aliases the frame.
	f, _ := ParseFrame(good)
	buf := bytes.Clone(good)
	fb, _ := ParseFrame(buf)
	out, ok := c.open(buf[:0], &fb)
	if !ok || !bytes.Equal(out, seq(0, 40)) {
		t.Fatal("in-place open failed", f.Nonce)
	}
}

func TestParseFrameMalformed(t *testing.T) {
	good := unhex(t, vecOpus0)
	mut := func(i int, v byte) []byte { b := bytes.Clone(good); b[i] = v; return b }
	n := len(good)
	for name, c := range map[string]struct {
		b   []byte
		off int
	}{
		"empty":            {nil, 0},
		"short":            {good[n-11:], 11},
		"no marker":        {mut(n-1, 0xFB), n - 2},
		"half marker":      {mut(n-2, 0x00), n - 2},
		"supp too small":   {mut(n-3, 11), n - 3},
		"supp too big":     {mut(n-3, byte(n+1)), n - 3},
		"nonce truncated":  {mut(n-4, 0x80), n - 4},
		"nonce too wide":   {append(append(bytes.Clone(good[:n-4]), 0x80, 0x80, 0x80, 0x80, 0x10, 16), 0xFA, 0xFA), n - 4},
		"range past body":  {append(append(bytes.Clone(good[:n-3]), 0, 100, 14), 0xFA, 0xFA), n - 3},
		"ranges unordered": {append(append(bytes.Clone(good[:n-3]), 5, 1, 0, 1, 16), 0xFA, 0xFA), n - 1},
		"range truncated":  {append(append(bytes.Clone(good[:n-3]), 5, 13), 0xFA, 0xFA), n - 2},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseFrame(c.b)
			var me *voice.MalformedError
			if !errors.As(err, &me) || me.Decoder != decFrame || me.Offset != c.off {
				t.Fatalf("%v (want offset %d)", err, c.off)
			}
			if IsProtocolFrame(c.b) && len(c.b) < minSupplemental {
				t.Fatal("IsProtocolFrame on a short frame")
			}
		})
	}
	if !IsProtocolFrame(good) || IsProtocolFrame([]byte{0xF8, 0xFF, 0xFE}) {
		t.Fatal("IsProtocolFrame")
	}
}

func TestSilenceNeverEncrypted(t *testing.T) {
	e := NewEncryptor(NewKeyRatchet([]byte("base")))
	out, err := e.Encrypt([]byte{9}, []byte{0xF8, 0xFF, 0xFE})
	if err != nil || !bytes.Equal(out, []byte{9, 0xF8, 0xFF, 0xFE}) || e.NextNonce() != 1 {
		t.Fatal(out, err)
	}
	d := NewDecryptor()
	if out, err := d.Decrypt(nil, []byte{0xF8, 0xFF, 0xFE}, testEpoch); err != nil || !IsSilence(out) {
		t.Fatal(out, err)
	}
}
