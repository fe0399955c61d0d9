package voice_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/connections/voice"
	"github.com/cordage/cordage/events"
	vgw "github.com/cordage/cordage/events/voice"
	"github.com/cordage/cordage/test/fakediscord"
	voicesim "github.com/cordage/cordage/test/fakediscord/voice"
)

// simGateway stands in for a second user's gateway: op 4 gets its token straight from the
// voice simulator, and the two dispatches go to the user's Manager.
type simGateway struct {
	vs   *voicesim.Server
	user events.Snowflake

	mu sync.Mutex
	m  *voice.Manager
	n  int
}

func (g *simGateway) UpdateVoiceState(_ context.Context, v connections.VoiceStateUpdate) error {
	g.mu.Lock()
	g.n++
	n, m := g.n, g.m
	g.mu.Unlock()
	sid := fmt.Sprintf("user-%d-session-%d", g.user, n)
	if v.ChannelID == nil {
		g.vs.Leave(v.GuildID, g.user)
		m.Handle(dispatch(events.EventVoiceStateUpdate, events.VoiceState{GuildID: v.GuildID, UserID: g.user, SessionID: sid}))
		return nil
	}
	token, ep := g.vs.IssueToken(v.GuildID, *v.ChannelID, g.user, sid)
	m.Handle(dispatch(events.EventVoiceStateUpdate, events.VoiceState{GuildID: v.GuildID, ChannelID: v.ChannelID, UserID: g.user, SessionID: sid}))
	m.Handle(dispatch(events.EventVoiceServerUpdate, events.VoiceServerUpdate{Token: token, GuildID: v.GuildID, Endpoint: &ep}))
	return nil
}

func dispatch(name string, d any) connections.Event {
	b, _ := json.Marshal(d)
	return connections.Event{Kind: connections.KindDispatch, Type: name, Data: b}
}

// sim is a bot on the gateway simulator (through package connections) and a second user, both
// able to join the same voice channel on the voice simulator.
type sim struct {
	ctx     context.Context
	srv     *fakediscord.Server
	vs      *voicesim.Server
	stopBot context.CancelFunc // ends the bot Manager's context (the gateway lives on)
	// botDatagrams is poked each time the bot's UDP reader has handled a datagram.
	botDatagrams *broadcast
	bot          *voice.Manager
	listener     *voice.Manager
	guild        events.Snowflake
	channel      events.Snowflake
}

const listenerID = events.Snowflake(990001)

// simJoinTimeout is generous on the 20x clock (30 s of wall time): on a loaded CI machine the
// gateway's READY, which brings the bot's user id, can take longer than the default 10 s of
// clock time (0.5 s of wall time) to arrive. No test here is about the join timeout.
const simJoinTimeout = 10 * time.Minute

func newSim(t *testing.T, daveVersion int, opts ...voicesim.Option) *sim {
	t.Helper()
	clk := clock.Scaled(20)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	vs, err := voicesim.New(append([]voicesim.Option{voicesim.WithClock(clk), voicesim.WithDAVE(daveVersion, daveVersion > 0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := fakediscord.New(fakediscord.WithClock(clk), fakediscord.WithVoiceServer(vs), fakediscord.WithGuilds(1))
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan connections.Event, 1024)
	gw, err := connections.ConnectBot(ctx, srv.Token(), out, connections.WithAPIURL(srv.RESTURL()),
		connections.WithClock(clk), connections.WithIntents(events.IntentGuilds|events.IntentGuildVoiceStates))
	if err != nil {
		t.Fatal(err)
	}
	s := &sim{ctx: ctx, srv: srv, vs: vs, guild: srv.Guilds()[0]}
	s.channel = s.guild + 1<<20 + 2
	// The bot's select loop: everything from the gateway goes through the Manager first.
	botCtx, stopBot := context.WithCancel(ctx)
	s.stopBot = stopBot
	s.bot = voice.NewManager(botCtx, gw, voice.Config{Clock: clk, JoinTimeout: simJoinTimeout, Insecure: true, Logger: zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)).Named("bot")})
	s.botDatagrams = &broadcast{}
	voice.SetAfterDatagram(s.bot, s.botDatagrams.poke)
	stop, pumped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(pumped)
		for {
			select {
			case ev := <-out:
				s.bot.Handle(ev)
			case <-stop:
				return
			}
		}
	}()
	lg := &simGateway{vs: vs, user: listenerID}
	s.listener = voice.NewManager(ctx, lg, voice.Config{UserID: listenerID, Clock: clk, JoinTimeout: simJoinTimeout, Insecure: true, Logger: zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)).Named("listener")})
	lg.m = s.listener
	t.Cleanup(func() {
		s.listener.Close()
		s.bot.Close()
		close(stop)
		<-pumped
		gw.Close()
		srv.Close()
		vs.Close()
		stopBot()
		cancel()
	})
	return s
}

