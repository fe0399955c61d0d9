package voice

import (
	"errors"
	"fmt"
	"testing"
	"time"

	vgw "github.com/cordage/cordage/events/voice"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		want *= time.Millisecond
		if lo, hi := b.Delay(n, 0), b.Delay(n, 0.999999); lo != want/2 || hi > want || hi < want*99/100 {
			t.Errorf("attempt %d: delay in [%v, %v], want [%v, %v]", n, lo, hi, want/2, want)
		}
	}
	if d := b.Delay(1000, 0.5); d > time.Second {
		t.Errorf("attempt 1000: %v exceeds the cap", d)
	}
	if d := (Backoff{}).Delay(0, 1); d <= 0 || d > DefaultBackoff.Min {
		t.Errorf("zero Backoff: %v", d)
	}
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[b.jittered(3)] = true
	}
	if len(seen) < 2 {
		t.Error("no jitter")
	}
}

func TestRetryPolicy(t *testing.T) {
	closeErr := func(c vgw.CloseCode) error { return &vgw.CloseError{Code: c} }
	cases := []struct {
		err       error
		canResume bool
		want      action
	}{
		{closeErr(vgw.CloseAbnormal), true, actResume},
		{closeErr(vgw.CloseAbnormal), false, actIdentify},
		{closeErr(vgw.CloseServerCrashed), true, actResume},
		{closeErr(vgw.CloseSessionTimeout), true, actIdentify},
		{closeErr(vgw.CloseSessionInvalid), true, actRejoin},
		{closeErr(vgw.CloseAuthenticationFailed), true, actRejoin},
		{closeErr(vgw.CloseDisconnected), true, actWait},
		{closeErr(vgw.CloseDAVERequired), true, actStop},
		{closeErr(vgw.CloseCallTerminated), true, actStop},
		{ErrHeartbeatTimeout, true, actResume},
		{errors.New("network"), false, actIdentify},
		{ErrNoMode, true, actStop},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.err), func(t *testing.T) {
			p := newRetryPolicy(5)
			if got, _ := p.next(tc.err, tc.canResume); got != tc.want {
				t.Fatalf("%v → %v, want %v", tc.err, got, tc.want)
			}
		})
	}
	// Never forever: any error repeated past the cap stops, and success resets the count.
	p := newRetryPolicy(3)
	for i := range 3 {
		if a, _ := p.next(ErrHeartbeatTimeout, true); a != actResume {
			t.Fatalf("attempt %d: %v", i, a)
		}
	}
	if a, err := p.next(ErrHeartbeatTimeout, true); a != actStop || !errors.Is(err, ErrHeartbeatTimeout) {
		t.Fatalf("past the cap: %v %v", a, err)
	}
	p.success()
	if a, _ := p.next(ErrHeartbeatTimeout, true); a != actResume {
		t.Fatal("success did not reset the count")
	}
	// Codes with their own cap (our bug): one new session, then stop.
	p = newRetryPolicy(10)
	if a, _ := p.next(closeErr(vgw.CloseDecodeError), true); a != actIdentify {
		t.Fatal("4002: no retry")
	}
	var re *RetryError
	if a, err := p.next(closeErr(vgw.CloseDecodeError), true); a != actStop || !errors.As(err, &re) {
		t.Fatalf("4002 twice: %v %v", a, err)
	}
}
