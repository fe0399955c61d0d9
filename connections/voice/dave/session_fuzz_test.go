package dave

import (
	"encoding/binary"
	"testing"

	"github.com/cordage/cordage/events/voice"
)

// FuzzSessionHandleBinary feeds arbitrary server binary messages to a member of an established
// two-member call. The input is a run of messages, each behind a big-endian u16 length. No
// input may panic; the session must stay usable (it still encrypts and decrypts for the call).
func FuzzSessionHandleBinary(f *testing.F) {
	// Seeds: what a member receives while a third member joins and then leaves, one message per
	// seed and all of them in one.
	var all []byte
	seed := newTestCall(f)
	seed.join(1)
	seed.join(2)
	seed.runFor(10000)
	seed.record = func(to uint64, wire []byte) {
		if to != 1 {
			return
		}
		f.Add(withLength(nil, wire))
		all = withLength(all, wire)
	}
	seed.join(3)
	seed.runFor(10000)
	seed.leave(3)
	seed.runFor(10000)
	f.Add(all)
	f.Add([]byte{})
	f.Add(withLength(nil, []byte{0, 1, 27, 0, 0}))
	f.Add(withLength(nil, []byte{0, 1, 27, 1, 3, 1, 2, 3}))
	f.Add(withLength(nil, []byte{0, 1, 29, 0, 7, 0, 1, 0, 1}))
	f.Add(withLength(nil, []byte{0, 1, 30, 0, 7, 0, 2}))

	f.Fuzz(func(t *testing.T, in []byte) {
		c := newTestCall(t)
		c.join(1)
		c.join(2)
		c.run()
		s := c.session(1)
		for len(in) >= 2 {
			n := int(binary.BigEndian.Uint16(in))
			in = in[2:]
			if n > len(in) {
				n = len(in)
			}
			m, err := voice.ParseServerBinary(in[:n])
			in = in[n:]
			if err != nil {
				continue
			}
			_, _ = s.HandleBinary(m)
		}
		_ = s.Epoch()
		_ = s.PrivacyCode()
		if frame, err := s.Encrypt(nil, []byte("opus")); err == nil {
			_, _ = c.session(2).Decrypt(1, nil, frame)
		}
	})
}

func withLength(dst, msg []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(msg)))
	return append(dst, msg...)
}
