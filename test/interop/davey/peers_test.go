package davey

import (
	"fmt"
	"testing"
	"time"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/voice"
	voicesim "github.com/cordage/cordage/test/fakediscord/voice"
)

const (
	guildID   events.Snowflake = 4100
	channelID events.Snowflake = 4200
	frames                     = 50 // numbered frames per burst: one second of audio
	stepWait                   = 20 * time.Second
)

// newServer starts the simulator's voice server for a test, on the wall clock (the Node peers
// run on it), with short heartbeats and a grace long enough that a machine busy with other test
// packages never turns a late heartbeat into a 4009.
func newServer(t *testing.T, opts ...voicesim.Option) *voicesim.Server {
	t.Helper()
	opts = append([]voicesim.Option{
		voicesim.WithHeartbeatInterval(time.Second),
		voicesim.WithHeartbeatGrace(10 * time.Second),
		voicesim.WithRelayExtension(true), // receivers must skip the encrypted extension body
	}, opts...)
	srv, err := voicesim.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("voice server close: %v", err)
		}
	})
	return srv
}

// joinPeer issues a token for user on the test channel and starts a peer with it.
func joinPeer(t *testing.T, node string, srv *voicesim.Server, user events.Snowflake, cfg peerConfig) *peer {
	t.Helper()
	return joinPeerIn(t, node, srv, guildID, channelID, user, cfg)
}

// joinPeerIn is joinPeer for a given guild and channel. The peer plays a user whose main
// gateway got the token (the test issues it, as the gateway simulator does on op 4).
func joinPeerIn(t *testing.T, node string, srv *voicesim.Server, guild, channel, user events.Snowflake, cfg peerConfig) *peer {
	t.Helper()
	sessionID := fmt.Sprintf("peer-session-%d", user)
	token, endpoint := srv.IssueToken(guild, channel, user, sessionID)
	cfg.Endpoint, cfg.Token, cfg.SessionID = endpoint, token, sessionID
	cfg.ServerID, cfg.ChannelID, cfg.UserID = guild.String(), channel.String(), user.String()
	return startPeer(t, node, fmt.Sprintf("peer %d", user), cfg)
}

// checkReceived fails unless from's frames [first, first+n) all reached p exactly once, and
// with DAVE on every one of them came encrypted and none failed to decrypt.
func checkReceived(t *testing.T, p *peer, from events.Snowflake, first, n int, dave bool) {
	t.Helper()
	s := p.stats()
	r, ok := s.Recv[from.String()]
	if !ok {
		t.Fatalf("%s received nothing from %d: %s", p.name, from, s.Raw)
	}
	if r.Frames != n || r.Distinct != n || r.Min == nil || *r.Min != first || *r.Max != first+n-1 || r.Dupes != 0 {
		t.Errorf("%s from %d: %d frames (%d distinct, %d dupes), numbers %v..%v; want %d..%d once each: %s",
			p.name, from, r.Frames, r.Distinct, r.Dupes, deref(r.Min), deref(r.Max), first, first+n-1, s.Raw)
	}
	if dave && (r.DAVE != n || r.Plain != 0) {
		t.Errorf("%s from %d: %d DAVE frames and %d plain, want %d and 0: %s", p.name, from, r.DAVE, r.Plain, n, s.Raw)
	}
	if !dave && r.Plain != n {
		t.Errorf("%s from %d: %d plain frames, want %d: %s", p.name, from, r.Plain, n, s.Raw)
	}
	if r.Undecryptable != 0 || r.Other != 0 {
		t.Errorf("%s from %d: %d undecryptable and %d unknown frames (errors %q)", p.name, from, r.Undecryptable, r.Other, r.Errors)
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestPeersTransportOnly: two peers in a call without DAVE exchange numbered frames through the
// simulator's relay, in each transport mode. The peers seal and open with node:crypto (and their
// own HChaCha20 for XChaCha20), the relay with Go's crypto, and the relay adds an RTP header
// extension the peers must skip.
func TestPeersTransportOnly(t *testing.T) {
	node := requireNode(t)
	for _, mode := range []voice.Mode{voice.ModeAES256GCMRTPSize, voice.ModeXChaCha20Poly1305RTPSize} {
		t.Run(string(mode), func(t *testing.T) {
			srv := newServer(t, voicesim.WithDAVE(0, false), voicesim.WithModes(mode))
			a := joinPeer(t, node, srv, 11, peerConfig{Mode: string(mode)})
			a.waitFor(stepWait, "session", func(e peerEvent) bool { return e.DAVE == 0 })
			b := joinPeer(t, node, srv, 12, peerConfig{Mode: string(mode)})
			b.waitFor(stepWait, "session", func(e peerEvent) bool { return e.DAVE == 0 })

			// Each sends after it knows the other's SSRC (speaking), so nothing is dropped as unknown.
			a.waitFor(stepWait, "speaking", byUser(12))
			b.waitFor(stepWait, "speaking", byUser(11))
			sendBurst(t, a, b, 11, 12, 0, false)
			if u := srv.Ledger().UDP; u.BadAuth != 0 {
				t.Errorf("the relay could not open %d of the peers' packets", u.BadAuth)
			}
		})
	}
}

func byUser(u events.Snowflake) func(peerEvent) bool {
	return func(e peerEvent) bool { return e.User == u.String() }
}

// sendBurst has a and b each send frames numbered from first and checks both received all of
// the other's.
func sendBurst(t *testing.T, a, b *peer, aID, bID events.Snowflake, first int, dave bool) {
	t.Helper()
	for _, p := range []*peer{a, b} {
		p.setMark()
		p.command(map[string]any{"cmd": "reset"})
		p.waitFor(stepWait, "reset", nil)
	}
	for _, p := range []*peer{a, b} {
		p.command(map[string]any{"cmd": "send", "count": frames})
	}
	for _, p := range []*peer{a, b} {
		p.waitFor(stepWait, "sent", func(e peerEvent) bool { return e.Last == first+frames-1 })
	}
	// Five silence frames follow the numbered ones; wait until the last of them arrived.
	a.waitFor(stepWait, "silence", silenceFrom(bID))
	b.waitFor(stepWait, "silence", silenceFrom(aID))
	checkReceived(t, a, bID, first, frames, dave)
	checkReceived(t, b, aID, first, frames, dave)
}

// silenceFrom matches the fifth silence frame from u: the end of a burst.
func silenceFrom(u events.Snowflake) func(peerEvent) bool {
	return func(e peerEvent) bool { return e.User == u.String() && e.Count == 5 }
}
