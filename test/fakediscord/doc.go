// Package fakediscord is a Discord gateway and REST simulator for tests, written from Discord's
// documentation rather than from any client.
//
// # Getting started
//
// New starts a server on 127.0.0.1 with a random port. Point a bot at RESTURL (for
// GET /gateway/bot) or straight at GatewayURL, authenticate with Token, and Close the server at
// the end of the test (NewTest does both for a *testing.T):
//
//	srv, err := fakediscord.New(fakediscord.WithShardCount(2), fakediscord.WithClock(clock.Scaled(1000)))
//	if err != nil { … }
//	defer srv.Close()
//
// Gateway URLs take the usual query: ?v=10&encoding=json, plus compress=zlib-stream or
// compress=zstd-stream. Other REST routes can be mounted with WithREST or SetREST, and any other
// handler (such as a control API) with Mount.
// # What it simulates
//
// The gateway speaks API v10 JSON, optionally over zlib-stream or zstd-stream transport
// compression: Hello, heartbeats and ACKs, Identify with validation of the token, intents, shard
// and large_threshold, READY followed by one GUILD_CREATE per guild of the shard, Resume with
// replay, the identify pacing per max_concurrency bucket and the daily session-start budget, the
// 4096-byte and 120-per-60-s send limits, and every gateway close code for its documented cause.
// Voice state updates, member requests (with the once-per-30-s RATE_LIMITED rule), soundboard and
// channel-info requests are answered as Discord does.
//
// # Driving it
//
// Tests inject events (Dispatch, DispatchToShard, StartTraffic), inject faults (Drop, Stall,
// CorruptNext, SendReconnect, InvalidateSession, RequestHeartbeat, CloseWith, RefuseResumes,
// ZlibBoundaryNext, StartChaos) and read what happened: the Ledger of every dispatch each session
// was sent, the IdentifyLog, Received client frames and the REST UserAgents. WaitFor blocks until
// a predicate over a Snapshot of the server holds, so tests never sleep.
//
// # Time
//
// Every timer runs on the injected clock (WithClock); with clock.Scaled(1000) the 5-second
// identify spacing takes 5 ms of wall time and the logic is unchanged. With a clock.Manual
// nothing happens until the test advances it. The only wall-clock timer is a network one: a
// connection the server closed waits at most 2 s for the client's close frame.
//
// # Not simulated
//
// ETF encoding (connections asking for it are refused with HTTP 400), payload compression
// (identify's compress flag is ignored), large-bot sharding rules (shard counts that must be a
// multiple of an assigned number), the token reset that follows an exhausted session budget
// (identifies are just refused with op 9), and the server closing a connection that ignores an
// op 7 sent after Hello. Dispatch filters by intent only with WithIntentFilter.
//
// # Concurrency
//
// Every exported method is safe for concurrent use. Close stops every goroutine the server
// started and waits for them.
package fakediscord
