// Package fakediscord is a Discord gateway and REST simulator for tests, written from Discord's
// documentation rather than from any client.
//
// # Getting started
//
// New starts a server on 127.0.0.1 with a random port. Point a bot at RESTURL (for
// GET /gateway/bot) or straight at GatewayURL, authenticate with Token, and Close the server at
// the end of the test:
//
//	srv, err := fakediscord.New(fakediscord.WithShardCount(2), fakediscord.WithClock(clock.Scaled(1000)))
//	if err != nil { … }
//	defer srv.Close()
//
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
// identify spacing takes 5 ms of wall time and the logic is unchanged.
//
// # Concurrency
//
// Every exported method is safe for concurrent use. Close stops every goroutine the server
// started and waits for them.
package fakediscord
