package connections_test

import (
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
)

// lastResume returns the newest resume of session id in the ledger.
func lastResume(t *testing.T, srv *fakediscord.Server, id string) fakediscord.ResumeRecord {
	t.Helper()
	s, ok := srv.Ledger().Session(id)
	if !ok || len(s.Resumes) == 0 {
		t.Fatalf("session %s has no resume in the ledger", id)
	}
	return s.Resumes[len(s.Resumes)-1]
}

// A server that stops answering heartbeats is a zombie: the runtime closes with a non-1000
// code and resumes the same session on the resume URL.
func TestZombieDetection(t *testing.T) {
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithGuilds(2), fakediscord.WithHeartbeatInterval(5*time.Second))
	_, rec := connectBot(t, srv, clk)
	ready(t, rec)
	first := sessionOf(t, rec, 0)
	if err := srv.Stall(0, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	var d events.ShardDisconnected
	rec.wait(t, "zombie disconnect", func(evs []connections.Event) bool {
		for _, ev := range evs {
			if ev.Kind == connections.KindShardDisconnected {
				d = ev.Runtime.(events.ShardDisconnected)
				return true
			}
		}
		return false
	})
	if d.Code == events.CloseNormal || d.Code == events.CloseGoingAway || d.Policy != events.PolicyResume {
		t.Fatalf("zombie handled as %+v", d)
	}
	if d.Cause[:6] != "zombie" {
		t.Fatalf("cause %q", d.Cause)
	}
	r := rec.waitKind(t, connections.KindShardResumed, 1).Runtime.(events.ShardResumed)
	if r.SessionID != first {
		t.Fatalf("resumed %s, want %s", r.SessionID, first)
	}
	if !lastResume(t, srv, first).ViaResumeURL {
		t.Fatal("resume did not use resume_gateway_url")
	}
	// The stalled connection was closed by the client with a code that keeps the session.
	s, _ := srv.Ledger().Session(first)
	for _, c := range s.Connections[:len(s.Connections)-1] {
		if c.Code == events.CloseNormal || c.Code == events.CloseGoingAway {
			t.Fatalf("connection ended with %v", c.Code)
		}
	}
}

// op 7: reconnect and resume, on the resume URL, with nothing lost.
func TestReconnectRequest(t *testing.T) {
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithGuilds(2))
	_, rec := connectBot(t, srv, clk)
	ready(t, rec)
	first := sessionOf(t, rec, 0)
	if err := srv.SendReconnect(0); err != nil {
		t.Fatal(err)
	}
	// Dispatches sent while the shard reconnects are replayed.
	for range 5 {
		if err := srv.DispatchToShard(0, "TYPING_START", map[string]any{"channel_id": "1"}); err != nil {
			t.Fatal(err)
		}
	}
	d := rec.waitKind(t, connections.KindShardDisconnected, 1).Runtime.(events.ShardDisconnected)
	if d.Cause != "op 7 reconnect requested" || d.Code == events.CloseNormal {
		t.Fatalf("disconnect %+v", d)
	}
	rec.waitKind(t, connections.KindShardResumed, 1)
	rec.wait(t, "5 TYPING_START", func(evs []connections.Event) bool { return countType(evs, "TYPING_START") == 5 })
	if !lastResume(t, srv, first).ViaResumeURL {
		t.Fatal("resume did not use resume_gateway_url")
	}
	waitLedger(t, srv, nil, rec)
}

// op 9 d=true resumes; op 9 d=false identifies afresh on the gateway URL (never the resume URL)
// and reports the lost session.
func TestInvalidSession(t *testing.T) {
	for _, resumable := range []bool{true, false} {
		name := "not-resumable"
		if resumable {
			name = "resumable"
		}
		t.Run(name, func(t *testing.T) {
			clk := clock.Scaled(scale)
			srv := newServer(t, clk, fakediscord.WithGuilds(2))
			_, rec := connectBot(t, srv, clk)
			ready(t, rec)
			first := sessionOf(t, rec, 0)
			if err := srv.InvalidateSession(0, resumable); err != nil {
				t.Fatal(err)
			}
			if resumable {
				r := rec.waitKind(t, connections.KindShardResumed, 1).Runtime.(events.ShardResumed)
				if r.SessionID != first || len(srv.IdentifyLog()) != 1 {
					t.Fatalf("resumed %s (want %s) after %d identifies", r.SessionID, first, len(srv.IdentifyLog()))
				}
				return
			}
			r := rec.waitKind(t, connections.KindSessionReplaced, 1).Runtime.(events.SessionReplaced)
			if r.OldSessionID != first {
				t.Fatalf("replaced %+v", r)
			}
			rec.waitKind(t, connections.KindShardReady, 2)
			log := srv.IdentifyLog()
			if len(log) != 2 || log[1].ViaResumeURL || !log[1].Accepted {
				t.Fatalf("identify log %+v", log)
			}
			if n := count(rec.snapshot(), connections.KindShardResumed); n != 0 {
				t.Fatalf("%d resumes of an invalid session", n)
			}
		})
	}
}

// A corrupt compressed stream fails only its connection: the shard reconnects with a fresh
// decompressor and resumes without losing anything.
func TestCorruptStream(t *testing.T) {
	for _, comp := range []connections.Compression{connections.ZlibStream, connections.ZstdStream} {
		t.Run(comp.String(), func(t *testing.T) {
			clk := clock.Scaled(scale)
			srv := newServer(t, clk, fakediscord.WithGuilds(2))
			_, rec := connectBot(t, srv, clk, connections.WithCompression(comp))
			ready(t, rec)
			if err := srv.CorruptNext(0); err != nil {
				t.Fatal(err)
			}
			if err := srv.DispatchToShard(0, "TYPING_START", map[string]any{"channel_id": "1"}); err != nil {
				t.Fatal(err)
			}
			rec.waitKind(t, connections.KindShardResumed, 1)
			rec.wait(t, "TYPING_START", func(evs []connections.Event) bool { return countType(evs, "TYPING_START") == 1 })
			waitLedger(t, srv, nil, rec)
		})
	}
}

// A message whose inflated end falls exactly on the 32 KiB window boundary, and messages split
// over several websocket frames, decode without a reconnect.
func TestZlibWindowBoundary(t *testing.T) {
	for _, split := range []int{0, 512} {
		t.Run(map[int]string{0: "whole-frames", 512: "split-frames"}[split], func(t *testing.T) {
			clk := clock.Scaled(scale)
			srv := newServer(t, clk, fakediscord.WithGuilds(2), fakediscord.WithZlibSplit(split))
			_, rec := connectBot(t, srv, clk, connections.WithCompression(connections.ZlibStream))
			ready(t, rec)
			for i := range 6 {
				if err := srv.ZlibBoundaryNext(0); err != nil {
					t.Fatal(err)
				}
				if err := srv.DispatchToShard(0, "MESSAGE_CREATE", map[string]any{"content": "x", "n": i}); err != nil {
					t.Fatal(err)
				}
			}
			rec.wait(t, "6 messages", func(evs []connections.Event) bool { return countType(evs, "MESSAGE_CREATE") == 6 })
			if n := count(rec.snapshot(), connections.KindShardDisconnected); n != 0 {
				t.Fatalf("%d disconnects: %s", n, summary(rec.snapshot()))
			}
			waitLedger(t, srv, nil, rec)
		})
	}
}
