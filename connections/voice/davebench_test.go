package voice

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	vgw "github.com/cordage/cordage/events/voice"
	voicesim "github.com/cordage/cordage/test/fakediscord/voice"
)

// simUser joins the voice simulator as one user, taking its token straight from the simulator.
type simUser struct {
	vs   *voicesim.Server
	user events.Snowflake
	m    *Manager
	n    int
}

func (g *simUser) UpdateVoiceState(_ context.Context, v connections.VoiceStateUpdate) error {
	g.n++
	sid := fmt.Sprintf("bench-%d-%d", g.user, g.n)
	if v.ChannelID == nil {
		g.vs.Leave(v.GuildID, g.user)
		return nil
	}
	token, ep := g.vs.IssueToken(v.GuildID, *v.ChannelID, g.user, sid)
	g.m.Handle(dispatch(events.EventVoiceStateUpdate, events.VoiceState{GuildID: v.GuildID, ChannelID: v.ChannelID, UserID: g.user, SessionID: sid}))
	g.m.Handle(dispatch(events.EventVoiceServerUpdate, events.VoiceServerUpdate{Token: token, GuildID: v.GuildID, Endpoint: &ep}))
	return nil
}

// BenchmarkSendFrameDAVE is the steady send path with DAVE in effect: a two-member call on the
// voice simulator, then DAVE encryption, RTP and transport sealing in each mode (the write goes
// nowhere). frames/core-s is frames per second of the one sending goroutine (one core).
func BenchmarkSendFrameDAVE(b *testing.B) {
	for _, mode := range []vgw.Mode{vgw.ModeAES256GCMRTPSize, vgw.ModeXChaCha20Poly1305RTPSize} {
		b.Run(string(mode), func(b *testing.B) { benchSendFrameDAVE(b, mode) })
	}
}

func benchSendFrameDAVE(b *testing.B, mode vgw.Mode) {
	vs, err := voicesim.New(voicesim.WithModes(mode))
	if err != nil {
		b.Fatal(err)
	}
	defer vs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var conns []*Conn
	for _, u := range []events.Snowflake{501, 502} {
		g := &simUser{vs: vs, user: u}
		g.m = NewManager(ctx, g, Config{UserID: u, Insecure: true, Clock: clock.Real()})
		defer g.m.Close()
		c, err := g.m.Join(ctx, JoinConfig{GuildID: 1, ChannelID: 2})
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	c := conns[0]
	scratch := make([]byte, 0, 512)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if d := c.e2ee(); d != nil && d.ProtocolVersion() == 1 {
			if _, err := d.Encrypt(scratch, benchFrame); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("DAVE never got a sender key")
		}
		time.Sleep(5 * time.Millisecond)
	}
	tr := c.transport()
	tr.w = &discard{}
	s := &c.snd
	if err := c.announce(s, tr); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.sendFrame(s, benchFrame, false)
	}
	b.StopTimer()
	if ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N); ns > 0 {
		b.ReportMetric(1e9/ns, "frames/core-s")
	}
	if got := tr.mode; got != mode {
		b.Fatalf("negotiated %s, want %s", got, mode)
	}
	if st := c.Stats(); st.FramesDropped != 0 {
		b.Fatalf("%d frames dropped", st.FramesDropped)
	}
}
