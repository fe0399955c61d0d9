package connections_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
)

// Each gateway close code gets the policy of the events table: resume the same session, start a
// new one (and say so), re-shard, or stop for good without retrying.
func TestCloseCodePolicies(t *testing.T) {
	codes := []events.CloseCode{events.CloseNormal, events.CloseGoingAway}
	for _, info := range events.CloseCodes {
		codes = append(codes, info.Code)
	}
	for _, code := range codes {
		t.Run(fmt.Sprint(int(code)), func(t *testing.T) {
			t.Parallel()
			clk := clock.Scaled(scale)
			srv := newServer(t, clk, fakediscord.WithGuilds(2))
			conn, rec := connectBot(t, srv, clk, connections.WithCompression(connections.None))
			ready(t, rec)
			first := sessionOf(t, rec, 0)
			if err := srv.CloseWith(0, code); err != nil {
				t.Fatal(err)
			}
			d := rec.waitKind(t, connections.KindShardDisconnected, 1).Runtime.(events.ShardDisconnected)
			if d.Code != code {
				t.Fatalf("ShardDisconnected code %v, want %v", d.Code, code)
			}
			switch code.Policy() {
			case events.PolicyResume:
				r := rec.waitKind(t, connections.KindShardResumed, 1).Runtime.(events.ShardResumed)
				if r.SessionID != first {
					t.Fatalf("resumed %s, want %s", r.SessionID, first)
				}
				if n := count(rec.snapshot(), connections.KindSessionReplaced); n != 0 {
					t.Fatalf("%d sessions replaced", n)
				}
				if n := len(srv.IdentifyLog()); n != 1 {
					t.Fatalf("%d identifies, want 1", n)
				}
			case events.PolicyNewSession:
				r := rec.waitKind(t, connections.KindSessionReplaced, 1).Runtime.(events.SessionReplaced)
				if r.OldSessionID != first || r.Shard != 0 {
					t.Fatalf("SessionReplaced %+v, want old session %s", r, first)
				}
				second := rec.waitKind(t, connections.KindShardReady, 2).Runtime.(events.ShardReady)
				if second.SessionID == first {
					t.Fatal("the new session has the old id")
				}
				if log := srv.IdentifyLog(); log[len(log)-1].ViaResumeURL {
					t.Fatal("identified on the resume URL")
				}
			case events.PolicyFatal:
				st := rec.waitKind(t, connections.KindShardStopped, 1).Runtime.(events.ShardStopped)
				if st.Code != code {
					t.Fatalf("ShardStopped %+v", st)
				}
				select {
				case <-conn.Done():
				case <-time.After(testTimeout):
					t.Fatal("the connection did not end after its only shard stopped")
				}
				if got := connections.CloseCode(conn.Err()); got != code {
					t.Fatalf("Err() = %v, want close code %v", conn.Err(), code)
				}
				if code == events.CloseAuthenticationFailed && !errors.Is(conn.Err(), connections.ErrUnauthorized) {
					t.Fatalf("4004 is not ErrUnauthorized: %v", conn.Err())
				}
				if n := len(srv.IdentifyLog()); n != 1 {
					t.Fatalf("%d identifies after a fatal close, want no retry", n)
				}
				if n := count(rec.snapshot(), connections.KindShardReconnecting); n != 0 {
					t.Fatalf("%d reconnects after a fatal close", n)
				}
			case events.PolicyReShard:
				rs := rec.waitKind(t, connections.KindReShard, 1).Runtime.(events.ReShard)
				if rs.Old != 1 || rs.New < 2 || rs.Phase != events.ReShardStarted {
					t.Fatalf("ReShard %+v", rs)
				}
				all := rec.waitKind(t, connections.KindConnectedAllShards, 2).Runtime.(events.ConnectedAllShards)
				if len(all.Shards) != rs.New {
					t.Fatalf("connected %v after re-shard to %d", all.Shards, rs.New)
				}
				for _, id := range srv.IdentifyLog()[1:] {
					if id.ShardCount != rs.New {
						t.Fatalf("identify after re-shard with count %d", id.ShardCount)
					}
				}
			}
		})
	}
}

// A connection made with ConnectShards does not own the whole bot, so on 4011 it reports
// ReShard and ends with ErrReShardRequired.
func TestReShardOnConnectShards(t *testing.T) {
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithGuilds(2), fakediscord.WithShardCount(2))
	gw, err := connections.GetWebsocketGateway(ctxT(t), srv.Token(), connections.WithAPIURL(srv.RESTURL()))
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan connections.Event, 64)
	conn, err := connections.ConnectShards(t.Context(), srv.Token(), out, gw, []int{1},
		connections.WithClock(clk), connections.WithCompression(connections.None))
	if err != nil {
		t.Fatal(err)
	}
	rec := record(t, out)
	defer conn.Close()
	ready(t, rec)
	if err := srv.CloseWith(1, events.CloseShardingRequired); err != nil {
		t.Fatal(err)
	}
	if rs := rec.waitKind(t, connections.KindReShard, 1).Runtime.(events.ReShard); rs.Phase != events.ReShardRequired || rs.Old != 2 {
		t.Fatalf("ReShard %+v", rs)
	}
	<-conn.Done()
	if !errors.Is(conn.Err(), connections.ErrReShardRequired) {
		t.Fatalf("Err() = %v", conn.Err())
	}
}