// leaves returns the op 4 frames with no channel that the gateway simulator received.
func (s *sim) leaves(t *testing.T) int {
	t.Helper()
	n := 0
	for _, env := range s.srv.Received(0) {
		if env.Op != events.OpVoiceStateUpdate {
			continue
		}
		var v struct {
			ChannelID *events.Snowflake `json:"channel_id"`
		}
		if err := json.Unmarshal(env.D, &v); err != nil {
			t.Fatal(err)
		}
		if v.ChannelID == nil {
			n++
		}
	}
	return n
}

// TestSimulatorLeave: the bot leaves the channel through the gateway (op 4, no channel) when
// its Manager's context ends, as it does on Close: the voice simulator ends its session as
// "left the channel", and the gateway simulator received exactly one leave, even after Close
// follows the cancelled context.
func TestSimulatorLeave(t *testing.T) {
	for _, how := range []string{"context", "close"} {
		t.Run(how, func(t *testing.T) {
			s := newSim(t, 1)
			bot := s.join(t, s.bot)
			if how == "context" {
				s.stopBot()
			} else {
				bot.Close()
			}
			select {
			case <-bot.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("the Conn did not end")
			}
			if err := bot.Err(); err != nil {
				t.Fatalf("Err = %v after %s", err, how)
			}
			wctx, wcancel := context.WithTimeout(s.ctx, 10*time.Second)
			defer wcancel()
			me := s.bot.UserID()
			if err := s.vs.WaitFor(wctx, func(l *voicesim.Ledger) bool {
				r, ok := l.Session(me)
				return ok && r.Ended == "left the channel"
			}); err != nil {
				r, _ := s.vs.Ledger().Session(me)
				t.Fatalf("voice session not ended by a leave (%v): ended %q", err, r.Ended)
			}
			bot.Close()
			s.bot.Close()
			if n := s.leaves(t); n != 1 {
				t.Fatalf("the gateway received %d leaves, want 1", n)
			}
		})
	}
}

func (s *sim) join(t *testing.T, m *voice.Manager) *voice.Conn {
	t.Helper()
	c, err := m.Join(s.ctx, voice.JoinConfig{GuildID: s.guild, ChannelID: s.channel})
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	return c
}

// waitGroupFormed waits until both connections agree on a DAVE epoch.
func waitGroupFormed(t *testing.T, a, b *voice.Conn) {
	t.Helper()
	waitDAVE(t, a, b, "a common DAVE epoch", func() bool {
		ea, eb := a.EpochAuthenticator(), b.EpochAuthenticator()
		return a.DAVEProtocolVersion() == 1 && b.DAVEProtocolVersion() == 1 && len(ea) > 0 && bytes.Equal(ea, eb)
	})
}

// waitDAVE waits until cond holds, checking it again at every DAVEChanged event of a or b (the
// Conn emits one whenever its DAVE version or epoch moves), for at most 20 s. It consumes the
// two Conns' events.
func waitDAVE(t *testing.T, a, b *voice.Conn, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for !cond() {
		select {
		case _, ok := <-a.Events():
			if !ok {
				t.Fatalf("waiting for %s: a's events closed (%v)", what, a.Err())
			}
		case _, ok := <-b.Events():
			if !ok {
				t.Fatalf("waiting for %s: b's events closed (%v)", what, b.Err())
			}
		case <-deadline:
			t.Fatalf("no %s within 20 s: versions %d/%d, authenticators %x / %x", what,
				a.DAVEProtocolVersion(), b.DAVEProtocolVersion(), a.EpochAuthenticator(), b.EpochAuthenticator())
		}
	}
}

