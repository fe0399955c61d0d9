package dave

import (
	"testing"
)

// benchFrame is a typical 20 ms Opus frame size at voice bitrates.
const benchFrameLen = 160

func benchCall(tb testing.TB) (a, b *Session) {
	c := newTestCall(tb)
	c.join(1)
	c.join(2)
	c.run()
	return c.session(1), c.session(2)
}

func TestSessionSteadyStateAllocs(t *testing.T) {
	a, b := benchCall(t)
	opus := make([]byte, benchFrameLen)
	enc := make([]byte, 0, benchFrameLen+32)
	dec := make([]byte, 0, benchFrameLen+32)
	// Warm up: the first frame derives generation 0's key on both sides.
	frame, _ := a.Encrypt(enc[:0], opus)
	if _, err := b.Decrypt(1, dec[:0], frame); err != nil {
		t.Fatal(err)
	}
	var err error
	allocs := testing.AllocsPerRun(1000, func() {
		frame, err = a.Encrypt(enc[:0], opus)
		if err == nil {
			_, err = b.Decrypt(1, dec[:0], frame)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if allocs != 0 {
		t.Fatalf("%.1f allocations per frame encrypted and decrypted", allocs)
	}
}

func BenchmarkSessionEncrypt(b *testing.B) {
	a, _ := benchCall(b)
	opus := make([]byte, benchFrameLen)
	dst := make([]byte, 0, benchFrameLen+32)
	if _, err := a.Encrypt(dst, opus); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchFrameLen)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Encrypt(dst[:0], opus); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSessionDecrypt(b *testing.B) {
	a, r := benchCall(b)
	opus := make([]byte, benchFrameLen)
	const batch = 4096
	frames := make([][]byte, batch)
	for i := range frames {
		frames[i] = make([]byte, 0, benchFrameLen+32)
	}
	fill := func() {
		for i := range frames {
			f, err := a.Encrypt(frames[i][:0], opus)
			if err != nil {
				b.Fatal(err)
			}
			frames[i] = f
		}
	}
	dst := make([]byte, 0, benchFrameLen+32)
	b.SetBytes(benchFrameLen)
	b.ReportAllocs()
	b.StopTimer()
	fill()
	b.StartTimer()
	i := 0
	for b.Loop() {
		if i == batch {
			b.StopTimer()
			fill()
			i = 0
			b.StartTimer()
		}
		if _, err := r.Decrypt(1, dst[:0], frames[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
