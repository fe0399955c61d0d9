package dave

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events/voice"
	"github.com/cordage/cordage/test/fakediscord/voice/daveserver"
)

// These tests drive Sessions with the simulator's DAVE server (test/fakediscord/voice/daveserver),
// which is written independently of the mls package: each side reads RFC 9420 and the DAVE
// whitepaper on its own, so they check each other.

type dsCall struct {
	t       *testing.T
	clk     *clock.Manual
	srv     *daveserver.Server
	members map[uint64]*Session
	order   []uint64
	queue   []func()
	errs    map[uint64][]error
	log     *zap.Logger
	refused int // commits the server did not take
}

func newDSCall(t *testing.T) *dsCall {
	clk := clock.NewManual(time.Unix(1_700_000_000, 0))
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	srv, err := daveserver.New(daveserver.Config{Clock: clk, ProtocolVersion: 1, ChannelID: 987654321, Logger: log.Named("server")})
	if err != nil {
		t.Fatal(err)
	}
	return &dsCall{t: t, clk: clk, srv: srv, members: map[uint64]*Session{}, errs: map[uint64][]error{}, log: log}
}

func (c *dsCall) route(out []daveserver.Out) {
	for _, o := range out {
		to := o.To
		if to == nil {
			to = slices.Clone(c.order)
		}
		for _, u := range to {
			c.queue = append(c.queue, func() {
				s := c.members[u]
				if s == nil {
					return
				}
				var msgs []Message
				var err error
				if o.Op.Binary() {
					msgs, err = s.HandleBinary(voice.BinaryMessage{Op: o.Op, Payload: o.Binary})
				} else {
					d, jerr := json.Marshal(o.JSON)
					if jerr != nil {
						c.t.Fatal(jerr)
					}
					msgs, err = s.HandleJSON(o.Op, d)
				}
				if err != nil {
					c.errs[u] = append(c.errs[u], err)
				}
				c.reply(u, msgs)
			})
		}
	}
}

func (c *dsCall) reply(u uint64, msgs []Message) {
	for _, m := range msgs {
		var out []daveserver.Out
		var err error
		if m.Binary != nil {
			out, err = c.srv.HandleBinary(u, voice.BinaryMessage{Op: m.Op, Payload: m.Binary})
		} else {
			d, jerr := json.Marshal(m.JSON)
			if jerr != nil {
				c.t.Fatal(jerr)
			}
			out, err = c.srv.HandleJSON(u, m.Op, d)
		}
		if errors.Is(err, daveserver.ErrCommit) {
			// A commit that lost to later proposals or another commit: the server drops it,
			// as Discord's does, and the member commits again or adopts the winner.
			c.refused++
			continue
		}
		if err != nil {
			c.t.Fatalf("daveserver refused op %v from %d: %v", m.Op, u, err)
		}
		c.route(out)
	}
}

func (c *dsCall) run() {
	c.t.Helper()
	for n := 0; len(c.queue) > 0; n++ {
		if n > 10000 {
			c.t.Fatal("does not settle")
		}
		f := c.queue[0]
		c.queue = c.queue[1:]
		f()
	}
}

// join is what the voice runtime does: clients-connect both ways, the session description's
// protocol version, then the DAVE server learns of the member.
func (c *dsCall) join(u uint64) {
	c.t.Helper()
	s, err := NewSession(SessionConfig{UserID: u, ChannelID: 987654321, Clock: c.clk, Logger: c.log.Named(fmt.Sprint(u))})
	if err != nil {
		c.t.Fatal(err)
	}
	for _, o := range c.order {
		c.members[o].ClientsConnect([]uint64{u})
	}
	c.members[u] = s
	c.order = append(c.order, u)
	s.ClientsConnect(c.order)
	msgs, err := s.SetProtocolVersion(1)
	if err != nil {
		c.t.Fatal(err)
	}
	c.route(c.srv.Join(u, 1))
	c.reply(u, msgs)
	c.run()
}

func (c *dsCall) leave(u uint64) {
	c.t.Helper()
	delete(c.members, u)
	c.order = slices.DeleteFunc(c.order, func(x uint64) bool { return x == u })
	for _, o := range c.order {
		c.members[o].ClientDisconnect(u)
	}
	c.route(c.srv.Leave(u))
	c.run()
}

