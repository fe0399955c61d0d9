package fakediscord

import (
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
)

// DefaultToken is the bot token a server accepts unless WithToken sets another.
const DefaultToken = "fake-bot-token.cordage.test"

// Option configures a Server.
type Option func(*config)

type config struct {
	token             string
	shardCount        int
	guildCount        int
	guildIDs          []events.Snowflake
	maxConcurrency    int
	sessionTotal      int
	sessionRemaining  int
	clk               clock.Clock
	heartbeatInterval time.Duration
	heartbeatGrace    time.Duration
	resumeWindow      time.Duration
	grantedIntents    events.Intent
	maxGuildsPerShard int
	zlibSplit         int
	seed              int64
	log               *zap.Logger
	rest              http.Handler
	membersPerGuild   int
	voiceEndpoint     string
	voiceServer       VoiceServer
	intentFilter      bool
	replayLimit       int
}

func defaultConfig() config {
	return config{
		token:             DefaultToken,
		shardCount:        1,
		guildCount:        4,
		maxConcurrency:    1,
		sessionTotal:      1000,
		sessionRemaining:  1000,
		clk:               clock.Real(),
		heartbeatInterval: 41250 * time.Millisecond,
		resumeWindow:      3 * time.Minute,
		grantedIntents:    events.IntentsPrivileged,
		maxGuildsPerShard: 2500,
		seed:              1,
		log:               zap.NewNop(),
		membersPerGuild:   25,
		voiceEndpoint:     "voice.fakediscord.invalid:443",
		replayLimit:       50000,
	}
}

// WithToken sets the bot token the server accepts (default DefaultToken).
func WithToken(tok string) Option { return func(c *config) { c.token = tok } }

// WithShardCount sets the recommended shard count that GET /gateway/bot returns (default 1). It
// does not restrict the counts clients may identify with.
func WithShardCount(n int) Option { return func(c *config) { c.shardCount = n } }

// WithGuilds makes the bot a member of n deterministic guilds whose ids spread over all shards
// (default 4). WithGuildIDs overrides it.
func WithGuilds(n int) Option { return func(c *config) { c.guildCount = n } }

// WithGuildIDs makes the bot a member of exactly these guilds.
func WithGuildIDs(ids ...events.Snowflake) Option {
	return func(c *config) { c.guildIDs = append([]events.Snowflake(nil), ids...) }
}

// WithMaxConcurrency sets max_concurrency: how many identify buckets (shard_id % m) may each
// identify once per 5 s (default 1).
func WithMaxConcurrency(m int) Option { return func(c *config) { c.maxConcurrency = m } }

// WithSessionStartLimit sets the session-start budget: total per 24 h of clock time and how many
// remain now (default 1000, 1000). Each accepted identify uses one; resumes are free.
func WithSessionStartLimit(total, remaining int) Option {
	return func(c *config) { c.sessionTotal, c.sessionRemaining = total, remaining }
}

// WithClock sets the clock every timer and rate rule of the server runs on (default the wall
// clock). Tests use clock.Scaled(1000) so that 5-second rules take 5 ms.
func WithClock(clk clock.Clock) Option { return func(c *config) { c.clk = clk } }

// WithHeartbeatInterval sets the interval sent in Hello, in clock time (default 41.25 s).
func WithHeartbeatInterval(d time.Duration) Option {
	return func(c *config) { c.heartbeatInterval = d }
}

// WithHeartbeatGrace sets how long after the interval a missing heartbeat is tolerated before the
// server closes with 4009 (default half the interval). A client's first heartbeat is due within
// one interval of Hello, every later one within one interval of the previous.
func WithHeartbeatGrace(d time.Duration) Option { return func(c *config) { c.heartbeatGrace = d } }

// WithResumeWindow sets how long a session whose connection ended resumably stays resumable, in
// clock time (default 3 minutes, Discord's "a few minutes").
func WithResumeWindow(d time.Duration) Option { return func(c *config) { c.resumeWindow = d } }

// WithGrantedIntents sets which privileged intents the application may use (default all three).
// Identifying with any other privileged intent gets close 4014.
func WithGrantedIntents(i events.Intent) Option { return func(c *config) { c.grantedIntents = i } }

// WithMaxGuildsPerShard sets how many guilds one shard may hold before identify gets close 4011
// (default 2500).
func WithMaxGuildsPerShard(n int) Option { return func(c *config) { c.maxGuildsPerShard = n } }

// WithZlibSplit splits every zlib-stream message over websocket messages of at most maxFrame
// bytes, as Discord may; clients must buffer until the 00 00 ff ff suffix. 0 turns it off.
func WithZlibSplit(maxFrame int) Option { return func(c *config) { c.zlibSplit = maxFrame } }

// WithSeed seeds everything random in the server: session ids, chaos (default 1).
func WithSeed(seed int64) Option { return func(c *config) { c.seed = seed } }

// WithLogger sets the logger (default zap.NewNop()). The token is never logged.
func WithLogger(l *zap.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}

// WithREST mounts h for every request under /api/ that the server does not answer itself
// (everything but /gateway, /gateway/bot, /users/@me and /applications/@me). h sees the request
// path unchanged, e.g. /api/v10/channels/1/messages. See also Server.SetREST.
func WithREST(h http.Handler) Option { return func(c *config) { c.rest = h } }

// WithMembersPerGuild sets how many members each guild has, for GUILD_CREATE member_count and
// op 8 answers (default 25). Member i of a guild is named "member%05d".
func WithMembersPerGuild(n int) Option { return func(c *config) { c.membersPerGuild = n } }

// WithVoiceEndpoint sets the endpoint VOICE_SERVER_UPDATE carries (default a .invalid host).
func WithVoiceEndpoint(ep string) Option { return func(c *config) { c.voiceEndpoint = ep } }

// VoiceServer is the voice side op 4 hands users to; the fake voice server in
// test/fakediscord/voice (*voicesim.Server) is one.
type VoiceServer interface {
	// IssueToken returns the token and endpoint of a VOICE_SERVER_UPDATE for a user joining or
	// moving to a channel; sessionID is the one its VOICE_STATE_UPDATE carries. An empty token
	// refuses the join (a full channel: no dispatch at all); an empty endpoint gives a
	// VOICE_SERVER_UPDATE with a null endpoint, and IssueToken is asked again.
	IssueToken(guildID, channelID, userID events.Snowflake, sessionID string) (token, endpoint string)
	// Leave ends the user's voice session in the guild (op 4 with a null channel).
	Leave(guildID, userID events.Snowflake)
}

// WithVoiceServer makes op 4 hand out tokens from v, with v's endpoint, instead of a dummy token
// and the WithVoiceEndpoint endpoint; a leave (null channel) ends the voice session.
func WithVoiceServer(v VoiceServer) Option { return func(c *config) { c.voiceServer = v } }

// WithIntentFilter makes Dispatch and DispatchToShard skip sessions that did not identify with
// the intent Discord requires for the event (GUILD_MESSAGES for a guild MESSAGE_CREATE,
// DIRECT_MESSAGES for one with guild id 0, …); events tied to no intent always pass. Off by
// default, so that tests may inject any event into any session. The server's own answers
// (READY, GUILD_CREATE, chunks, voice updates) are never filtered.
func WithIntentFilter() Option { return func(c *config) { c.intentFilter = true } }

// WithReplayLimit sets how many of a session's most recent dispatches the server keeps for
// replay (default 50000; 0 keeps all). A resume from further back gets op 9 d=false, as when
// Discord's own buffer has run out. The ledger keeps every entry either way.
func WithReplayLimit(n int) Option { return func(c *config) { c.replayLimit = n } }