// warmUp sends frames from a until b receives one from a's user: it waits out a DAVE
// transition (frames sent before the sender key exists are dropped by design), so that the
// exchange after it can demand every frame.
func warmUp(t *testing.T, ctx context.Context, from, to *voice.Conn, fromUser events.Snowflake) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	frames := make(chan []byte)
	done := make(chan error, 1)
	go func() { done <- from.Send(ctx, frames) }()
	go func() {
		defer close(frames)
		for {
			select {
			case frames <- []byte{0xFC, 0xEE, 0xEE}:
			case <-ctx.Done():
				return
			}
		}
	}()
	timeout := time.After(20 * time.Second)
	for ok := false; !ok; {
		select {
		case p := <-to.Packets():
			ok = p.UserID == fromUser && bytes.Equal(p.Opus, []byte{0xFC, 0xEE, 0xEE})
		case <-timeout:
			t.Fatalf("no warm-up frame arrived; sender %+v receiver %+v", from.Stats(), to.Stats())
		}
	}
	cancel()
	<-done
	// Drain what is still in flight (warm-up frames, silence).
	for {
		select {
		case <-to.Packets():
		case <-time.After(100 * time.Millisecond):
			return
		}
	}
}

func frame(i int) []byte { return []byte{0xFC, byte(i >> 8), byte(i), 0x5A, 0xA5, 0x01} }

// exchange sends n frames from a and checks that b receives every one of them, in order, from
// a's user, with silence frames only after them.
func exchange(t *testing.T, ctx context.Context, from, to *voice.Conn, fromUser events.Snowflake, n int) {
	t.Helper()
	frames := make(chan []byte, n)
	for i := range n {
		frames <- frame(i)
	}
	close(frames)
	sendErr := make(chan error, 1)
	dropped0, undecrypt0 := from.Stats().FramesDropped, to.Stats().PacketsUndecrypt
	go func() { sendErr <- from.Send(ctx, frames) }()
	got := 0
	timeout := time.After(20 * time.Second)
	for got < n {
		select {
		case p, ok := <-to.Packets():
			if !ok {
				t.Fatalf("packets closed: %v", to.Err())
			}
			if bytes.Equal(p.Opus, []byte{0xF8, 0xFF, 0xFE}) {
				continue
			}
			if p.UserID != fromUser {
				t.Fatalf("packet from user %d, want %d", p.UserID, fromUser)
			}
			if !bytes.Equal(p.Opus, frame(got)) {
				t.Fatalf("frame %d: got %x, want %x; receiver stats %+v", got, p.Opus, frame(got), to.Stats())
			}
			got++
		case <-timeout:
			if dumpLedger != nil {
				dumpLedger(t)
			}
			t.Fatalf("received %d of %d frames; sender stats %+v, receiver stats %+v", got, n, from.Stats(), to.Stats())
		}
	}
	if err := <-sendErr; err != nil {
		t.Fatalf("Send: %v", err)
	}
	if d, u := from.Stats().FramesDropped-dropped0, to.Stats().PacketsUndecrypt-undecrypt0; d != 0 || u != 0 {
		t.Fatalf("%d frames dropped by the sender, %d undecryptable at the receiver", d, u)
	}
}

// both warms up and exchanges n frames each way.
func both(t *testing.T, s *sim, bot, lis *voice.Conn, n int) {
	t.Helper()
	warmUp(t, s.ctx, bot, lis, s.bot.UserID())
	exchange(t, s.ctx, bot, lis, s.bot.UserID(), n)
	warmUp(t, s.ctx, lis, bot, listenerID)
	exchange(t, s.ctx, lis, bot, listenerID, n)
}

func TestSimulatorTransportOnly(t *testing.T) {
	s := newSim(t, 0)
	bot := s.join(t, s.bot)
	lis := s.join(t, s.listener)
	if bot.DAVEProtocolVersion() != 0 {
		t.Fatalf("DAVE version %d on a server without DAVE", bot.DAVEProtocolVersion())
	}
	both(t, s, bot, lis, 50)
}