// check: every member agrees with the server on the roster and epoch, and with each other on
// the epoch authenticator; every member's frame decrypts for every other.
func (c *dsCall) check() {
	c.t.Helper()
	want := c.srv.Members()
	var auth []byte
	for _, u := range c.order {
		s := c.members[u]
		if got := s.Members(); !slices.Equal(got, want) {
			c.t.Fatalf("member %d sees %v, server %v", u, got, want)
		}
		if s.Epoch() != c.srv.Epoch() {
			c.t.Fatalf("member %d at epoch %d, server at %d", u, s.Epoch(), c.srv.Epoch())
		}
		if a := s.EpochAuthenticator(); auth == nil {
			auth = a
		} else if !bytes.Equal(a, auth) {
			c.t.Fatalf("member %d has another epoch authenticator", u)
		}
	}
	for _, from := range c.order {
		opus := []byte(fmt.Sprintf("from %d in epoch %d", from, c.srv.Epoch()))
		f, err := c.members[from].Encrypt(nil, opus)
		if err != nil {
			c.t.Fatalf("%d encrypts: %v", from, err)
		}
		for _, to := range c.order {
			if to == from {
				continue
			}
			if got, err := c.members[to].Decrypt(from, nil, f); err != nil || !bytes.Equal(got, opus) {
				c.t.Fatalf("%d decrypting %d: %q %v", to, from, got, err)
			}
		}
	}
}

func (c *dsCall) noErrors() {
	c.t.Helper()
	for u, errs := range c.errs {
		if len(errs) > 0 {
			c.t.Fatalf("member %d: %v", u, errors.Join(errs...))
		}
	}
}

func TestSessionWithDaveServer(t *testing.T) {
	c := newDSCall(t)
	for u := uint64(1); u <= 5; u++ {
		c.join(u)
		if u > 1 {
			c.check()
		}
	}
	c.leave(2)
	c.check()
	c.leave(5)
	c.check()
	c.leave(1)
	c.check()
	// Two left; one more leaves and the last one is reset; a newcomer starts a new group.
	c.leave(3)
	if s := c.members[4]; s.Epoch() != 0 || s.PrivacyCode() != "" {
		t.Fatalf("sole member: epoch %d", s.Epoch())
	}
	c.join(6)
	c.check()
	c.noErrors()
}

// The server corrupts the next announced commit: every member that receives it answers op 31
// and sends a new key package, and the server brings them back.
func TestSessionWithDaveServerCorruptCommit(t *testing.T) {
	for _, n := range []int{2, 4} {
		c := newDSCall(t)
		for u := uint64(1); u < uint64(n); u++ {
			c.join(u)
		}
		c.srv.SetFaults(daveserver.Faults{CorruptCommits: 1})
		c.join(uint64(n))
		for u, errs := range c.errs {
			if !slices.ContainsFunc(errs, func(err error) bool { return errors.Is(err, ErrCommit) }) {
				t.Fatalf("%d members: member %d errors %v", n, u, errs)
			}
		}
		clear(c.errs)
		c.check()
		c.join(uint64(n + 1))
		c.check()
		c.noErrors()
	}
}

// Downgrade to version 0 and upgrade back, driven by the server.
func TestSessionWithDaveServerDowngradeUpgrade(t *testing.T) {
	c := newDSCall(t)
	c.join(1)
	c.join(2)
	c.join(3)
	c.route(c.srv.SetProtocolVersion(0))
	c.run()
	for _, u := range c.order {
		s := c.members[u]
		if s.ProtocolVersion() != 0 {
			t.Fatalf("member %d at version %d", u, s.ProtocolVersion())
		}
		out, err := s.Encrypt(nil, []byte("clear"))
		if err != nil || string(out) != "clear" {
			t.Fatalf("member %d at version 0 sends %q %v", u, out, err)
		}
	}
	c.route(c.srv.SetProtocolVersion(1))
	c.run()
	c.noErrors()
	c.check()
	for _, u := range c.order {
		if c.members[u].ProtocolVersion() != 1 {
			t.Fatalf("member %d not upgraded", u)
		}
	}
}

// Nobody's op 23 reaches the server: transitions execute when its timeout passes.
func TestSessionWithDaveServerExecuteTimeout(t *testing.T) {
	c := newDSCall(t)
	c.join(1)
	c.join(2)
	c.srv.SetFaults(daveserver.Faults{IgnoreReady: true})
	c.join(3)
	if _, pending := c.srv.TransitionPending(); !pending {
		t.Fatal("no transition waiting")
	}
	// Before the execute, members 1 and 2 still send with the previous epoch, which the
	// newcomer cannot read; they read each other.
	c.clk.Advance(daveserver.DefaultExecuteTimeout + time.Second)
	c.route(c.srv.Tick())
	c.run()
	c.noErrors()
	c.check()
}
