package voice

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections/voice/dave"
	"github.com/cordage/cordage/connections/voice/rtp"
	vgw "github.com/cordage/cordage/events/voice"
)

// FrameDuration is the audio length of one frame Send takes: 20 ms of 48 kHz stereo Opus.
const FrameDuration = 20 * time.Millisecond

const (
	// silenceFrames is how many silence frames end every stretch of audio, so that the
	// receivers' decoders do not interpolate into the gap.
	silenceFrames = 5
	// maxLag is how far behind its schedule the send clock may fall (a stalled machine, a
	// late producer) before it gives up catching up with a burst and restarts the schedule.
	maxLag = 200 * time.Millisecond
	// sendBuf is the capacity of the reused packet buffers; larger frames still work, at the
	// cost of an allocation.
	sendBuf = 8192
)

var silence = []byte{0xF8, 0xFF, 0xFE}

// sender is the state of the sending side that outlives one Send call: RTP sequence and
// timestamp keep counting across pauses, and the buffers are reused.
type sender struct {
	seq      uint16
	ts       uint32
	pkt      []byte
	enc      []byte
	tr       *transport // transport on which speaking was last announced
	speaking bool
	timer    clock.Timer
	lastEnd  time.Time // when the last stretch of audio ended, for the timestamp gap
	encErrs  uint64
}

func (s *sender) init() {
	s.pkt = make([]byte, 0, sendBuf)
	s.enc = make([]byte, 0, sendBuf)
}

// frameState is what waiting for the next frame gave.
type frameState int

const (
	gotFrame frameState = iota
	frameLate
	framesClosed
)

// Send plays frames: pre-encoded 48 kHz stereo Opus, one 20 ms frame per value. It returns nil
// when frames is closed (after the trailing silence), ctx's error when ctx ends, or ErrClosed.
// Only one Send runs at a time (ErrSendBusy otherwise).
//
// Pacing is on absolute deadlines, start + n·20 ms, so timer lateness never accumulates. Op 5
// (speaking) goes out before the first packet of every stretch. When the producer falls silent
// (no frame within one frame period of its slot) or frames closes, five silence frames
// F8 FF FE follow, never DAVE-encrypted, and speaking is cleared until audio resumes. While the
// connection is reconnecting, frames are paced and dropped (counted in Stats.FramesDropped).
//
// The steady path (one frame in, one packet out) allocates nothing.
func (c *Conn) Send(ctx context.Context, frames <-chan []byte) error {
	if !c.sending.CompareAndSwap(false, true) {
		return ErrSendBusy
	}
	defer c.sending.Store(false)
	s := &c.snd
	if s.timer == nil {
		s.timer = c.clk.NewTimer(time.Hour)
		s.timer.Stop()
	}
	for {
		var frame []byte
		var ok bool
		select {
		case frame, ok = <-frames:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.ctx.Done():
			return ErrClosed
		}
		if !ok {
			return nil
		}
		start := c.clk.Now()
		if !s.lastEnd.IsZero() {
			// Keep the RTP clock in step with wall time over the pause.
			s.ts += uint32(start.Sub(s.lastEnd)/FrameDuration) * rtp.TimestampStep
		}
		if tr := c.transport(); tr != nil && c.announce(s, tr) == nil {
			// Speaking travels over TCP, audio over UDP: give op 5 one frame period to reach
			// the server first, or the first packet comes from an SSRC it has not seen speak.
			start = start.Add(FrameDuration)
			if err := c.sleepUntil(ctx, s, start); err != nil {
				c.endStretch(s, false)
				return err
			}
		}
		n := 0
		for {
			c.sendFrame(s, frame, false)
			n++
			dl := start.Add(time.Duration(n) * FrameDuration)
			if err := c.sleepUntil(ctx, s, dl); err != nil {
				c.endStretch(s, false)
				return err
			}
			if now := c.clk.Now(); now.Sub(dl) > maxLag {
				start, n = now, 0
				dl = now
			}
			var st frameState
			var err error
			frame, st, err = c.nextFrame(ctx, s, frames, dl.Add(FrameDuration))
			if err != nil {
				c.endStretch(s, false)
				return err
			}
			if st == gotFrame {
				continue
			}
			if st == frameLate {
				// The slot we waited through carried nothing.
				s.ts += rtp.TimestampStep
				n++
			}
			for i := 0; i < silenceFrames; i++ {
				if i > 0 {
					if err := c.sleepUntil(ctx, s, start.Add(time.Duration(n)*FrameDuration)); err != nil {
						c.endStretch(s, false)
						return err
					}
				}
				c.sendFrame(s, silence, true)
				n++
			}
			c.endStretch(s, true)
			if st == framesClosed {
				return nil
			}
			break
		}
	}
}

