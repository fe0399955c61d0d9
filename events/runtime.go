package events

import "time"

// Runtime events: what the connection runtime (package connections) tells the bot about its
// own shards, on the same out channel as the dispatches. They are not Discord payloads; Discord
// never sends them and they have no sequence number.

// ShardReady says a shard received READY: a new session started.
type ShardReady struct {
	Shard, Shards int
	SessionID     string
	// Guilds is the number of (still unavailable) guilds listed in READY.
	Guilds int
}

// ShardResumed says a shard resumed its session; Replayed dispatches were sent again by
// Discord, each delivered once. A replay may itself contain the RESUMED of an earlier resume
// that never reached the bot; each RESUMED dispatch yields one ShardResumed, so the last one of
// a burst is the one that ended the replay.
type ShardResumed struct {
	Shard     int
	SessionID string
	Replayed  int
}

// ShardDisconnected says a shard's connection ended. Code is the close code (1006 when the
// connection dropped without one, or the code the runtime itself closed with), Cause says why
// in words, and Policy is what the runtime does next.
type ShardDisconnected struct {
	Shard  int
	Code   CloseCode
	Cause  string
	Policy ClosePolicy
}

// ShardReconnecting says a shard is about to open a new connection after Delay, to resume its
// session (Resume true) or to identify afresh.
type ShardReconnecting struct {
	Shard   int
	Attempt int
	Delay   time.Duration
	Resume  bool
}

// SessionReplaced says a shard lost its session and started a new one. Dispatches after
// LastSeq of the old session may never arrive: a bot that keeps state should resynchronise
// (the new session's GUILD_CREATEs carry the current state).
type SessionReplaced struct {
	Shard        int
	OldSessionID string
	LastSeq      int64
	Reason       string
}

// ConnectedAllShards says every shard of the connection has received READY once. It is counted
// from READY dispatches, not guessed from a timer, and is sent once per (re)start of the set.
type ConnectedAllShards struct {
	Shards []int
}

// ReShard reports a re-shard: moving the bot from Old shards to New shards. A connection
// started with ConnectBot re-shards without downtime (on close 4011, on demand, or when
// GET /gateway/bot recommends more shards): it starts the New set beside the Old one and holds
// its events back until every new shard is ready and has loaded its guilds, then swaps. One
// ReShard with Phase ReShardStarted opens it and one with ReShardDone or ReShardFailed closes
// it. A connection started with ConnectShards cannot re-shard by itself: on 4011 it sends one
// ReShard with Phase ReShardRequired (New 0) and ends.
type ReShard struct {
	Old, New int
	Phase    ReShardPhase
	// Reason says what started it ("shard 2 closed with 4011", "command", "GET /gateway/bot
	// recommends 8 shards").
	Reason string
	// Err is why a re-shard failed (ReShardFailed only).
	Err error
	// Attempt counts the tries of this re-shard, from 1 (0 for ReShardRequired).
	Attempt int
	// RetryIn is when the next attempt starts (ReShardFailed only); 0 means it was given up.
	RetryIn time.Duration
}

// ReShardPhase is where a re-shard stands.
type ReShardPhase string

// Re-shard phases.
const (
	// ReShardRequired: Discord asked for more shards (close 4011) and this connection cannot
	// re-shard by itself.
	ReShardRequired ReShardPhase = "required"
	// ReShardStarted: the New set is starting beside the Old one, which keeps delivering.
	ReShardStarted ReShardPhase = "started"
	// ReShardDone: the swap happened. Every event before this one came from the Old set or was
	// held back from the New one; every event after it comes from the New set.
	ReShardDone ReShardPhase = "done"
	// ReShardFailed: the New set was given up (Err says why) and the Old set keeps running,
	// minus any shard that Discord closed with 4011.
	ReShardFailed ReShardPhase = "failed"
)

// ShardStopped says a shard stopped for good: a close code that no retry can fix (bad token,
// invalid shard, invalid or disallowed intents, bad API version), or an exhausted
// session-start budget.
type ShardStopped struct {
	Shard  int
	Code   CloseCode
	Reason string
}

// EventsDropped says the out channel was too slow under a shedding overflow policy and Count
// dispatches of the shard were discarded since the last report. The default policy never drops.
type EventsDropped struct {
	Shard int
	Count int64
}
