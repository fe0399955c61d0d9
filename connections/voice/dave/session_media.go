package dave

import (
	"time"

	"github.com/cordage/cordage/connections/voice/mls"
)

// Media keys of a Session: the encryptor for this member's frames and a decryptor per sender.
// The websocket goroutine installs keys here; the send and receive goroutines only read them.

// passthroughGrace is how long frames that are not protocol frames still play after an upgrade
// to DAVE executes: they were sent before the switch.
const passthroughGrace = KeyExpiry

// passthrough is the receive-side rule for frames that are not DAVE protocol frames: they pass
// while always is set (protocol version 0, or a downgrade is prepared), or until until.
type passthrough struct {
	always bool
	until  time.Time
}

func (p passthrough) allows(now time.Time) bool { return p.always || now.Before(p.until) }

// apply gives d the same rule.
func (p passthrough) apply(d *Decryptor, now time.Time) {
	switch {
	case p.always:
		d.SetPassthrough(true, now, 0)
	case now.Before(p.until):
		d.SetPassthrough(true, now, 0)
		d.SetPassthrough(false, now, p.until.Sub(now))
	default:
		d.SetPassthrough(false, now, 0)
	}
}

// senderKeys is what this member holds to decrypt one other member's frames.
type senderKeys struct {
	dec *Decryptor
	// gone is when the sender stopped being a member of the current group (zero while it is
	// one); its keys keep working for KeyExpiry after that, for frames still in flight.
	gone time.Time
}

// Encrypt appends the frame to send for one Opus frame of this member to dst. At protocol
// version 0 the frame is appended as it is; so is the silence frame F8 FF FE, always. With DAVE
// in effect but no sender key yet (before the first epoch executes, or after a reset) it fails
// with an error matching ErrNoKey and the frame should be dropped: sending it in clear would
// defeat the encryption. With cap(dst)-len(dst) ≥ len(opus)+32 it allocates nothing, except
// once per key generation.
func (s *Session) Encrypt(dst, opus []byte) ([]byte, error) {
	if IsSilence(opus) {
		return append(dst, opus...), nil
	}
	s.send.mu.Lock()
	defer s.send.mu.Unlock()
	if s.send.plain {
		return append(dst, opus...), nil
	}
	if s.send.enc == nil {
		return dst, errNotReady
	}
	return s.send.enc.Encrypt(dst, opus)
}

// Decrypt appends the Opus frame inside userID's frame to dst. The silence frame always passes;
// other frames that are not DAVE protocol frames pass only at protocol version 0, while a
// downgrade is prepared, and for 10 s after an upgrade executes. Frames of the previous epoch
// decrypt for 10 s after the next one is installed. A frame that is not a valid protocol frame
// gives a *voice.MalformedError; one that cannot be decrypted a [*FrameError] (ErrDecrypt,
// ErrReplay, ErrMissingGeneration, or ErrNoKey for a sender this member has no keys for).
// With cap(dst)-len(dst) ≥ len(frame)+16 it allocates nothing on the steady path. dst may be
// frame[:0].
func (s *Session) Decrypt(userID uint64, dst, frame []byte) ([]byte, error) {
	now := s.clock.Now()
	s.recv.mu.Lock()
	defer s.recv.mu.Unlock()
	k := s.recv.senders[userID]
	if k != nil && !k.gone.IsZero() && now.Sub(k.gone) > KeyExpiry {
		delete(s.recv.senders, userID)
		k = nil
	}
	if k != nil {
		return k.dec.Decrypt(dst, frame, now)
	}
	if IsSilence(frame) {
		return append(dst, frame...), nil
	}
	f, err := ParseFrame(frame)
	if err != nil {
		if s.recv.pass.allows(now) {
			return append(dst, frame...), nil
		}
		return dst, err
	}
	return dst, &FrameError{Kind: ErrNoKey, Generation: uint32(f.Generation()), Nonce: f.Nonce}
}

// installReceiveKeys gives every member of g but this one a ratchet for g's epoch, and starts
// the 10 s countdown for senders that are no longer members. Called with s.mu held; the
// exporter work happens before the receive lock is taken.
func (s *Session) installReceiveKeys(g *mls.Group, members []uint64) {
	ratchets := make(map[uint64]*KeyRatchet, len(members))
	for _, id := range members {
		if id == s.userID {
			continue
		}
		ctx := SenderContext(id)
		base, err := g.Export(ExporterLabel, ctx[:], KeyLen)
		if err != nil {
			// Export fails only for lengths out of range, and KeyLen is a constant in range.
			panic("dave: export sender base secret: " + err.Error())
		}
		ratchets[id] = NewKeyRatchet(base)
		clear(base)
	}
	now := s.clock.Now()
	s.recv.mu.Lock()
	defer s.recv.mu.Unlock()
	for id, k := range s.recv.senders {
		if _, ok := ratchets[id]; !ok && k.gone.IsZero() {
			k.gone = now
		}
	}
	for id, r := range ratchets {
		k := s.recv.senders[id]
		if k == nil {
			k = &senderKeys{dec: NewDecryptor()}
			s.recv.pass.apply(k.dec, now)
			s.recv.senders[id] = k
		}
		k.gone = time.Time{}
		k.dec.AddRatchet(r, now)
	}
}

// forgetReceiveKeys starts the 10 s countdown for every sender: the group is gone (a reset).
func (s *Session) forgetReceiveKeys() {
	now := s.clock.Now()
	s.recv.mu.Lock()
	defer s.recv.mu.Unlock()
	for _, k := range s.recv.senders {
		if k.gone.IsZero() {
			k.gone = now
		}
	}
}

// setReceivePassthrough changes the rule for non-protocol frames for every sender: enabled
// (protocol version 0 or a prepared downgrade), or disabled after grace (an upgrade).
func (s *Session) setReceivePassthrough(enabled bool, grace time.Duration) {
	now := s.clock.Now()
	s.recv.mu.Lock()
	defer s.recv.mu.Unlock()
	if enabled {
		s.recv.pass = passthrough{always: true}
	} else {
		until := now.Add(grace)
		if !s.recv.pass.always && until.After(s.recv.pass.until) {
			until = s.recv.pass.until
		}
		s.recv.pass = passthrough{until: until}
	}
	for _, k := range s.recv.senders {
		s.recv.pass.apply(k.dec, now)
	}
}

// switchSend moves this member's frames to t: in clear at version 0, else encrypted with its
// own ratchet of t.group's epoch. The encryptor of an epoch is made once and kept while that
// epoch is current, so its nonces never repeat under one key.
func (s *Session) switchSend(t transition) {
	s.send.mu.Lock()
	keep := t.group != nil && s.send.group == t.group && s.send.enc != nil
	s.send.mu.Unlock()
	var enc *Encryptor
	if t.version > 0 && t.group != nil && !keep {
		ctx := SenderContext(s.userID)
		base, err := t.group.Export(ExporterLabel, ctx[:], KeyLen)
		if err != nil {
			// Export fails only for lengths out of range, and KeyLen is a constant in range.
			panic("dave: export sender base secret: " + err.Error())
		}
		enc = NewEncryptor(NewKeyRatchet(base))
		clear(base)
	}
	s.send.mu.Lock()
	defer s.send.mu.Unlock()
	s.send.plain = t.version == 0
	switch {
	case t.version == 0 || keep:
		// Version 0 keeps the last epoch's encryptor: an upgrade to the same epoch resumes it.
	case enc != nil:
		s.send.enc, s.send.group = enc, t.group
	default:
		s.send.enc, s.send.group = nil, nil
	}
}
