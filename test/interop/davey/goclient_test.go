package davey

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/connections/voice"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
	voicesim "github.com/cordage/cordage/test/fakediscord/voice"
)

// numbered is the frame peer.mjs sends as number n (see its header): an Opus TOC byte, 'N', the
// number, and filler.
func numbered(n int) []byte {
	b := make([]byte, 26)
	for i := range b {
		b[i] = byte(n)
	}
	b[0], b[1] = 0xFC, 0x4E
	binary.BigEndian.PutUint32(b[2:], uint32(n))
	return b
}

// writeGate holds the Go client's websocket writes while it is shut, so that a test can make
// a davey peer's commit reach the server first (the Go client commits as fast as it can and has
// no knob to wait). Reads are never held, so the client still sees everything the server sends.
type writeGate struct {
	mu   sync.Mutex
	open chan struct{} // closed while writes may pass
}

func newWriteGate() *writeGate {
	g := &writeGate{open: make(chan struct{})}
	close(g.open)
	return g
}

func (g *writeGate) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
		g.open = make(chan struct{})
	default:
	}
}

func (g *writeGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
	default:
		close(g.open)
	}
}

func (g *writeGate) wait() {
	g.mu.Lock()
	ch := g.open
	g.mu.Unlock()
	<-ch
}

type gatedConn struct {
	net.Conn
	g *writeGate
}

func (c gatedConn) Write(b []byte) (int, error) {
	c.g.wait()
	return c.Conn.Write(b)
}

// goRecv is what the Go client received from one sender since the last reset.
type goRecv struct {
	seen    map[int]int // frame number → times received
	silence int
	other   int
}

// goClient is Cordage's voice runtime joined to the call through the gateway simulator: a bot
// connected with connections.ConnectBot, a voice.Manager fed from its out channel, and one
// voice.Conn whose packets are tallied.
type goClient struct {
	t              *testing.T
	id             events.Snowflake
	guild, channel events.Snowflake
	gate           *writeGate
	vs             *voicesim.Server
	m              *voice.Manager
	bot            *connections.Conn
	conn           *voice.Conn
	cancel         context.CancelFunc
	wg             sync.WaitGroup
	next           int    // number of the next frame to send
	peerMode       string // transport mode joinPeer gives peers ("": AES-256-GCM)

	mu      sync.Mutex
	got     map[events.Snowflake]*goRecv
	changed chan struct{}
	// daveMoved is closed (and replaced) at every DAVEChanged event of the Conn: its DAVE
	// version or epoch moved.
	daveMoved chan struct{}
}

// startGoClient starts the gateway simulator wired to vs, connects a bot to it, and joins a
// voice channel with Cordage's voice runtime.
func startGoClient(t *testing.T, vs *voicesim.Server) *goClient {
	t.Helper()
	gw := fakediscord.NewTest(t, fakediscord.WithGuilds(1), fakediscord.WithVoiceServer(vs))
	guild := gw.Guilds()[0]
	ctx, cancel := context.WithCancel(context.Background())
	c := &goClient{t: t, id: gw.BotUser().ID, guild: guild, channel: guild + 77, gate: newWriteGate(),
		vs: vs, cancel: cancel, got: map[events.Snowflake]*goRecv{}, changed: make(chan struct{}), daveMoved: make(chan struct{})}
	t.Cleanup(c.close)

	out := make(chan connections.Event, 256)
	bot, err := connections.ConnectBot(ctx, gw.Token(), out, connections.WithAPIURL(gw.RESTURL()),
		connections.WithIntents(events.IntentGuilds|events.IntentGuildVoiceStates))
	if err != nil {
		t.Fatalf("connect bot: %v", err)
	}
	c.bot = bot
	dialer := *websocket.DefaultDialer
	dialer.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return gatedConn{Conn: conn, g: c.gate}, nil
	}
	c.m = voice.NewManager(ctx, bot, voice.Config{UserID: c.id, Insecure: true, Dialer: &dialer})

	allReady := make(chan struct{})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ready := false
		for {
			select {
			case ev := <-out:
				if c.m.Handle(ev) {
					continue
				}
				if ev.Kind == connections.KindConnectedAllShards && !ready {
					ready = true
					close(allReady)
				}
			case <-bot.Done():
				return
			}
		}
	}()
	select {
	case <-allReady:
	case <-time.After(stepWait):
		t.Fatal("bot not connected to the gateway simulator")
	}

	c.join()
	return c
}