func TestSimulatorDAVE(t *testing.T) {
	s := newSim(t, 1)
	bot := s.join(t, s.bot)
	lis := s.join(t, s.listener)
	waitGroupFormed(t, bot, lis)
	both(t, s, bot, lis, 50)
	if !bytes.Equal(bot.EpochAuthenticator(), lis.EpochAuthenticator()) || bot.PrivacyCode() == "" {
		t.Fatal("members disagree on the epoch")
	}
}

// TestSimulatorDAVEChangedEvent: each member learns of the group through a DAVEChanged event
// carrying the same privacy code, with no polling of the Conn.
func TestSimulatorDAVEChangedEvent(t *testing.T) {
	s := newSim(t, 1)
	bot := s.join(t, s.bot)
	lis := s.join(t, s.listener)
	codeOf := func(c *voice.Conn, want string) string {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case ev := <-c.Events():
				if dc, ok := ev.(voice.DAVEChanged); ok && dc.ProtocolVersion == 1 && dc.PrivacyCode != "" &&
					(want == "" || dc.PrivacyCode == want) {
					return dc.PrivacyCode
				}
			case <-deadline:
				t.Fatalf("no DAVEChanged with a group (want code %q)", want)
			}
		}
	}
	// The bot may see a one-member group first; the two-member group's code is the listener's.
	code := codeOf(lis, "")
	codeOf(bot, code)
	if len(code) != 30 {
		t.Fatalf("privacy code %q: want 30 digits", code)
	}
}

var dumpLedger func(t *testing.T)

func TestSimulatorResumeKeepsAudio(t *testing.T) {
	s := newSim(t, 1)
	dumpLedger = func(t *testing.T) {
		l := s.vs.Ledger()
		for _, r := range l.Sessions {
			var ops []string
			for _, m := range r.Sent {
				ops = append(ops, fmt.Sprint(int(m.Op)))
			}
			t.Logf("session %d user %d ended %q sent %v received %v rejected %v resumes %d", r.ID, r.UserID, r.Ended, ops, r.Received, r.DAVERejected, len(r.Resumes))
		}
		for _, c := range l.Calls {
			t.Logf("call %+v dave %+v", c, c.DAVE)
		}
	}
	defer func() { dumpLedger = nil }()
	bot := s.join(t, s.bot)
	lis := s.join(t, s.listener)
	waitGroupFormed(t, bot, lis)
	if err := s.vs.Faults().Drop(listenerID); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(20 * time.Second)
	for resumed := false; !resumed; {
		select {
		case ev := <-lis.Events():
			if c, ok := ev.(voice.Connected); ok && c.Resumed {
				resumed = true
			}
		case <-deadline:
			t.Fatal("listener did not resume")
		}
	}
	both(t, s, bot, lis, 20)
}

func TestSimulatorDAVERequired(t *testing.T) {
	// A client that offers no DAVE to a server that requires it gets 4017, typed, and does not
	// try again.
	s := newSim(t, 1)
	const user = events.Snowflake(424242)
	g := &simGateway{vs: s.vs, user: user}
	m := voice.NewManager(s.ctx, g, voice.Config{UserID: user, Clock: clock.Scaled(20), JoinTimeout: simJoinTimeout, Insecure: true, DisableDAVE: true})
	g.m = m
	defer m.Close()
	_, err := m.Join(s.ctx, voice.JoinConfig{GuildID: s.guild, ChannelID: s.channel})
	var ce *vgw.CloseError
	if !errors.Is(err, vgw.ErrDAVERequired) || !errors.As(err, &ce) || ce.Code != vgw.CloseDAVERequired {
		t.Fatalf("Join = %v, want close 4017", err)
	}
	wctx, wcancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer wcancel()
	if err := s.vs.WaitFor(wctx, func(l *voicesim.Ledger) bool { return len(l.Closes()) > 0 }); err != nil {
		t.Logf("the simulator's ledger shows no close (%v); the client's error is the evidence", err)
	} else if closes := s.vs.Ledger().Closes(); len(closes) != 1 || closes[0] != vgw.CloseDAVERequired {
		t.Fatalf("server closes %v, want one 4017", closes)
	}
}

