package restsim

import (
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
)

// DefaultToken is the bot token a Server accepts unless Config.Token sets another.
const DefaultToken = "fake-bot-token.cordage.test"

// DefaultApplicationID is the bot's application (and user) id unless Config.ApplicationID is set.
const DefaultApplicationID events.Snowflake = 900000000000000001

// Limit is one rate-limit bucket: Requests per Window, named by Bucket (the opaque hash sent in
// X-RateLimit-Bucket). Routes with the same Bucket share the counter for the same top-level
// resource. Shared makes exhaustion answer with scope "shared", as a per-resource limit that
// other users also draw on does; such 429s do not count as invalid requests.
type Limit struct {
	Bucket   string
	Requests int
	Window   time.Duration
	Shared   bool
}

// Config sets up a Server. The zero value is usable: every zero field takes the default given
// in its comment.
type Config struct {
	// Token is the bot token (without "Bot ") that authorizes requests (DefaultToken).
	Token string
	// ApplicationID is the bot's application id, also its user id (DefaultApplicationID).
	ApplicationID events.Snowflake
	// Clock runs every window and stamps ids and the ledger (clock.Real()).
	Clock clock.Clock
	// GlobalLimit is how many bot-authenticated requests may arrive per GlobalWindow (50 per 1 s).
	GlobalLimit  int
	GlobalWindow time.Duration
	// Routes overrides or adds per-route limits, keyed "METHOD /template", e.g.
	// "POST /channels/{channel.id}/messages". DefaultRoutes lists the defaults.
	Routes map[string]Limit
	// DefaultLimit applies to routes without an entry; its Bucket is derived from the route.
	// Default 50 per 1 s.
	DefaultLimit Limit
	// InvalidLimit is how many 401/403/429 answers (scope shared excluded) in InvalidWindow ban
	// the client (10,000 in 10 min); BanDuration is how long the ban lasts (1 h).
	InvalidLimit  int
	InvalidWindow time.Duration
	BanDuration   time.Duration
	// DisableCompression sends identity bodies even when Brotli or gzip is accepted.
	DisableCompression bool
	// NoSeed starts with an empty world instead of the seeded guild.
	NoSeed bool
}

// DefaultRoutes returns the per-route limits a Server uses unless Config.Routes overrides them.
// They follow the shapes Discord is known to use: message creation at 5 per 5 s per channel,
// reactions sharing one 1-per-250-ms bucket per channel, member-role changes sharing one bucket
// per guild.
func DefaultRoutes() map[string]Limit {
	return map[string]Limit{
		"POST /channels/{channel.id}/messages":                                            {Bucket: "b7a1c2e0msgcreate", Requests: 5, Window: 5 * time.Second},
		"PATCH /channels/{channel.id}/messages/{message.id}":                              {Bucket: "c19f3e55msgedit", Requests: 5, Window: 5 * time.Second},
		"DELETE /channels/{channel.id}/messages/{message.id}":                             {Bucket: "d02a6b71msgdelete", Requests: 5, Window: time.Second},
		"GET /channels/{channel.id}/messages/{message.id}":                                {Bucket: "a55e0c13msgget", Requests: 5, Window: time.Second},
		"GET /channels/{channel.id}":                                                      {Bucket: "e8f01d22channel", Requests: 5, Window: time.Second},
		"POST /channels/{channel.id}/typing":                                              {Bucket: "f3c4a9b0typing", Requests: 5, Window: 5 * time.Second},
		"PUT /channels/{channel.id}/messages/{message.id}/reactions/{emoji}/@me":          {Bucket: "0a9d7e44reactions", Requests: 1, Window: 250 * time.Millisecond},
		"DELETE /channels/{channel.id}/messages/{message.id}/reactions/{emoji}/@me":       {Bucket: "0a9d7e44reactions", Requests: 1, Window: 250 * time.Millisecond},
		"DELETE /channels/{channel.id}/messages/{message.id}/reactions/{emoji}/{user.id}": {Bucket: "0a9d7e44reactions", Requests: 1, Window: 250 * time.Millisecond},
		"DELETE /channels/{channel.id}/messages/{message.id}/reactions/{emoji}":           {Bucket: "0a9d7e44reactions", Requests: 1, Window: 250 * time.Millisecond},
		"DELETE /channels/{channel.id}/messages/{message.id}/reactions":                   {Bucket: "0a9d7e44reactions", Requests: 1, Window: 250 * time.Millisecond},
		"PUT /guilds/{guild.id}/members/{user.id}/roles/{role.id}":                        {Bucket: "1b2c3d4ememberroles", Requests: 10, Window: 10 * time.Second},
		"DELETE /guilds/{guild.id}/members/{user.id}/roles/{role.id}":                     {Bucket: "1b2c3d4ememberroles", Requests: 10, Window: 10 * time.Second},
		"POST /users/@me/channels":                                                        {Bucket: "5e6f7a8bdmcreate", Requests: 1, Window: time.Second},
		"PUT /applications/{application.id}/commands":                                     {Bucket: "9c8b7a6dcommands", Requests: 2, Window: 20 * time.Second},
		"PUT /applications/{application.id}/guilds/{guild.id}/commands":                   {Bucket: "9c8b7a6dcommands", Requests: 2, Window: 20 * time.Second},
		"POST /interactions/{interaction.id}/{interaction.token}/callback":                {Bucket: "77aa88bbcallback", Requests: 1, Window: 5 * time.Second},
		"POST /webhooks/{application.id}/{interaction.token}":                             {Bucket: "44cc55ddwebhook", Requests: 5, Window: 2 * time.Second},
	}
}

func (c Config) withDefaults() Config {
	if c.Token == "" {
		c.Token = DefaultToken
	}
	if c.ApplicationID == 0 {
		c.ApplicationID = DefaultApplicationID
	}
	if c.Clock == nil {
		c.Clock = clock.Real()
	}
	if c.GlobalLimit <= 0 {
		c.GlobalLimit = 50
	}
	if c.GlobalWindow <= 0 {
		c.GlobalWindow = time.Second
	}
	routes := DefaultRoutes()
	for k, v := range c.Routes {
		routes[k] = v
	}
	c.Routes = routes
	if c.DefaultLimit.Requests <= 0 {
		c.DefaultLimit.Requests = 50
	}
	if c.DefaultLimit.Window <= 0 {
		c.DefaultLimit.Window = time.Second
	}
	if c.InvalidLimit <= 0 {
		c.InvalidLimit = 10000
	}
	if c.InvalidWindow <= 0 {
		c.InvalidWindow = 10 * time.Minute
	}
	if c.BanDuration <= 0 {
		c.BanDuration = time.Hour
	}
	return c
}
