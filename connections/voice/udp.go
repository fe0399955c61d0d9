package voice

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/events"

	"github.com/cordage/cordage/connections/voice/rtp"
	vgw "github.com/cordage/cordage/events/voice"
)

// transport is the UDP side of one voice session: the socket, the SSRC Ready gave us and the
// transport keys from Session Description.
type transport struct {
	conn   *net.UDPConn
	w      io.Writer // conn; unit tests record packets instead
	ssrc   uint32
	mode   vgw.Mode
	sealer *rtp.Sealer // used only inside Send (one at a time)
	opener *rtp.Opener // used only by the receive goroutine
	stop   chan struct{}
	done   chan struct{} // closed when the receive and keepalive goroutines returned (or never started)
}

func (t *transport) key(mode vgw.Mode, key []byte) error {
	s, err := rtp.NewSealer(mode, key)
	if err != nil {
		return err
	}
	o, err := rtp.NewOpener(mode, key)
	if err != nil {
		return err
	}
	t.mode, t.sealer, t.opener = mode, s, o
	return nil
}

// close stops the receive goroutine (if any) and waits for it.
func (t *transport) close() {
	select {
	case <-t.stop:
		return
	default:
	}
	close(t.stop)
	if t.conn != nil {
		_ = t.conn.Close()
	}
	<-t.done
}

// dialUDP opens the socket to the voice server from Ready and runs IP discovery. It returns the
// transport and our external address and port as the server saw them.
func (c *Conn) dialUDP(r vgw.Ready) (*transport, string, uint16, error) {
	ip, err := netip.ParseAddr(r.IP)
	if err != nil {
		return nil, "", 0, vgw.Malformed("voice.Ready", 0, "ip is not an address")
	}
	uc, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, r.Port)))
	if err != nil {
		return nil, "", 0, fmt.Errorf("voice: UDP dial: %w", err)
	}
	tr := &transport{conn: uc, w: uc, ssrc: r.SSRC, stop: make(chan struct{}), done: make(chan struct{})}
	close(tr.done) // no receiver yet; startReceive replaces it
	d, err := c.discover(uc, r.SSRC)
	if err != nil {
		_ = uc.Close()
		return nil, "", 0, err
	}
	return tr, d.Addr.String(), d.Port, nil
}

// discover sends IP discovery requests until a matching response arrives, up to
// DiscoveryAttempts times with DiscoveryTimeout each (UDP may lose either packet).
func (c *Conn) discover(uc *net.UDPConn, ssrc uint32) (rtp.Discovery, error) {
	req := rtp.AppendDiscoveryRequest(make([]byte, 0, rtp.DiscoveryLen), ssrc)
	buf := make([]byte, 1500)
	wait := realDuration(c.clk, c.cfg.DiscoveryTimeout)
	for attempt := 0; attempt < c.cfg.DiscoveryAttempts; attempt++ {
		if c.ctx.Err() != nil {
			return rtp.Discovery{}, c.ctx.Err()
		}
		if _, err := uc.Write(req); err != nil {
			return rtp.Discovery{}, fmt.Errorf("voice: IP discovery: %w", err)
		}
		deadline := time.Now().Add(wait)
		_ = uc.SetReadDeadline(deadline)
		for {
			n, err := uc.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				// ICMP port unreachable and friends: try again after the wait.
				if time.Now().Before(deadline) {
					continue
				}
				break
			}
			d, err := rtp.ParseDiscovery(buf[:n])
			if err != nil || d.Type != rtp.DiscoveryResponse || d.SSRC != ssrc {
				continue // a stray packet; keep waiting for ours
			}
			_ = uc.SetReadDeadline(time.Time{})
			return d, nil
		}
	}
	_ = uc.SetReadDeadline(time.Time{})
	return rtp.Discovery{}, ErrDiscoveryTimeout
}

// setTransport installs tr as the current transport (nil clears it) and closes the old one.
func (c *Conn) setTransport(tr *transport) {
	c.trMu.Lock()
	old := c.tr
	c.tr = tr
	if tr != nil && old == nil {
		close(c.trReady)
	} else if tr == nil && old != nil {
		c.trReady = make(chan struct{})
	}
	c.trMu.Unlock()
	if old != nil && old != tr {
		old.close()
	}
}

// transport returns the current transport, or nil.
func (c *Conn) transport() *transport {
	c.trMu.Lock()
	defer c.trMu.Unlock()
	return c.tr
}

// transportReady returns the current transport and a channel closed once one exists.
func (c *Conn) transportReady() (*transport, <-chan struct{}) {
	c.trMu.Lock()
	defer c.trMu.Unlock()
	return c.tr, c.trReady
}

// maxDatagram is larger than any voice packet Discord sends (Opus ≤ 1275 bytes per frame).
const maxDatagram = 4096

