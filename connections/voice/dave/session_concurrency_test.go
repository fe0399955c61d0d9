package dave

import (
	"bytes"
	"errors"
	"sync"
	"testing"
)

// Media keeps flowing while the call changes: member 1's send goroutine encrypts, member 2's
// receive goroutine decrypts, and the websocket side (this goroutine) adds and removes members.
// Every frame decrypts, across every transition (the clock does not move, so no previous-epoch
// key expires).
func TestSessionMediaDuringMembershipChanges(t *testing.T) {
	c := newTestCall(t)
	c.join(1)
	c.join(2)
	c.run()
	a, b := c.session(1), c.session(2)

	frames := make(chan []byte, 64)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sent, received int
	var recvErr error
	wg.Go(func() {
		defer close(frames)
		opus := []byte("twenty milliseconds of opus")
		for {
			select {
			case <-stop:
				return
			default:
			}
			f, err := a.Encrypt(nil, opus)
			if err != nil {
				continue
			}
			select {
			case frames <- f:
				sent++
			case <-stop:
				return
			}
		}
	})
	wg.Go(func() {
		dst := make([]byte, 0, 128)
		for f := range frames {
			out, err := b.Decrypt(1, dst[:0], f)
			if err == nil && !bytes.Equal(out, []byte("twenty milliseconds of opus")) {
				err = errors.New("decrypted to other bytes")
			}
			if err != nil && recvErr == nil {
				recvErr = err
			}
			received++
		}
	})

	for round := range 3 {
		id := uint64(10 + round)
		c.join(id)
		c.run()
		c.check()
		_ = a.PrivacyCode()
		_ = b.EpochAuthenticator()
		c.leave(id)
		c.run()
		c.check()
	}
	close(stop)
	wg.Wait()
	c.noErrors()
	if recvErr != nil {
		t.Fatalf("after %d of %d frames: %v", received, sent, recvErr)
	}
	if received == 0 || received != sent {
		t.Fatalf("sent %d frames, received %d", sent, received)
	}
}
