package connections

import "time"

// Observer receives the runtime's measurements, for metrics. Cordage has no metrics dependency:
// implement the methods you care about on a type that embeds NopObserver (so new methods added
// later do not break it) and pass it to WithObserver.
//
// Methods are called from runtime goroutines, concurrently, and must return quickly: a slow
// observer delays the shard that reports.
type Observer interface {
	// ShardStatus reports a shard's status change.
	ShardStatus(shard int, s Status)
	// HeartbeatLatency reports the time between a heartbeat and its ACK.
	HeartbeatLatency(shard int, d time.Duration)
	// Reconnect reports a reconnect and its cause ("zombie", "op 7", "close 4000", …).
	Reconnect(shard int, cause string)
	// GateWait reports how long a shard waited for permission to identify.
	GateWait(shard int, d time.Duration)
	// SendWindow reports how many of the 120 sends of the current 60 s window a shard used.
	SendWindow(shard int, used int)
	// OutQueue reports how many events wait for the out channel (the consumer's lag).
	OutQueue(depth int)
	// SessionBudget reports the session starts left, from GET /gateway/bot.
	SessionBudget(remaining int)
	// Dropped reports dispatches discarded under a shedding overflow policy.
	Dropped(shard int, n int)
	// ReShard reports a re-shard when it starts and when it ends (done or failed).
	ReShard(r ReShardReport)
}

// NopObserver ignores everything. Embed it in your own Observer.
type NopObserver struct{}

func (NopObserver) ShardStatus(int, Status)             {}
func (NopObserver) HeartbeatLatency(int, time.Duration) {}
func (NopObserver) Reconnect(int, string)               {}
func (NopObserver) GateWait(int, time.Duration)         {}
func (NopObserver) SendWindow(int, int)                 {}
func (NopObserver) OutQueue(int)                        {}
func (NopObserver) SessionBudget(int)                   {}
func (NopObserver) Dropped(int, int)                    {}
func (NopObserver) ReShard(ReShardReport)               {}
