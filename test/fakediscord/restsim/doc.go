// Package restsim is the REST half of Cordage's Discord simulator: an http.Handler that answers
// the API v10 routes a bot uses (messages, channels, users, DMs, guilds, members and roles,
// reactions, typing, application commands, interaction callbacks, follow-ups and the original
// response) with Discord-like state and Discord's documented rate-limit behaviour.
//
// It is written from Discord's documentation, not from Cordage's client, and imports neither
// package messaging nor package connections, so the client is tested against an independent
// reading of the rules.
//
// # Getting started
//
// New returns a Server with one seeded guild, its channels, roles and members. Serve it with
// httptest or mount it in package fakediscord (WithREST); paths may carry the /api/v10 prefix or
// not:
//
//	sim := restsim.New(restsim.Config{Clock: clock.Scaled(100)})
//	ts := httptest.NewServer(sim)
//	defer ts.Close()
//
// # What it enforces
//
//   - Authorization: Bot <token> on every bot route (401, code 0), and a User-Agent of the form
//     "DiscordBot (url, version)" (400).
//   - Per-route buckets with X-RateLimit-Limit, -Remaining, -Reset, -Reset-After (millisecond
//     precision, sub-second windows allowed) and -Bucket. Buckets are keyed by the bucket hash plus
//     the top-level resource (channel, guild, webhook id and token, interaction), and several
//     routes share one hash, as Discord's reaction and member-role routes do.
//   - A global limit (default 50 requests per second) over every bot-authenticated route except
//     interaction callbacks and webhook-token routes, answered with X-RateLimit-Global and scope
//     "global".
//   - 429 bodies {message, retry_after (float seconds), global} with Retry-After and
//     X-RateLimit-Scope (user, global, shared).
//   - The invalid-request counter: 401, 403 and 429 answers (except scope shared) in a sliding
//     10-minute window; reaching the limit bans the client, which then gets Cloudflare's bare
//     "error code: 1015" 429s.
//   - Brotli or gzip response bodies when Accept-Encoding asks for them.
//   - Error bodies {code, message, errors} with Discord's JSON codes (10003 Unknown Channel,
//     50035 Invalid Form Body, ...).
//
// # Observing and steering
//
// Ledger returns every request received (method, route template, major parameter, clock time,
// status, scope). InjectRateLimit and InjectError make the next matching requests fail in a
// chosen way. Config returns the limits in force. Every method is safe for concurrent use.
//
// # Time
//
// Every window runs on Config.Clock; with clock.Scaled(100) a 5-second bucket resets in 50 ms
// of wall time and the headers still speak Discord's seconds.
package restsim
