package rpc

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord/rpcsim"
)

func TestDialFindsTheFirstEndpointThatAnswers(t *testing.T) {
	sim := newSim(t)
	missing := filepath.Join(t.TempDir(), "discord-ipc-0")
	out := make(chan Event, 8)
	opts := append(simOptions(IPC, sim), WithTransports(IPC, Websocket), WithIPCPaths(missing), WithPorts(deadPort(t), sim.Port()))
	c, err := Dial(ctx(t), rpcsim.DefaultClientID, out, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := next[*Ready](t, out)
	if r.Transport != Websocket || r.Endpoint != wsURL(sim.Port(), rpcsim.DefaultClientID) {
		t.Fatalf("connected to %v %s", r.Transport, r.Endpoint)
	}

	// With the socket there too, IPC comes first.
	out2 := make(chan Event, 8)
	opts = append(simOptions(IPC, sim), WithTransports(IPC, Websocket), WithIPCPaths(missing, sim.IPCPath()), WithPorts(sim.Port()))
	c2, err := Dial(ctx(t), rpcsim.DefaultClientID, out2, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if r := next[*Ready](t, out2); r.Transport != IPC || r.Endpoint != sim.IPCPath() {
		t.Fatalf("connected to %v %s", r.Transport, r.Endpoint)
	}
}

func TestDialWithNothingThere(t *testing.T) {
	out := make(chan Event, 1)
	_, err := Dial(ctx(t), rpcsim.DefaultClientID, out,
		WithIPCPaths(filepath.Join(t.TempDir(), "discord-ipc-0")), WithPorts(deadPort(t)))
	if !errors.Is(err, ErrNoDiscord) {
		t.Fatalf("err = %v, want ErrNoDiscord", err)
	}
}

// TestHandshakeCloseCodes: each close code the app sends at the handshake reaches Dial as a
// *CloseError, on both transports, without trying further endpoints.
func TestHandshakeCloseCodes(t *testing.T) {
	type tc struct {
		name   string
		code   CloseCode
		only   Transport // 0: both
		setup  func(*rpcsim.Server)
		client []Option
		id     string
	}
	cases := []tc{
		{name: "invalid client id", code: CloseInvalidClientID, id: "1234"},
		{name: "invalid origin", code: CloseInvalidOrigin, only: Websocket, client: []Option{WithOrigin("https://evil.example")}},
		{name: "rate limited", code: CloseRateLimited, setup: func(s *rpcsim.Server) { s.FailNextHandshakes(1, 4002, "Rate limited") }},
		{name: "invalid version", code: CloseInvalidVersion, setup: func(s *rpcsim.Server) { s.FailNextHandshakes(1, 4004, "Invalid version") }},
		{name: "invalid encoding", code: CloseInvalidEncoding, only: Websocket, setup: func(s *rpcsim.Server) { s.FailNextHandshakes(1, 4005, "Invalid encoding") }},
	}
	for _, c := range cases {
		for _, tr := range transports {
			if c.only != 0 && c.only != tr {
				continue
			}
			t.Run(c.name+"/"+tr.String(), func(t *testing.T) {
				sim := newSim(t)
				if c.setup != nil {
					c.setup(sim)
				}
				id := rpcsim.DefaultClientID
				if c.id != "" {
					id = c.id
				}
				out := make(chan Event, 1)
				cl, err := Dial(ctx(t), id, out, append(simOptions(tr, sim), c.client...)...)
				if err == nil {
					cl.Close()
					t.Fatal("Dial succeeded")
				}
				wantClose(t, err, c.code)
				var ce *CloseError
				errors.As(err, &ce)
				if ce.Transport != tr || ce.Fatal() != c.code.Fatal() {
					t.Fatalf("CloseError = %+v", ce)
				}
			})
		}
	}
}

// TestFatalCloseStopsTheClient: a fatal code mid-session (token revoked, invalid client id)
// stops the client with that error; a recoverable one (rate limited, normal) reconnects.
func TestCloseCodesMidSession(t *testing.T) {
	for _, tr := range transports {
		t.Run("token revoked/"+tr.String(), func(t *testing.T) {
			sim := newSim(t)
			c, _, _ := dial(t, tr, sim)
			tok := login(t, c)
			sim.RevokeToken(tok.AccessToken)
			err := waitDone(t, c)
			wantClose(t, err, CloseTokenRevoked)
			if err := c.SetActivity(ctx(t), Activity{}); !errors.Is(err, ErrClosed) || CloseCodeOf(err) != CloseTokenRevoked {
				t.Fatalf("command after a fatal close: %v", err)
			}
		})
		t.Run("invalid client id/"+tr.String(), func(t *testing.T) {
			sim := newSim(t)
			c, _, _ := dial(t, tr, sim)
			sim.CloseAll(4000, "Invalid Client ID")
			wantClose(t, waitDone(t, c), CloseInvalidClientID)
		})
		for _, code := range []CloseCode{CloseRateLimited, CloseNormal} {
			t.Run(code.String()+"/"+tr.String(), func(t *testing.T) {
				sim := newSim(t)
				c, out, _ := dial(t, tr, sim)
				sim.CloseAll(int(code), "bye")
				d := next[*Disconnected](t, out)
				wantClose(t, d.Err, code)
				if r := next[*Ready](t, out); !r.Reconnected {
					t.Fatalf("Ready after reconnect = %+v", r)
				}
				if err := c.SetActivity(ctx(t), Activity{State: "back"}); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func waitDone(t *testing.T, c *Client) error {
	t.Helper()
	select {
	case <-c.Done():
		return c.Err()
	case <-time.After(testTimeout):
		t.Fatal("client did not stop")
		return nil
	}
}

// TestRestartResubscribes is the app quitting and starting again: the client reconnects,
// logs in again with its token, restores every subscription and the rich presence, and the
// events flow again.
func TestRestartResubscribes(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			sim := newSim(t)
			c, out, _ := dial(t, tr, sim)
			login(t, c)
			vc := rpcsim.VoiceChannelID
			if err := c.SubscribeVoice(ctx(t), vc); err != nil {
				t.Fatal(err)
			}
			if err := c.Subscribe(ctx(t), Subscription{Event: EventVoiceChannelSelect}); err != nil {
				t.Fatal(err)
			}
			if err := c.SetActivity(ctx(t), Activity{State: "survives restarts"}); err != nil {
				t.Fatal(err)
			}
			wantSubs := sim.Subscriptions()
			if len(wantSubs) != 6 {
				t.Fatalf("sim has %v", wantSubs)
			}
			// A rate-limited first try after the restart is retried too.
			sim.FailNextHandshakes(1, 4002, "Rate limited")

			up := sim.Restart()
			if d := next[*Disconnected](t, out); d.Err == nil || d.RetryIn <= 0 {
				t.Fatalf("Disconnected = %+v", d)
			}
			// A command made while the app is away waits for it.
			type result struct {
				gs  []Guild
				err error
			}
			done := make(chan result, 1)
			go func() {
				gs, err := c.Guilds(ctx(t))
				done <- result{gs, err}
			}()
			<-up
			r := next[*Ready](t, out)
			if !r.Reconnected || r.Resubscribed != 6 || r.RestoreErr != nil {
				t.Fatalf("Ready after restart = %+v", r)
			}
			if got := sim.Subscriptions(); !slices.Equal(got, wantSubs) {
				t.Fatalf("subscriptions after restart %v, want %v", got, wantSubs)
			}
			if a, _, ok := sim.Activity(); !ok || string(a) != `{"state":"survives restarts"}` {
				t.Fatalf("activity after restart %s %v", a, ok)
			}
			if res := <-done; res.err != nil || len(res.gs) != 1 {
				t.Fatalf("Guilds across the restart: %v %v", res.gs, res.err)
			}
			if st := c.Stats(); !st.Connected || st.Reconnects != 1 || st.Transport != tr || st.Delivered < 2 {
				t.Fatalf("Stats = %+v", st)
			}
			if n := sim.EmitSpeakingStart(vc, 77); n != 1 {
				t.Fatalf("SPEAKING_START reached %d connections", n)
			}
			if sp := next[*SpeakingStart](t, out); sp.UserID != 77 {
				t.Fatalf("SPEAKING_START = %+v", sp)
			}
			if n := sim.EmitVoiceChannelSelect(rpcsim.GuildID, vc); n != 1 {
				t.Fatalf("VOICE_CHANNEL_SELECT reached %d connections", n)
			}
			next[*VoiceChannelSelect](t, out)
		})
	}
}

// TestReconnectWaitsForTheBackoff runs the client on a manual clock: after a drop it dials
// again only once the backoff has passed.
func TestReconnectWaitsForTheBackoff(t *testing.T) {
	sim := newSim(t)
	m := clock.NewManual(time.Unix(0, 0))
	b := Backoff{Base: time.Minute, Max: time.Hour, Multiplier: 2, Jitter: 0.1}
	c, out, _ := dial(t, IPC, sim, WithClock(m), WithBackoff(b))
	<-sim.Restart()
	d := next[*Disconnected](t, out)
	if d.RetryIn < 54*time.Second || d.RetryIn > 66*time.Second {
		t.Fatalf("first retry in %v, want 1 min ± 10 %%", d.RetryIn)
	}
	// The run loop reaches its timer right after sending Disconnected.
	actx, acancel := context.WithTimeout(context.Background(), testTimeout)
	defer acancel()
	if err := m.AwaitWaiters(actx, 1); err != nil {
		t.Fatal("reconnect timer never armed")
	}
	m.Advance(d.RetryIn - time.Second)
	if sim.Connections() != 0 {
		t.Fatal("reconnected before the backoff")
	}
	m.Advance(time.Second)
	if r := next[*Ready](t, out); !r.Reconnected {
		t.Fatalf("Ready = %+v", r)
	}
	if err := c.SetActivity(ctx(t), Activity{}); err != nil {
		t.Fatal(err)
	}
}

func TestGivesUpAfterMaxReconnects(t *testing.T) {
	sim := newSim(t)
	c, out, _ := dial(t, Websocket, sim, WithMaxReconnects(3), WithDialTimeout(time.Second))
	sim.Close()
	next[*Disconnected](t, out)
	err := waitDone(t, c)
	if !errors.Is(err, ErrGaveUp) || !errors.Is(err, ErrNoDiscord) {
		t.Fatalf("err = %v, want ErrGaveUp wrapping ErrNoDiscord", err)
	}
}

func TestOversizeFrameDropsTheConnection(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			sim := newSim(t)
			c, out, _ := dial(t, tr, sim, WithMaxFrameSize(1024))
			login(t, c)
			if err := c.Subscribe(ctx(t), Subscription{Event: EventMessageCreate, ChannelID: rpcsim.TextChannelID}); err != nil {
				t.Fatal(err)
			}
			big := make([]byte, 4096)
			for i := range big {
				big[i] = 'a'
			}
			sim.EmitMessageCreate(rpcsim.TextChannelID, rpcsim.Message{ID: 1, Content: string(big)})
			d := next[*Disconnected](t, out)
			if !errors.Is(d.Err, ErrFrameTooLarge) {
				t.Fatalf("Disconnected.Err = %v, want ErrFrameTooLarge", d.Err)
			}
			// The client comes back and restores its subscription.
			if r := next[*Ready](t, out); r.Resubscribed != 1 {
				t.Fatalf("Ready = %+v", r)
			}
			sim.EmitMessageCreate(rpcsim.TextChannelID, rpcsim.Message{ID: 2, Content: "small"})
			if m := next[*MessageCreate](t, out); m.Message.ID != 2 {
				t.Fatalf("MESSAGE_CREATE = %+v", m)
			}
		})
	}
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 10 * time.Second, Multiplier: 2, Jitter: 0.5}
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		if got := b.Delay(n, 0.5); got != want {
			t.Errorf("Delay(%d, mid) = %v, want %v", n, got, want)
		}
	}
	if got := b.Delay(0, 0); got != 500*time.Millisecond {
		t.Errorf("lowest jitter = %v", got)
	}
	if got := b.Delay(0, 0.999999); got < 1499*time.Millisecond || got > 1500*time.Millisecond {
		t.Errorf("highest jitter = %v", got)
	}
	if got := b.Delay(100, 0.999999); got != 10*time.Second {
		t.Errorf("jitter lifted the delay above Max: %v", got)
	}
	if got := b.Delay(1<<30, 0.5); got != 10*time.Second {
		t.Errorf("huge attempt = %v", got)
	}
}

var _ = context.Background
var _ events.Snowflake
