package voice

import (
	"encoding/binary"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
)

const (
	// keepAliveInterval is how often the UDP socket gets a keepalive while no audio goes out.
	// Nothing in Discord's documentation asks for it, but a socket that sends nothing for a
	// while can stop receiving: NATs forget the mapping (some within 30 s), and receiving bots
	// without a keepalive have been reported to go deaf after several minutes. discord.js sends
	// one every 5 s for that reason, and Discord's servers take it.
	keepAliveInterval = 5 * time.Second
	// keepAliveLen is the keepalive datagram's size: a 32-bit little-endian counter and four
	// zero bytes. It is shorter than any RTP packet, so neither side mistakes it for audio, and
	// a server that echoes it back is ignored by the UDP reader.
	keepAliveLen = 8
)

// keepAlive sends a keepalive datagram on tr every keepAliveInterval of the Conn's clock in
// which no audio packet went out: while Send runs, the audio itself keeps the path open, so a
// listening or paused bot sends one datagram per 5 to 10 s and a speaking one sends none. It
// never touches the sender's state (RTP sequence, timestamp, timer), only the socket, whose
// writes are safe beside Send's. It returns when tr closes; t is its armed timer and sent the
// packet count when it was armed.
func (c *Conn) keepAlive(tr *transport, t clock.Timer, sent uint64) {
	defer t.Stop()
	var buf [keepAliveLen]byte
	var n uint32
	for {
		select {
		case <-t.C():
		case <-tr.stop:
			return
		}
		if s := c.stats.sent.Load(); s != sent {
			sent = s // audio went out during the interval
		} else {
			binary.LittleEndian.PutUint32(buf[:4], n)
			n++
			// Counted before the write, so that whoever sees the datagram (or its echo) sees
			// the count too; a failed write takes it back.
			c.stats.keepAlives.Add(1)
			if _, err := tr.w.Write(buf[:]); err != nil {
				c.stats.keepAlives.Add(^uint64(0))
				c.log.Debug("UDP keepalive failed", zap.Error(err))
			}
		}
		t.Reset(keepAliveInterval)
	}
}