// join joins the call with the Manager and starts tallying the new Conn's packets.
func (c *goClient) join() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepWait)
	defer cancel()
	conn, err := c.m.Join(ctx, voice.JoinConfig{GuildID: c.guild, ChannelID: c.channel})
	if err != nil {
		c.t.Fatalf("voice join: %v", err)
	}
	if v := conn.DAVEProtocolVersion(); v != 1 {
		c.t.Fatalf("Go client negotiated DAVE version %d, want 1", v)
	}
	c.conn = conn
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		for p := range conn.Packets() {
			c.record(p)
		}
	}()
	go func() {
		defer c.wg.Done()
		for ev := range conn.Events() {
			if _, ok := ev.(voice.DAVEChanged); ok {
				c.mu.Lock()
				close(c.daveMoved)
				c.daveMoved = make(chan struct{})
				c.mu.Unlock()
			}
		}
	}()
}

// daveNext returns a channel closed at the Go client's next DAVEChanged event. Take it before
// looking at the Conn's DAVE state, so that a change after the look still wakes the caller.
func (c *goClient) daveNext() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.daveMoved
}

// waitDAVE waits until ok holds, looking again at every DAVEChanged event of the Go client,
// for at most stepWait; what describes the condition for the failure message.
func (c *goClient) waitDAVE(what string, ok func() bool) {
	c.t.Helper()
	deadline := time.After(stepWait)
	for {
		ch := c.daveNext()
		if ok() {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			c.t.Fatalf("Go client: no %s within %v (DAVE version %d, authenticator %s)", what, stepWait, c.conn.DAVEProtocolVersion(), c.auth())
		}
	}
}

// leave closes the Go client's voice connection, which leaves the channel (op 4 with no
// channel) and waits for its goroutines.
func (c *goClient) leave() {
	c.t.Helper()
	if err := c.conn.Close(); err != nil {
		c.t.Fatalf("voice Conn.Close: %v", err)
	}
}

// joinPeer starts a davey peer as user id in the Go client's call, with commit mode mode ("" is
// eager), and waits until it has negotiated DAVE.
func (c *goClient) joinPeer(node string, id events.Snowflake, mode string) *member {
	c.t.Helper()
	m := &member{p: joinPeerIn(c.t, node, c.vs, c.guild, c.channel, id, peerConfig{CommitMode: mode, Mode: c.peerMode}), id: id}
	m.p.waitFor(stepWait, "session", func(e peerEvent) bool { return e.DAVE == 1 })
	return m
}

func (c *goClient) close() {
	c.gate.release()
	if c.m != nil {
		_ = c.m.Close()
	}
	if c.bot != nil {
		_ = c.bot.Close()
	}
	c.cancel()
	c.wg.Wait()
}

func (c *goClient) record(p voice.Packet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.got[p.UserID]
	if r == nil {
		r = &goRecv{seen: map[int]int{}}
		c.got[p.UserID] = r
	}
	switch {
	case len(p.Opus) == 3 && p.Opus[0] == 0xF8 && p.Opus[1] == 0xFF && p.Opus[2] == 0xFE:
		r.silence++
	case len(p.Opus) == 26 && p.Opus[0] == 0xFC && p.Opus[1] == 0x4E:
		r.seen[int(binary.BigEndian.Uint32(p.Opus[2:]))]++
	default:
		r.other++
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *goClient) reset() {
	c.mu.Lock()
	clear(c.got)
	c.mu.Unlock()
}

// send sends n numbered frames through voice.Conn.Send, which paces them on the 20 ms clock,
// DAVE-encrypts them and ends with five silence frames.
func (c *goClient) send(ctx context.Context, first, n int) error {
	frames := make(chan []byte, n)
	for i := range n {
		frames <- numbered(first + i)
	}
	close(frames)
	return c.conn.Send(ctx, frames)
}

// waitFrom waits until the Go client has received frames [first, first+n) from user, or five
// silence frames after them, and checks the frames came exactly once.
func (c *goClient) waitFrom(user events.Snowflake, first, n int) {
	c.t.Helper()
	deadline := time.After(stepWait)
	for {
		c.mu.Lock()
		r, ch := c.got[user], c.changed
		done := r != nil && (len(r.seen) >= n || r.silence >= 5)
		var seen map[int]int
		var silence, other int
		if r != nil {
			seen, silence, other = maps(r.seen), r.silence, r.other
		}
		c.mu.Unlock()
		if done {
			for i := first; i < first+n; i++ {
				if seen[i] != 1 {
					c.t.Errorf("Go client got frame %d from %d %d times, want once (%d frames, %d silence, %d other; stats %+v)",
						i, user, seen[i], len(seen), silence, other, c.conn.Stats())
					return
				}
			}
			if len(seen) != n || other != 0 {
				c.t.Errorf("Go client got %d distinct frames and %d unknown payloads from %d, want %d and 0", len(seen), other, user, n)
			}
			return
		}
		select {
		case <-ch:
		case <-deadline:
			c.t.Fatalf("Go client: frames %d..%d from %d did not arrive within %v (got %d; stats %+v)", first, first+n-1, user, stepWait, len(seen), c.conn.Stats())
		}
	}
}

// count is how many distinct numbered frames the Go client has from user since the last reset.
func (c *goClient) count(user events.Snowflake) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.got[user]; r != nil {
		return len(r.seen)
	}
	return 0
}