// startReceive starts the transport's two goroutines: the UDP reader and the keepalive. Both
// end when the transport closes; tr.done is closed once both have returned.
func (c *Conn) startReceive(tr *transport) {
	tr.done = make(chan struct{})
	kaDone := make(chan struct{})
	// Armed here, not in the goroutine: the keepalive's schedule starts with the transport.
	ka, sent := c.clk.NewTimer(keepAliveInterval), c.stats.sent.Load()
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		defer close(kaDone)
		c.keepAlive(tr, ka, sent)
	}()
	go func() {
		defer c.wg.Done()
		defer close(tr.done)
		c.receive(tr)
		<-kaDone
	}()
}

// receive reads datagrams until the transport closes. It never waits for the reader of
// Packets: a full channel drops the packet and counts it.
func (c *Conn) receive(tr *transport) {
	r := receiver{c: c, tr: tr, plain: make([]byte, maxDatagram), dec: make([]byte, maxDatagram)}
	buf := make([]byte, maxDatagram)
	for {
		n, err := tr.conn.Read(buf)
		if err != nil {
			select {
			case <-tr.stop:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP unreachable reported on a connected socket
		}
		r.datagram(buf[:n])
		if c.afterDatagram != nil {
			c.afterDatagram()
		}
	}
}

const (
	// maxHeld is how many packets from SSRCs without a speaking event are kept, and holdFor
	// how long: audio and op 5 travel on different sockets, so a speaker's first packets can
	// arrive before the event that says whose they are.
	maxHeld = 64
	holdFor = time.Second
)

// receiver is the UDP reader's state.
type receiver struct {
	c          *Conn
	tr         *transport
	plain, dec []byte
	sl         slab
	held       []heldPacket
	heldVer    uint64
}

// heldPacket is a transport-opened packet waiting for its SSRC's user.
type heldPacket struct {
	hdr     rtp.Header
	payload []byte // still DAVE-encrypted
	at      time.Time
}

func (r *receiver) datagram(b []byte) {
	c := r.c
	if rtp.IsRTCP(b) || len(b) == keepAliveLen {
		return // RTCP, or the server echoing a keepalive: neither is audio nor a failure
	}
	p, err := r.tr.opener.Open(r.plain[:0], b)
	if err != nil {
		c.stats.undecrypt.Add(1)
		return
	}
	if len(r.held) > 0 {
		r.release() // first, so that a speaker's packets stay in order
	}
	if user, ok := c.ssrcs.get(p.Header.SSRC); ok {
		r.deliver(user, &p.Header, p.Payload)
	} else if len(r.held) < maxHeld {
		r.held = append(r.held, heldPacket{hdr: p.Header, payload: append([]byte(nil), p.Payload...), at: c.clk.Now()})
	} else {
		c.stats.unknownSSRC.Add(1)
	}
}

// release delivers held packets whose SSRC has been mapped since, and drops expired ones.
func (r *receiver) release() {
	c := r.c
	ver := c.ssrcs.version()
	now := c.clk.Now()
	if ver == r.heldVer && now.Sub(r.held[0].at) < holdFor {
		return
	}
	r.heldVer = ver
	kept := r.held[:0]
	for _, h := range r.held {
		switch user, ok := c.ssrcs.get(h.hdr.SSRC); {
		case ok:
			r.deliver(user, &h.hdr, h.payload)
		case now.Sub(h.at) >= holdFor:
			c.stats.unknownSSRC.Add(1)
		default:
			kept = append(kept, h)
		}
	}
	clear(r.held[len(kept):])
	r.held = kept
}

// deliver removes DAVE encryption and hands the packet to Packets without waiting.
func (r *receiver) deliver(user events.Snowflake, h *rtp.Header, opus []byte) {
	c := r.c
	if d := c.e2ee(); d != nil {
		out, err := d.Decrypt(uint64(user), r.dec[:0], opus)
		if err != nil {
			c.stats.undecrypt.Add(1)
			c.log.Debug("DAVE decrypt failed", zap.Uint64("user", uint64(user)), zap.Error(err))
			return
		}
		opus = out
	}
	pk := Packet{UserID: user, SSRC: h.SSRC, Seq: h.Seq, Timestamp: h.Timestamp, Opus: r.sl.copy(opus)}
	select {
	case c.packets <- pk:
		c.stats.received.Add(1)
	default:
		c.stats.dropped.Add(1)
	}
}

// slab hands out copies of small byte slices carved from 64 KiB chunks: each packet's Opus is
// owned by the receiver (nothing ever writes that memory again), at one allocation per few
// hundred packets instead of one per packet.
type slab struct{ buf []byte }

const slabSize = 64 << 10

func (s *slab) copy(b []byte) []byte {
	if len(b) > slabSize/4 {
		return append([]byte(nil), b...)
	}
	if cap(s.buf)-len(s.buf) < len(b) {
		s.buf = make([]byte, 0, slabSize)
	}
	n := len(s.buf)
	s.buf = append(s.buf, b...)
	return s.buf[n : n+len(b) : n+len(b)]
}
