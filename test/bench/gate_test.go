package bench

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// netDial is a websocket dialer's NetDialContext; nil means the default.
type netDial func(ctx context.Context, network, addr string) (net.Conn, error)

// withNetDial returns a copy of d (or of gorilla's default) that dials through dial. Buffer
// sizes and pools stay the library's own.
func withNetDial(d *websocket.Dialer, dial netDial) *websocket.Dialer {
	if d == nil {
		d = websocket.DefaultDialer
	}
	if dial == nil {
		return d
	}
	c := *d
	c.NetDialContext = dial
	return &c
}

// cordageDialer mirrors the runtime's own default dialer (connections/internal/transport:
// 2048-byte read buffer, 1024-byte write buffer from a shared pool), with a dial hook.
var cordageWritePool = &sync.Pool{}

func cordageDialer(dial netDial) *websocket.Dialer {
	return &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: 30 * time.Second,
		ReadBufferSize:   2048,
		WriteBufferSize:  1024,
		WriteBufferPool:  cordageWritePool,
		NetDialContext:   dial,
	}
}

// gate holds what the server sends in memory until it is released. In the buffered mode of
// BenchmarkEvents the simulator sends the whole batch while the gate is shut; the clock and the
// CPU meter start when it opens, so the client then runs flat out on bytes already in its
// process: the per-core ceiling of its pipeline, not the simulator's compression speed.
type gate struct {
	mu    sync.Mutex
	cond  *sync.Cond
	shut  bool
	total int64 // bytes received from sockets
	conns []*pumpConn
}

func newGate() *gate {
	g := &gate{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *gate) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	p := &pumpConn{Conn: c, g: g}
	g.mu.Lock()
	g.conns = append(g.conns, p)
	g.mu.Unlock()
	go p.pump()
	return p, nil
}

func (g *gate) setShut(shut bool) {
	g.mu.Lock()
	g.shut = shut
	g.mu.Unlock()
	g.cond.Broadcast()
}

func (g *gate) received() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}

// quiet waits until no byte has arrived for d.
func (g *gate) quiet(d time.Duration) {
	prev := g.received()
	for {
		time.Sleep(d)
		n := g.received()
		if n == prev {
			return
		}
		prev = n
	}
}

// pumpConn reads its socket on its own goroutine into memory; Read serves from memory, and
// only while the gate is open.
type pumpConn struct {
	net.Conn
	g   *gate
	buf []byte
	off int
	err error
}

func (p *pumpConn) pump() {
	tmp := make([]byte, 64<<10)
	for {
		n, err := p.Conn.Read(tmp)
		p.g.mu.Lock()
		if n > 0 {
			if p.off > 0 && p.off == len(p.buf) {
				p.buf, p.off = p.buf[:0], 0
			}
			p.buf = append(p.buf, tmp[:n]...)
			p.g.total += int64(n)
		}
		if err != nil {
			p.err = err
		}
		p.g.mu.Unlock()
		p.g.cond.Broadcast()
		if err != nil {
			return
		}
	}
}

func (p *pumpConn) Read(b []byte) (int, error) {
	g := p.g
	g.mu.Lock()
	defer g.mu.Unlock()
	for (g.shut || p.off == len(p.buf)) && p.err == nil {
		g.cond.Wait()
	}
	if p.off < len(p.buf) && !g.shut {
		n := copy(b, p.buf[p.off:])
		p.off += n
		return n, nil
	}
	if p.off < len(p.buf) {
		// shut with an error pending: keep waiting would hang the close path
		n := copy(b, p.buf[p.off:])
		p.off += n
		return n, nil
	}
	return 0, p.err
}

// SetReadDeadline is not honoured while data waits in memory; the libraries use it for
// handshakes and pongs only.
func (p *pumpConn) SetReadDeadline(time.Time) error { return nil }
func (p *pumpConn) SetDeadline(t time.Time) error   { return p.Conn.SetWriteDeadline(t) }
