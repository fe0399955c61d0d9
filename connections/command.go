package connections

import "github.com/cordage/cordage/events"

// Command is a value sent on Conn.Commands(). The set is closed: AddShards, RemoveShards,
// GetShardState, StatusUpdate, VoiceStateUpdate, RequestGuildMembers, ReShard and Disconnect.
//
// A command's Reply channel, when set, must be buffered (capacity 1 is enough): the runtime
// sends exactly one value and never blocks on it; if the channel is full the answer is lost.
// A nil Reply means the caller does not want the answer (failures are then only logged).
type Command interface{ command() }

// Status is a shard's life stage.
type Status int32

// Shard statuses.
const (
	StatusStarting     Status = iota // created, not yet connecting
	StatusWaitingGate                // waiting for permission to identify
	StatusConnecting                 // dialling, waiting for Hello
	StatusIdentifying                // Identify sent, waiting for READY
	StatusResuming                   // Resume sent, waiting for RESUMED
	StatusReady                      // READY or RESUMED received: commands are accepted
	StatusReconnecting               // connection lost, waiting out the backoff
	StatusStopped                    // stopped for good
)

var statusNames = [...]string{"starting", "waiting-gate", "connecting", "identifying", "resuming", "ready", "reconnecting", "stopped"}

func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// ShardState is a shard's session as GetShardState reports it: enough to move a live session to
// another process, which passes it to AddShards there and resumes without identifying.
type ShardState struct {
	ID        int
	Count     int
	SessionID string
	Seq       int64
	ResumeURL string
	Status    Status
}

// AddShards starts shards. A state with a SessionID resumes that session (no identify, no gate
// wait); one without starts a new session through the identify gate. Count 0 means the
// connection's shard count. Adding a shard the connection already runs is an error, and so is
// adding any while a re-shard runs or waits to retry (ErrReShardInProgress).
type AddShards struct {
	States []ShardState
	Reply  chan<- error
}

// RemoveShards stops the listed shards. Their connections close with a non-1000 code, so the
// sessions stay resumable for a few minutes: GetShardState first, then RemoveShards, then
// AddShards in another process moves them. While a re-shard runs or waits to retry, the reply
// is ErrReShardInProgress and nothing stops.
type RemoveShards struct {
	IDs   []int
	Reply chan<- error
}

// GetShardState asks for the state of the listed shards (all when IDs is empty), in id order.
// Unknown ids are left out.
type GetShardState struct {
	IDs   []int
	Reply chan<- []ShardState
}

// StatusUpdate sends op 3 (presence update) to the listed shards (all when Shards is empty).
// The reply joins the errors of every shard that could not send it.
type StatusUpdate struct {
	Shards   []int
	Presence events.PresenceUpdate
	Reply    chan<- error
}

// VoiceStateUpdate sends op 4 on the shard of GuildID: join or move to ChannelID, or leave
// voice when ChannelID is nil.
type VoiceStateUpdate struct {
	GuildID   events.Snowflake
	ChannelID *events.Snowflake
	Mute      bool
	Deaf      bool
	Reply     chan<- error
}

// RequestGuildMembers sends op 8 on the shard of GuildID. Answers arrive as GUILD_MEMBERS_CHUNK
// dispatches (or a RATE_LIMITED dispatch).
type RequestGuildMembers struct {
	GuildID   events.Snowflake
	Query     *string
	Limit     int
	Presences bool
	UserIDs   []events.Snowflake
	Nonce     string
	Reply     chan<- error
}

// ReShard moves the bot to Count shards without downtime (Count 0: the count GET /gateway/bot
// recommends): the new shard set starts beside the running one, its events are held back until
// every new shard is ready and has loaded its guilds, then the sets are swapped and the old one
// is stopped. No dispatch is delivered twice or lost across the swap; ReShard events report the
// progress. Reply gets nil after the swap, or why the new set was given up (the old set then
// keeps running). Only a connection started with ConnectBot can re-shard; one re-shard runs at
// a time.
type ReShard struct {
	Count int
	Reply chan<- error
}

// Disconnect stops every shard (closing with 1000, which ends their sessions) and ends the
// connection. Reply, if set, receives nil once every goroutine has stopped.
type Disconnect struct {
	Reply chan<- error
}

func (AddShards) command()           {}
func (RemoveShards) command()        {}
func (GetShardState) command()       {}
func (StatusUpdate) command()        {}
func (VoiceStateUpdate) command()    {}
func (RequestGuildMembers) command() {}
func (ReShard) command()             {}
func (Disconnect) command()          {}

func replyErr(ch chan<- error, err error) {
	if ch == nil {
		return
	}
	select {
	case ch <- err:
	default:
	}
}