// waitCount waits until the Go client has n distinct numbered frames from user.
func (c *goClient) waitCount(user events.Snowflake, n int) {
	c.t.Helper()
	c.waitUntil(func(r *goRecv) bool { return len(r.seen) >= n }, "frames from %d", user)
}

// waitSilence waits until the Go client has had five silence frames from user: a stretch ended.
func (c *goClient) waitSilence(user events.Snowflake) {
	c.t.Helper()
	c.waitUntil(func(r *goRecv) bool { return r.silence >= 5 }, "silence from %d", user)
}

func (c *goClient) waitUntil(ok func(*goRecv) bool, what string, user events.Snowflake) {
	c.t.Helper()
	deadline := time.After(stepWait)
	for {
		c.mu.Lock()
		r, ch := c.got[user], c.changed
		done := r != nil && ok(r)
		c.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			c.t.Fatalf("Go client: no "+what+" within %v (stats %+v)", user, stepWait, c.conn.Stats())
		}
	}
}

func maps(m map[int]int) map[int]int {
	c := make(map[int]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// auth is the Go client's epoch authenticator in hex.
func (c *goClient) auth() string { return hex.EncodeToString(c.conn.EpochAuthenticator()) }

// waitAuth waits until the Go client's epoch authenticator is want, on the Conn's DAVEChanged
// events; the bound is stepWait.
func (c *goClient) waitAuth(want string) {
	c.t.Helper()
	c.waitDAVE("epoch authenticator "+want, func() bool { return c.auth() == want })
}

// agree waits until the peers ms are in one DAVE group at epoch with size members and the Go
// client holds the same epoch authenticator, which it returns.
func (c *goClient) agree(epoch uint64, size int, ms ...*member) string {
	c.t.Helper()
	auth := waitEpochOf(c.t, epoch, size, ms...)
	c.waitAuth(auth)
	return auth
}

// goClientWithPeer starts the voice simulator, the Go client and one davey peer (id, commit
// mode), and waits until the two share a DAVE group at epoch 1.
func goClientWithPeer(t *testing.T, id events.Snowflake, mode string) (node string, vs *voicesim.Server, g *goClient, p *member) {
	t.Helper()
	node = requireNode(t)
	vs = newServer(t)
	g = startGoClient(t, vs)
	p = g.joinPeer(node, id, mode)
	g.agree(1, 2, p)
	return node, vs, g, p
}

// mixedBurst has the Go client and every peer send a burst of numbered frames at once, and
// checks that everyone got everyone else's, DAVE-encrypted, exactly once.
func mixedBurst(t *testing.T, g *goClient, ms ...*member) {
	t.Helper()
	mixedBurstDAVE(t, g, true, ms...)
}

// mixedBurstDAVE is mixedBurst; dave says whether the frames must come DAVE-encrypted (true)
// or plain (false, after a downgrade).
func mixedBurstDAVE(t *testing.T, g *goClient, dave bool, ms ...*member) {
	t.Helper()
	g.reset()
	undecrypt := g.conn.Stats().PacketsUndecrypt
	for _, m := range ms {
		m.p.setMark()
		m.p.command(map[string]any{"cmd": "reset"})
		m.p.waitFor(stepWait, "reset", nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stepWait)
	defer cancel()
	sent := make(chan error, 1)
	go func() { sent <- g.send(ctx, g.next, frames) }()
	for _, m := range ms {
		m.p.command(map[string]any{"cmd": "send", "count": frames})
	}
	if err := <-sent; err != nil {
		t.Fatalf("Go client Send: %v", err)
	}
	for _, m := range ms {
		m.p.waitFor(stepWait, "sent", func(e peerEvent) bool { return e.Last == m.next+frames-1 })
	}
	for _, to := range ms {
		to.p.waitFor(stepWait, "silence", silenceFrom(g.id))
		for _, from := range ms {
			if from != to {
				to.p.waitFor(stepWait, "silence", silenceFrom(from.id))
			}
		}
	}
	for _, from := range ms {
		g.waitFrom(from.id, from.next, frames)
	}
	for _, to := range ms {
		checkReceived(t, to.p, g.id, g.next, frames, dave)
		for _, from := range ms {
			if from != to {
				checkReceived(t, to.p, from.id, from.next, frames, dave)
			}
		}
	}
	if d := g.conn.Stats().PacketsUndecrypt - undecrypt; d != 0 {
		t.Errorf("Go client: %d packets failed to decrypt during the burst", d)
	}
	if t.Failed() {
		t.Logf("relay counters: %+v", g.vs.Ledger().UDP)
	}
	g.next += frames
	for _, m := range ms {
		m.next += frames
	}
}

// TestGoClientAndPeer joins Cordage's voice runtime (through the gateway simulator's op 4) and
// davey peers to one call on the simulator's voice server:
//
//  1. the peer joins the Go client; the Go client commits the Add, the peer joins from the Go
//     client's Welcome; audio both ways, equal epoch authenticators;
//  2. a third member joins; the Go client's commit wins (the peer holds its own);
//  3. the third member leaves; the peer's commit wins (the Go client's websocket writes are held
//     until the server has announced the peer's), and the Go client processes davey's commit;
//  4. the peer leaves: the Go client, the sole member, resets (prepare epoch 1, transition 0) and
//     forms a new group with a newcomer.
//
// After every change all members agree on the epoch authenticator and every frame of every
// sender reaches every other member, DAVE-encrypted and decrypted.
func TestGoClientAndPeer(t *testing.T) {
	node := requireNode(t)
	vs := newServer(t)
	g := startGoClient(t, vs)
	join := func(id events.Snowflake, mode string) *member { return g.joinPeer(node, id, mode) }

	// 1. The peer waits; the Go client commits its Add.
	p := join(9001, "never")
	w := p.p.waitFor(stepWait, "welcome", nil)
	e := p.p.waitFor(stepWait, "execute", func(e peerEvent) bool { return e.Epoch != nil && *e.Epoch == 1 })
	if w.Auth != e.Auth || len(e.Users) != 2 {
		t.Fatalf("peer after the Go client's welcome: %s, then %s", w.Raw, e.Raw)
	}
	g.waitAuth(e.Auth)
	t.Logf("epoch 1 (Go committed, davey welcomed): authenticator %s", e.Auth)
	mixedBurst(t, g, p)

	// 2. A third member; p still holds its commits, so the Go client's commit of the Add wins:
	// p processes it, q joins from the Go client's Welcome.
	p.p.setMark()
	q := join(9002, "")
	c := p.p.waitFor(stepWait, "commit", func(e peerEvent) bool { return e.Epoch != nil && *e.Epoch == 2 })
	if c.Own {
		t.Fatalf("peer %d's commit won while it held it: %s", p.id, c.Raw)
	}
	q.p.waitFor(stepWait, "welcome", nil)
	auth := waitEpochOf(t, 2, 3, p, q)
	g.waitAuth(auth)
	mixedBurst(t, g, p, q)

	// 3. q leaves and p commits at once. The Go client's websocket writes are held until the
	// server has announced p's commit, so p's wins; the Go client, holding its own commit for
	// the same proposals, must process p's instead.
	p.p.command(map[string]any{"cmd": "commit_mode", "mode": "eager"})
	p.p.waitFor(stepWait, "commit_mode", nil)
	p.p.setMark()
	g.gate.shut()
	leaveCallIn(t, vs, g.guild, q)
	c = p.p.waitFor(stepWait, "commit", func(e peerEvent) bool { return e.Epoch != nil && *e.Epoch == 3 })
	g.gate.release()
	if !c.Own {
		t.Fatalf("peer %d: the announced commit is not its own: %s", p.id, c.Raw)
	}
	auth = waitEpochOf(t, 3, 2, p)
	g.waitAuth(auth)
	t.Logf("epoch 3 (davey committed the Remove): authenticator %s", auth)
	mixedBurst(t, g, p)

	// 4. p leaves: the Go client is the sole member and starts over; a newcomer and the Go
	// client form a new group at epoch 1.
	leaveCallIn(t, vs, g.guild, p)
	r := join(9003, "")
	auth = waitEpochOf(t, 1, 2, r)
	g.waitAuth(auth)
	t.Logf("after the sole-member reset, epoch 1 again: authenticator %s", auth)
	mixedBurst(t, g, r)
}
