package dave

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cordage/cordage/events/voice"
)

var testEpoch = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// pair is one sender's Encryptor and a receiver's Decryptor on the same base secret.
func pair(base string, now time.Time) (*Encryptor, *Decryptor) {
	d := NewDecryptor()
	d.AddRatchet(NewKeyRatchet([]byte(base)), now)
	return NewEncryptor(NewKeyRatchet([]byte(base))), d
}

func mustEncrypt(t testing.TB, e *Encryptor, p []byte) []byte {
	t.Helper()
	out, err := e.Encrypt(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantKind(t *testing.T, err, kind error) {
	t.Helper()
	var fe *FrameError
	if !errors.As(err, &fe) || !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
}

func TestRoundTripAndReplay(t *testing.T) {
	e, d := pair("k", testEpoch)
	var frames [][]byte
	for i := range 10 {
		frames = append(frames, mustEncrypt(t, e, []byte(fmt.Sprintf("opus %d", i))))
	}
	// Out of order inside the window: 5, 3, 4, then the rest.
	for _, i := range []int{5, 3, 4, 0, 1, 2, 6, 7, 8, 9} {
		out, err := d.Decrypt(nil, frames[i], testEpoch)
		if err != nil || string(out) != fmt.Sprintf("opus %d", i) {
			t.Fatalf("frame %d: %q %v", i, out, err)
		}
	}
	for _, i := range []int{0, 4, 9} {
		_, err := d.Decrypt(nil, frames[i], testEpoch)
		wantKind(t, err, ErrReplay)
	}
	// A nonce that fell out of the missing-nonce window is a replay too.
	e2, d2 := pair("k2", testEpoch)
	old := mustEncrypt(t, e2, []byte("old"))
	e2.counter = MaxMissingNonces + 5
	if _, err := d2.Decrypt(nil, mustEncrypt(t, e2, []byte("new")), testEpoch); err != nil {
		t.Fatal(err)
	}
	_, err := d2.Decrypt(nil, old, testEpoch)
	wantKind(t, err, ErrReplay)
	// Just inside the window still decrypts.
	e3, d3 := pair("k3", testEpoch)
	e3.counter = 10
	inside := mustEncrypt(t, e3, []byte("inside"))
	e3.counter = 10 + MaxMissingNonces
	if _, err := d3.Decrypt(nil, mustEncrypt(t, e3, []byte("new")), testEpoch); err != nil {
		t.Fatal(err)
	}
	if out, err := d3.Decrypt(nil, inside, testEpoch); err != nil || string(out) != "inside" {
		t.Fatal(out, err)
	}
}

func TestWrongKeyAndNoKey(t *testing.T) {
	e, _ := pair("a", testEpoch)
	_, d := pair("b", testEpoch)
	f := mustEncrypt(t, e, []byte("x"))
	_, err := d.Decrypt(nil, f, testEpoch)
	wantKind(t, err, ErrDecrypt)
	// A failed frame does not burn its nonce: the right key still opens it later.
	_, dA := pair("a", testEpoch)
	if _, err := dA.Decrypt(nil, f, testEpoch); err != nil {
		t.Fatal(err)
	}
	_, err = NewDecryptor().Decrypt(nil, f, testEpoch)
	wantKind(t, err, ErrNoKey)
	if _, err := d.Decrypt(nil, []byte("plain opus"), testEpoch); !errors.Is(err, voice.ErrMalformed) {
		t.Fatal(err)
	}
}

// TestGenerationWrap sends one frame per generation, 11 s apart, from generation 0 through 300:
// the 8-bit generation in the nonce wraps at 256 and the receiver follows, each older key
// expiring 10 s after a newer one worked.
func TestGenerationWrap(t *testing.T) {
	now := testEpoch
	e, d := pair("wrap", now)
	// The ratchet-age rule allows generation g after g·2^24/170 s; start far enough in.
	now = now.Add(time.Duration(301<<24/MaxFramesPerSecond+1) * time.Second)
	for g := uint64(0); g <= 300; g++ {
		e.counter = g<<24 | 7
		f := mustEncrypt(t, e, []byte{byte(g)})
		out, err := d.Decrypt(nil, f, now)
		if err != nil || !bytes.Equal(out, []byte{byte(g)}) {
			t.Fatalf("generation %d: %v", g, err)
		}
		now = now.Add(11 * time.Second)
	}
	m := d.keys[0]
	if m.newest != 300 || m.oldest < 299 || len(m.ciphers) > 2 || len(m.ratchet.keys) > 2 {
		t.Fatalf("oldest %d newest %d ciphers %d keys %d", m.oldest, m.newest, len(m.ciphers), len(m.ratchet.keys))
	}
}

func TestGenerationLimits(t *testing.T) {
	start := testEpoch
	late := start.Add(1000 * 24 * time.Hour)

	// Past the max generation gap from the oldest kept generation.
	e, d := pair("gap", start)
	e.counter = uint64(MaxGenerationGap+1) << 24
	_, err := d.Decrypt(nil, mustEncrypt(t, e, []byte("x")), late)
	wantKind(t, err, ErrMissingGeneration)
	e.counter = uint64(MaxGenerationGap) << 24
	if _, err := d.Decrypt(nil, mustEncrypt(t, e, []byte("x")), late); err != nil {
		t.Fatal("generation at the gap limit:", err)
	}

	// More generations than the ratchet's age allows at 170 frames/s.
	e, d = pair("age", start)
	e.counter = 1 << 24
	f := mustEncrypt(t, e, []byte("x"))
	_, err = d.Decrypt(nil, f, start.Add(time.Hour))
	wantKind(t, err, ErrMissingGeneration)
	if _, err := d.Decrypt(nil, f, start.Add(time.Duration(1<<24/MaxFramesPerSecond+1)*time.Second)); err != nil {
		t.Fatal(err)
	}

	// An old generation expires 10 s after a newer one succeeded. The generation-0 frames sit
	// at the end of generation 0, inside the replay window of a generation-1 frame.
	e, d = pair("expire", start)
	e.counter = 1<<24 - 10
	g0a := mustEncrypt(t, e, []byte("a"))
	g0b := mustEncrypt(t, e, []byte("b"))
	g0c := mustEncrypt(t, e, []byte("c"))
	if _, err := d.Decrypt(nil, g0a, late); err != nil {
		t.Fatal(err)
	}
	e.counter = 1 << 24
	if _, err := d.Decrypt(nil, mustEncrypt(t, e, []byte("g1")), late); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decrypt(nil, g0b, late.Add(KeyExpiry)); err != nil {
		t.Fatal("generation 0 within 10 s:", err)
	}
	_, err = d.Decrypt(nil, g0c, late.Add(KeyExpiry+time.Millisecond))
	wantKind(t, err, ErrMissingGeneration)
}

// TestTransition: after a new ratchet arrives, frames from the previous epoch still decrypt for
// KeyExpiry, then stop.
func TestTransition(t *testing.T) {
	now := testEpoch
	eOld, d := pair("epoch1", now)
	eNew := NewEncryptor(NewKeyRatchet([]byte("epoch2")))
	late1 := mustEncrypt(t, eOld, []byte("late 1"))
	late2 := mustEncrypt(t, eOld, []byte("late 2"))
	d.AddRatchet(NewKeyRatchet([]byte("epoch2")), now)
	if out, err := d.Decrypt(nil, mustEncrypt(t, eNew, []byte("new")), now); err != nil || string(out) != "new" {
		t.Fatal(out, err)
	}
	if out, err := d.Decrypt(nil, late1, now.Add(KeyExpiry)); err != nil || string(out) != "late 1" {
		t.Fatal(out, err)
	}
	_, err := d.Decrypt(nil, late2, now.Add(KeyExpiry+time.Millisecond))
	wantKind(t, err, ErrDecrypt)
	if d.Ratchets() != 1 {
		t.Fatalf("%d ratchets held", d.Ratchets())
	}
	// A replay of an old-epoch frame reports a replay, not a decrypt failure.
	d2 := NewDecryptor()
	d2.AddRatchet(NewKeyRatchet([]byte("epoch1")), now)
	e1 := NewEncryptor(NewKeyRatchet([]byte("epoch1")))
	f := mustEncrypt(t, e1, []byte("x"))
	if _, err := d2.Decrypt(nil, f, now); err != nil {
		t.Fatal(err)
	}
	d2.AddRatchet(NewKeyRatchet([]byte("epoch2")), now)
	_, err = d2.Decrypt(nil, f, now)
	wantKind(t, err, ErrReplay)
}

func TestFrameErrorText(t *testing.T) {
	err := error(&FrameError{Kind: ErrReplay, Generation: 3, Nonce: 0x03000001})
	if err.Error() != "dave: replayed frame (generation 3, nonce 50331649)" {
		t.Fatal(err)
	}
}

func TestSteadyPathAllocs(t *testing.T) {
	e, d := pair("allocs", testEpoch)
	opus := bytes.Repeat([]byte{0x55}, 160)
	enc := make([]byte, 0, 512)
	dec := make([]byte, 0, 512)
	var frame []byte
	mustEncrypt(t, e, opus) // first frame derives the generation's key
	if n := testing.AllocsPerRun(500, func() {
		frame, _ = e.Encrypt(enc[:0], opus)
	}); n != 0 {
		t.Errorf("Encrypt: %v allocs/frame", n)
	}
	// Warm up the decryptor's cipher for generation 0, then feed fresh frames.
	frames := make([][]byte, 600)
	for i := range frames {
		frames[i] = mustEncrypt(t, e, opus)
	}
	if _, err := d.Decrypt(dec[:0], frames[0], testEpoch); err != nil {
		t.Fatal(err)
	}
	i := 1
	if n := testing.AllocsPerRun(500, func() {
		if _, err := d.Decrypt(dec[:0], frames[i], testEpoch); err != nil {
			t.Fatal(err)
		}
		i++
	}); n != 0 {
		t.Errorf("Decrypt: %v allocs/frame", n)
	}
	_ = frame
}

func TestPassthrough(t *testing.T) {
	now := testEpoch
	d := NewDecryptor()
	plain := []byte("plain opus")
	if _, err := d.Decrypt(nil, plain, now); !errors.Is(err, voice.ErrMalformed) {
		t.Fatal("passthrough on by default:", err)
	}
	d.SetPassthrough(true, now, 0)
	if out, err := d.Decrypt(nil, plain, now.Add(time.Hour)); err != nil || !bytes.Equal(out, plain) {
		t.Fatal(out, err)
	}
	// Upgrade: plain frames keep passing for the grace period, then stop.
	d.SetPassthrough(false, now, 10*time.Second)
	if _, err := d.Decrypt(nil, plain, now.Add(9*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decrypt(nil, plain, now.Add(10*time.Second)); !errors.Is(err, voice.ErrMalformed) {
		t.Fatal("passthrough after the grace period:", err)
	}
	// A later disable never extends an earlier deadline.
	d.SetPassthrough(false, now.Add(5*time.Second), time.Minute)
	if _, err := d.Decrypt(nil, plain, now.Add(11*time.Second)); err == nil {
		t.Fatal("grace extended")
	}
	// Protocol frames are still decrypted (and checked) while passthrough is on.
	e, d2 := pair("pt", now)
	d2.SetPassthrough(true, now, 0)
	f := mustEncrypt(t, e, []byte("x"))
	f[0] ^= 1
	_, err := d2.Decrypt(nil, f, now)
	wantKind(t, err, ErrDecrypt)
}
