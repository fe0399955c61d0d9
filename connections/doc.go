// Package connections is Cordage's gateway runtime: a sharded, self-healing connection to
// Discord in the style of discljord, whose events arrive on a channel the bot reads in its own
// select loop.
//
// Call [ConnectBot] first. It asks Discord for the recommended shard count, checks the
// session-start budget and starts every shard. [ConnectShards] starts a chosen subset, for bots
// that spread their shards over processes; share identify permission between them with
// [WithIdentifyGate]. Both return a [*Conn]; read its out channel until [Conn.Done].
//
// # Events
//
// Every dispatch arrives on out as an [Event] with its shard, name, sequence number and the
// exact bytes of its data. Runtime events share the channel, in order with the dispatches of
// their shard: ShardReady, ShardResumed, ShardDisconnected, ShardReconnecting, SessionReplaced
// (a session was lost and events may be missing), ConnectedAllShards, ReShard, ShardStopped and
// EventsDropped (only under [OverflowDrop]). Their details are the types of the same name in
// package events.
//
// Within a session the runtime delivers every dispatch exactly once, in order: it tracks
// sequence numbers, resumes whenever Discord allows it and drops the replayed dispatches it
// already delivered. When Discord does not allow a resume, the new session is announced with
// SessionReplaced before its READY.
//
// # Commands
//
// [Conn.Commands] takes typed values ([AddShards], [RemoveShards], [GetShardState],
// [StatusUpdate], [VoiceStateUpdate], [RequestGuildMembers], [ReShard], [Disconnect]); every
// method of Conn is sugar over sending one. A command that cannot be carried out answers on its
// Reply channel with an error (unknown shard, shard not ready, over 4096 bytes, send window full),
// never a silent drop and never a closed socket.
//
// # Re-sharding
//
// A ConnectBot connection re-shards without downtime: on close 4011, on demand ([Conn.ReShard])
// or, with [WithReShardCheck], when GET /gateway/bot recommends more shards. The new shard set
// starts beside the running one (through the identify gate, within the session budget) while
// the old set keeps delivering; the new set's events are held until every new shard is READY
// and has loaded its guilds, then the sets swap. Both sets receive most events while they
// overlap; the runtime matches them so that each dispatch is delivered once. ReShard events
// (Phase started, then done or failed) frame it; if the new set fails, the old one keeps
// running. docs/operations.md has the memory cost and what to monitor.
//
// # Lifetime
//
// The ctx passed to ConnectBot or ConnectShards bounds the runtime's whole life: cancelling it
// is the same as [Conn.Close]. Close stops every shard (closing with 1000, which ends their
// sessions) and returns once every goroutine the runtime started has returned. The runtime
// never closes out.
//
// # Concurrency and backpressure
//
// One control goroutine owns the shard table and carries out commands one at a time. Each
// shard has a goroutine that owns its connection and heartbeats, and a reader per connection.
// Readers never wait for the consumer: events go through a queue to a single delivery
// goroutine, so a consumer that stops reading for minutes costs memory, not the session. See
// [Overflow] for the policies and [Conn.Queued] for the lag.
//
// # Errors
//
// Conditions are sentinels ([ErrClosed], [ErrUnknownShard], [ErrShardNotReady],
// [ErrPayloadTooLarge], [ErrSendWindowFull], [ErrUnauthorized], …); data comes as typed errors
// ([*CloseError], [*SendWindowError], [*HTTPError]). The bot token never appears in an error,
// a log line or a %+v dump.
package connections
