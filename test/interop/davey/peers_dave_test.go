package davey

import (
	"testing"

	"github.com/cordage/cordage/events"
	voicesim "github.com/cordage/cordage/test/fakediscord/voice"
)

// member is a peer in a test's call and the number of its next frame.
type member struct {
	p    *peer
	id   events.Snowflake
	next int
}

// burst has every member send frames numbered from its next, then checks that each received
// all of every other member's, exactly once (and with DAVE, all encrypted and all decrypted).
func burst(t *testing.T, dave bool, ms ...*member) {
	t.Helper()
	for _, m := range ms {
		m.p.setMark()
		m.p.command(map[string]any{"cmd": "reset"})
		m.p.waitFor(stepWait, "reset", nil)
	}
	for _, m := range ms {
		m.p.command(map[string]any{"cmd": "send", "count": frames})
	}
	for _, m := range ms {
		m.p.waitFor(stepWait, "sent", func(e peerEvent) bool { return e.Last == m.next+frames-1 })
	}
	for _, to := range ms {
		for _, from := range ms {
			if from != to {
				to.p.waitFor(stepWait, "silence", silenceFrom(from.id))
			}
		}
	}
	for _, to := range ms {
		for _, from := range ms {
			if from != to {
				checkReceived(t, to.p, from.id, from.next, frames, dave)
			}
		}
	}
	for _, m := range ms {
		m.next += frames
	}
}

// waitEpoch waits until every member executed the transition into epoch and checks that they
// agree on its epoch authenticator and roster; it returns the authenticator.
func waitEpoch(t *testing.T, epoch uint64, ms ...*member) string {
	t.Helper()
	return waitEpochOf(t, epoch, len(ms), ms...)
}

// waitEpochOf is waitEpoch for a group of size members, of which ms are peers.
func waitEpochOf(t *testing.T, epoch uint64, size int, ms ...*member) string {
	t.Helper()
	var auth string
	for i, m := range ms {
		e := m.p.waitFor(stepWait, "execute", func(e peerEvent) bool { return e.Epoch != nil && *e.Epoch == epoch })
		if e.Auth == "" || len(e.Users) != size {
			t.Fatalf("%s at epoch %d: authenticator %q, roster %v; want one of %d members", m.p.name, epoch, e.Auth, e.Users, size)
		}
		if i == 0 {
			auth = e.Auth
		} else if e.Auth != auth {
			t.Fatalf("epoch %d: %s has authenticator %s, %s has %s", epoch, ms[0].p.name, auth, m.p.name, e.Auth)
		}
	}
	t.Logf("epoch %d: %d peers agree on authenticator %s", epoch, len(ms), auth)
	return auth
}

// TestPeersDAVE runs a whole call of davey peers through the simulator: the simulator's
// external sender (written independently of Cordage's MLS code) against OpenMLS. Two peers
// race to commit each other's Add and both end up in one group; they exchange DAVE-encrypted
// audio; a third joins (its Add committed by one of them, welcomed by the winner's Welcome) and
// leaves (a Remove, which needs an UpdatePath); then the last remaining peer is reset as the
// sole member, and a new peer forms a fresh group with it.
func TestPeersDAVE(t *testing.T) {
	node := requireNode(t)
	srv := newServer(t)
	join := func(id events.Snowflake, mode string) *member {
		m := &member{p: joinPeer(t, node, srv, id, peerConfig{CommitMode: mode}), id: id}
		m.p.waitFor(stepWait, "session", func(e peerEvent) bool { return e.DAVE == 1 })
		return m
	}
	a := join(21, "")
	b := join(22, "")

	waitEpoch(t, 1, a, b)
	a.p.waitFor(stepWait, "speaking", byUser(b.id))
	b.p.waitFor(stepWait, "speaking", byUser(a.id))
	burst(t, true, a, b)

	// A third member: only b commits, so a must process b's commit and c join from b's Welcome.
	a.p.command(map[string]any{"cmd": "commit_mode", "mode": "never"})
	c := join(23, "")
	waitEpoch(t, 2, a, b, c)
	for _, m := range []*member{a, b} {
		m.p.waitFor(stepWait, "speaking", byUser(c.id))
		c.p.waitFor(stepWait, "speaking", byUser(m.id))
	}
	burst(t, true, a, b, c)

	// c leaves; now only a commits the Remove.
	a.p.command(map[string]any{"cmd": "commit_mode", "mode": "eager"})
	b.p.command(map[string]any{"cmd": "commit_mode", "mode": "never"})
	leaveCall(t, srv, c)
	waitEpoch(t, 3, a, b)
	burst(t, true, a, b)

	// b leaves: a is the sole member and starts over (prepare epoch 1, transition 0).
	a.p.setMark()
	leaveCall(t, srv, b)
	a.p.waitFor(stepWait, "prepare_epoch", func(e peerEvent) bool { return e.Epoch != nil && *e.Epoch == 1 })
	a.p.waitFor(stepWait, "key_package", nil)
	a.p.waitFor(stepWait, "execute", func(e peerEvent) bool { return e.TID == 0 })

	// A newcomer and a form a new group at epoch 1.
	a.p.setMark()
	d := join(24, "")
	waitEpoch(t, 1, a, d)
	a.p.waitFor(stepWait, "speaking", byUser(d.id))
	burst(t, true, a, d)
}

// leaveCall takes m out of the call as the main gateway does for op 4 with a null channel: the
// voice server closes m's session with 4014, and m (which does not resume after 4014) exits.
func leaveCall(t *testing.T, srv *voicesim.Server, m *member) {
	t.Helper()
	leaveCallIn(t, srv, guildID, m)
}

func leaveCallIn(t *testing.T, srv *voicesim.Server, guild events.Snowflake, m *member) {
	t.Helper()
	srv.Leave(guild, m.id)
	m.p.waitFor(stepWait, "closed", func(e peerEvent) bool { return e.Code == 4014 })
	m.p.waitFor(stepWait, "bye", nil)
}

// TestPeersAutoSend: peers started with --frames send on their own once the DAVE group is up
// (the unattended mode of peer.mjs), and each decrypts all of the other's frames.
func TestPeersAutoSend(t *testing.T) {
	node := requireNode(t)
	srv := newServer(t)
	a := joinPeer(t, node, srv, 31, peerConfig{Frames: frames})
	b := joinPeer(t, node, srv, 32, peerConfig{Frames: frames})
	for _, p := range []*peer{a, b} {
		p.waitFor(stepWait, "sent", func(e peerEvent) bool { return e.Last == frames-1 })
	}
	a.waitFor(stepWait, "silence", silenceFrom(32))
	b.waitFor(stepWait, "silence", silenceFrom(31))
	checkReceived(t, a, 32, 0, frames, true)
	checkReceived(t, b, 31, 0, frames, true)
}
