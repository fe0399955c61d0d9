package connections_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
)

const secretToken = "MTIzNDU2Nzg5.s3cr3t-t0ken.do-not-log"

// The token never appears in a log line (at debug level, fields included), an error string or
// a %+v dump, across connect, resume, new session, a rejected token and shutdown.
func TestTokenNeverLogged(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)
	clk := clock.Scaled(scale)
	srv := newServer(t, clk, fakediscord.WithToken(secretToken), fakediscord.WithGuilds(2))
	conn, rec := connectBot(t, srv, clk, connections.WithLogger(log))
	ready(t, rec)
	_ = srv.CloseWith(0, events.CloseUnknownError)
	rec.waitKind(t, connections.KindShardResumed, 1)
	_ = srv.InvalidateSession(0, false)
	rec.waitKind(t, connections.KindShardReady, 2)
	var texts []string
	texts = append(texts, fmt.Sprintf("%+v", conn), fmt.Sprintf("%#v", conn))

	// A wrong token: REST rejects it, and so does the gateway.
	_, err := connections.ConnectBot(t.Context(), secretToken+"x", make(chan connections.Event, 1),
		connections.WithAPIURL(srv.RESTURL()), connections.WithLogger(log))
	if !errors.Is(err, connections.ErrUnauthorized) {
		t.Fatalf("wrong token over REST: %v", err)
	}
	texts = append(texts, err.Error())
	gw, err := connections.GetWebsocketGateway(ctxT(t), secretToken, connections.WithAPIURL(srv.RESTURL()))
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan connections.Event, 64)
	bad, err := connections.ConnectShards(t.Context(), secretToken+"x", out, gw, []int{0},
		connections.WithClock(clk), connections.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	badRec := record(t, out)
	badRec.waitKind(t, connections.KindShardStopped, 1)
	if err := bad.Wait(); !errors.Is(err, connections.ErrUnauthorized) {
		t.Fatalf("wrong token on the gateway: %v", err)
	}
	texts = append(texts, bad.Err().Error(), fmt.Sprintf("%+v", bad))
	for _, ev := range append(rec.snapshot(), badRec.snapshot()...) {
		if ev.Kind != connections.KindDispatch {
			texts = append(texts, fmt.Sprintf("%+v", ev))
		}
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}

	if logs.Len() == 0 {
		t.Fatal("nothing was logged: the test checks nothing")
	}
	for _, e := range logs.All() {
		texts = append(texts, e.Message, fmt.Sprint(e.ContextMap()), e.LoggerName)
	}
	for _, s := range texts {
		if strings.Contains(s, secretToken) || strings.Contains(s, "s3cr3t") {
			t.Fatalf("token leaked: %s", s)
		}
	}
}
