package dave

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cordage/cordage/events/voice"
)

// FuzzParseFrame: any bytes give a frame or a *voice.MalformedError; what parses has its parts
// inside the input and ranges inside the body.
func FuzzParseFrame(f *testing.F) {
	for _, s := range []string{vecOpus0, vecOpusG1, vecRanges} {
		f.Add(unhex(f, s))
	}
	f.Add([]byte{0xF8, 0xFF, 0xFE})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseFrame(b)
		if err != nil {
			var me *voice.MalformedError
			if !errors.As(err, &me) || me.Offset < 0 || me.Offset > len(b) {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		if !IsProtocolFrame(b) {
			t.Fatal("parsed, but IsProtocolFrame is false")
		}
		if len(fr.Tag) != TagLen || len(fr.Body)+TagLen > len(b) {
			t.Fatal("parts out of bounds")
		}
		end := 0
		fr.EachRange(func(r Range) {
			if r.Offset < end || r.Size < 0 || r.Offset+r.Size > len(fr.Body) {
				t.Fatalf("bad range %+v", r)
			}
			end = r.Offset + r.Size
		})
	})
}

// FuzzDecrypt feeds arbitrary frames to a decryptor that holds a key: a value or a typed error,
// never a panic. Seeds are real frames under that key.
func FuzzDecrypt(f *testing.F) {
	e := NewEncryptor(NewKeyRatchet([]byte("fuzz")))
	for _, p := range []string{"a", "opus frame", string(bytes.Repeat([]byte{1}, 300))} {
		b, _ := e.Encrypt(nil, []byte(p))
		f.Add(b)
	}
	f.Add(unhex(f, vecRanges))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecryptor()
		d.AddRatchet(NewKeyRatchet([]byte("fuzz")), testEpoch)
		out, err := d.Decrypt(nil, b, testEpoch)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) && !errors.Is(err, voice.ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(out) > len(b) {
			t.Fatal("plaintext longer than the frame")
		}
		// The same frame twice is a replay (silence is not a protocol frame and passes).
		if _, err := d.Decrypt(nil, b, testEpoch); err == nil && !IsSilence(b) {
			t.Fatal("replay accepted")
		}
	})
}

// FuzzEncryptDecrypt: any Opus payload at any nonce round-trips.
func FuzzEncryptDecrypt(f *testing.F) {
	f.Add([]byte("opus"), uint32(0))
	f.Add([]byte{}, uint32(1<<32-1))
	f.Add([]byte{0xF8, 0xFF, 0xFE}, uint32(5))
	f.Fuzz(func(t *testing.T, p []byte, nonce uint32) {
		e := fixedEncryptor(uint64(nonce))
		frame, err := e.Encrypt(nil, p)
		if err != nil {
			t.Fatal(err)
		}
		if IsSilence(p) {
			if !bytes.Equal(frame, p) {
				t.Fatal("silence was encrypted")
			}
			return
		}
		fr, err := ParseFrame(frame)
		if err != nil || fr.Nonce != nonce {
			t.Fatal(err)
		}
		out, ok := newFrameCipher(frameKey).open(nil, &fr)
		if !ok || !bytes.Equal(out, p) {
			t.Fatal("round trip failed")
		}
	})
}