// TestSimulatorResumeReplaysSpeaking: the speaking event that maps the listener's SSRC is lost
// on the wire (the simulator keeps it in its replay buffer), so the bot cannot attribute the
// listener's audio; after the connection drops, the resume replays the event and audio flows.
func TestSimulatorResumeReplaysSpeaking(t *testing.T) {
	s := newSim(t, 0, voicesim.WithUndocumentedOps(false))
	bot := s.join(t, s.bot)
	lis := s.join(t, s.listener)
	// The listener's arrival (op 11) is the last message before the one to lose.
	deadline := time.After(20 * time.Second)
	for arrived := false; !arrived; {
		select {
		case ev := <-bot.Events():
			if uc, ok := ev.(voice.UsersConnected); ok && slices.Contains(uc.UserIDs, listenerID) {
				arrived = true
			}
		case <-deadline:
			t.Fatal("the bot never heard of the listener")
		}
	}
	if err := s.vs.Faults().DropWS(s.bot.UserID(), 1); err != nil {
		t.Fatal(err)
	}
	// One uninterrupted stretch (a pause would send speaking again, and speaking 0 maps the SSRC
	// too): 2000 frames queued up front.
	ctx, cancel := context.WithCancel(s.ctx)
	frames := make(chan []byte, 2000)
	for range cap(frames) {
		frames <- frame(1)
	}
	sent := make(chan error, 1)
	go func() { sent <- lis.Send(ctx, frames) }()
	waitStat(t, s.botDatagrams, func() bool { return bot.Stats().PacketsUnknownSSRC >= 3 })
	if got := bot.Stats().PacketsReceived; got != 0 {
		l, _ := s.vs.Ledger().Session(s.bot.UserID())
		t.Fatalf("%d packets attributed without a speaking event; bot was sent %+v", got, l.Sent)
	}
	if err := s.vs.Faults().Drop(s.bot.UserID()); err != nil {
		t.Fatal(err)
	}
	deadline = time.After(20 * time.Second)
	for heard := false; !heard; {
		select {
		case p := <-bot.Packets():
			heard = p.UserID == listenerID
		case <-deadline:
			t.Fatalf("no audio after the resume: %+v", bot.Stats())
		}
	}
	cancel()
	<-sent
	if l, ok := s.vs.Ledger().Session(s.bot.UserID()); !ok || len(l.Resumes) != 1 {
		t.Fatalf("bot session: %+v", l.Resumes)
	}
}

// broadcast wakes waiters at every poke.
type broadcast struct {
	mu sync.Mutex
	n  int
	ch chan struct{}
}

func (b *broadcast) poke() {
	b.mu.Lock()
	b.n++
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
	b.mu.Unlock()
}

func (b *broadcast) next() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

func (b *broadcast) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// waitStat waits until cond holds, checking it again at every poke of b, for at most 10 s.
func waitStat(t *testing.T, b *broadcast, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		ch := b.next()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatal("condition not met within 10 s")
		}
	}
}

// TestSimulatorDAVEMemberJoinsAndLeaves: a third user joins the DAVE call and leaves again;
// each change is a new MLS epoch, and audio flows between the first two after each.
func TestSimulatorDAVEMemberJoinsAndLeaves(t *testing.T) {
	s := newSim(t, 1)
	bot := s.join(t, s.bot)
	lis := s.join(t, s.listener)
	waitGroupFormed(t, bot, lis)
	both(t, s, bot, lis, 10)
	epoch := bot.EpochAuthenticator()

	const third = events.Snowflake(990003)
	g := &simGateway{vs: s.vs, user: third}
	tm := voice.NewManager(s.ctx, g, voice.Config{UserID: third, Clock: clock.Scaled(20), JoinTimeout: simJoinTimeout, Insecure: true})
	g.m = tm
	tc, err := tm.Join(s.ctx, voice.JoinConfig{GuildID: s.guild, ChannelID: s.channel})
	if err != nil {
		t.Fatal(err)
	}
	waitGroupFormed(t, bot, tc)
	waitGroupFormed(t, lis, tc)
	if bytes.Equal(epoch, bot.EpochAuthenticator()) {
		t.Fatal("the epoch did not change when a member joined")
	}
	warmUp(t, s.ctx, bot, tc, s.bot.UserID())
	exchange(t, s.ctx, bot, tc, s.bot.UserID(), 10)
	both(t, s, bot, lis, 10)

	epoch = bot.EpochAuthenticator()
	tm.Close()
	waitDAVE(t, bot, lis, "new common epoch after the third member left", func() bool {
		return !bytes.Equal(epoch, bot.EpochAuthenticator()) && bytes.Equal(bot.EpochAuthenticator(), lis.EpochAuthenticator())
	})
	both(t, s, bot, lis, 10)
}