// endStretch clears speaking. paced says the silence frames were already sent; otherwise
// (cancellation) they go out at once, if the connection still exists.
func (c *Conn) endStretch(s *sender, paced bool) {
	if !paced && c.ctx.Err() == nil && s.speaking {
		for range silenceFrames {
			c.sendFrame(s, silence, true)
		}
	}
	if s.speaking && s.tr != nil {
		_ = c.writeOp(vgw.OpSpeaking, vgw.Speaking{Speaking: 0, SSRC: s.tr.ssrc})
	}
	s.speaking = false
	s.lastEnd = c.clk.Now()
}

// sleepUntil waits until t on the Conn's clock.
func (c *Conn) sleepUntil(ctx context.Context, s *sender, t time.Time) error {
	d := t.Sub(c.clk.Now())
	if d <= 0 {
		return nil
	}
	s.timer.Reset(d)
	select {
	case <-s.timer.C():
		return nil
	case <-ctx.Done():
		stopTimer(s.timer)
		return ctx.Err()
	case <-c.ctx.Done():
		stopTimer(s.timer)
		return ErrClosed
	}
}

// nextFrame takes the next frame, waiting until by at the latest.
func (c *Conn) nextFrame(ctx context.Context, s *sender, frames <-chan []byte, by time.Time) ([]byte, frameState, error) {
	select {
	case f, ok := <-frames:
		if !ok {
			return nil, framesClosed, nil
		}
		return f, gotFrame, nil
	default:
	}
	d := by.Sub(c.clk.Now())
	if d <= 0 {
		return nil, frameLate, nil
	}
	s.timer.Reset(d)
	select {
	case f, ok := <-frames:
		stopTimer(s.timer)
		if !ok {
			return nil, framesClosed, nil
		}
		return f, gotFrame, nil
	case <-s.timer.C():
		return nil, frameLate, nil
	case <-ctx.Done():
		stopTimer(s.timer)
		return nil, 0, ctx.Err()
	case <-c.ctx.Done():
		stopTimer(s.timer)
		return nil, 0, ErrClosed
	}
}

func stopTimer(t clock.Timer) {
	if !t.Stop() {
		select {
		case <-t.C():
		default:
		}
	}
}

// announce sends op 5 (speaking) unless it is already on for tr: Discord drops audio from an
// SSRC that has not announced speaking.
func (c *Conn) announce(s *sender, tr *transport) error {
	if s.speaking && s.tr == tr {
		return nil
	}
	if err := c.writeOp(vgw.OpSpeaking, vgw.Speaking{Speaking: c.cfg.Speaking, SSRC: tr.ssrc}); err != nil {
		return err
	}
	s.speaking, s.tr = true, tr
	return nil
}

// sendFrame seals one frame and writes it. Failures are counted, never returned: the send
// clock keeps its pace through a reconnect.
func (c *Conn) sendFrame(s *sender, frame []byte, isSilence bool) {
	tr := c.transport()
	if tr == nil || tr.sealer == nil {
		c.stats.framesDropped.Add(1)
		s.seq++
		s.ts += rtp.TimestampStep
		return
	}
	if err := c.announce(s, tr); err != nil {
		c.stats.framesDropped.Add(1)
		s.seq++
		s.ts += rtp.TimestampStep
		return
	}
	payload := frame
	if !isSilence && !dave.IsSilence(frame) {
		if d := c.e2ee(); d != nil && d.ProtocolVersion() > 0 {
			out, err := d.Encrypt(s.enc[:0], frame)
			if err != nil {
				if s.encErrs++; s.encErrs&(s.encErrs-1) == 0 { // 1st, 2nd, 4th, 8th, ...: not per frame
					c.log.Warn("DAVE encrypt failed; frame dropped", zap.Uint64("failures", s.encErrs), zap.Error(err))
				}
				c.stats.framesDropped.Add(1)
				s.seq++
				s.ts += rtp.TimestampStep
				return
			}
			payload = out
		}
	}
	h := rtp.Header{PayloadType: rtp.PayloadTypeOpus, Seq: s.seq, Timestamp: s.ts, SSRC: tr.ssrc}
	pkt := tr.sealer.Seal(s.pkt[:0], &h, payload)
	s.seq++
	s.ts += rtp.TimestampStep
	if _, err := tr.w.Write(pkt); err != nil {
		c.stats.framesDropped.Add(1)
		return
	}
	c.stats.sent.Add(1)
}