// TestSimulatorRelayExtension: the relay adds an RTP header extension (as Discord's SFU does);
// its body is encrypted in front of the Opus and must be skipped.
func TestSimulatorRelayExtension(t *testing.T) {
	s := newSim(t, 1, voicesim.WithRelayExtension(true), voicesim.WithModes(vgw.ModeXChaCha20Poly1305RTPSize))
	bot := s.join(t, s.bot)
	lis := s.join(t, s.listener)
	waitGroupFormed(t, bot, lis)
	both(t, s, bot, lis, 20)
}

// TestSimulatorDAVEWithUDPLoss: a third of the packets to the listener are lost; the rest still
// decrypt (the DAVE decryptor tolerates nonce gaps) and arrive in order.
func TestSimulatorDAVEWithUDPLoss(t *testing.T) {
	s := newSim(t, 1)
	bot := s.join(t, s.bot)
	lis := s.join(t, s.listener)
	waitGroupFormed(t, bot, lis)
	warmUp(t, s.ctx, bot, lis, s.bot.UserID())
	if err := s.vs.Faults().SetUDPLoss(listenerID, 0.33); err != nil {
		t.Fatal(err)
	}
	const n = 150
	frames := make(chan []byte, n)
	for i := range n {
		frames <- frame(i)
	}
	close(frames)
	undecrypt := lis.Stats().PacketsUndecrypt
	if err := bot.Send(s.ctx, frames); err != nil {
		t.Fatal(err)
	}
	got, last := 0, -1
	for done := false; !done; {
		select {
		case p := <-lis.Packets():
			if len(p.Opus) != len(frame(0)) {
				continue // silence
			}
			i := int(p.Opus[1])<<8 | int(p.Opus[2])
			if i <= last {
				t.Fatalf("frame %d after %d", i, last)
			}
			got, last = got+1, i
		case <-time.After(500 * time.Millisecond):
			done = true
		}
	}
	if got < n/3 || got > n-n/10 {
		t.Fatalf("%d of %d frames arrived with 33%% loss", got, n)
	}
	if d := lis.Stats().PacketsUndecrypt - undecrypt; d != 0 {
		t.Fatalf("%d packets failed to decrypt", d)
	}
}

// TestSimulatorKeepAlive: a bot alone and silent in a channel sends UDP keepalives, the voice
// simulator counts and echoes them, and the bot's UDP reader takes the echoes for neither audio
// nor failures.
func TestSimulatorKeepAlive(t *testing.T) {
	s := newSim(t, 1)
	bot := s.join(t, s.bot)
	wctx, wcancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer wcancel()
	// 5 s of clock time per keepalive: 250 ms of wall time on the 20x clock.
	if err := s.vs.WaitFor(wctx, func(l *voicesim.Ledger) bool { return l.UDP.KeepAlives >= 2 }); err != nil {
		t.Fatalf("the simulator saw %d keepalives: %v", s.vs.Ledger().UDP.KeepAlives, err)
	}
	waitStat(t, s.botDatagrams, func() bool { return s.botDatagrams.count() >= 2 }) // alone: only echoes arrive
	st := bot.Stats()
	if st.KeepAlivesSent < 2 || st.PacketsUndecrypt != 0 || st.PacketsReceived != 0 || st.PacketsSent != 0 {
		t.Fatalf("bot stats %+v", st)
	}
	if u := s.vs.Ledger().UDP; u.Unknown != 0 || u.Relayed != 0 {
		t.Fatalf("simulator UDP stats %+v: keepalives must not count as unknown or be relayed", u)
	}
}
