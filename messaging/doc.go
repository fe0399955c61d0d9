// Package messaging is Cordage's Discord REST client: typed endpoints for what a bot does
// (messages, replies, uploads, channels, DMs, users, guilds, members and roles, reactions,
// typing, application commands, interaction responses and follow-ups, GET /gateway/bot), a
// generic Do for every other route, and a rate limiter that keeps the bot inside Discord's
// limits without making it wait longer than they require.
//
// # Getting started
//
//	rest, err := messaging.New(token, messaging.WithLogger(log))
//	if err != nil { … }
//	msg, err := rest.CreateMessage(ctx, channelID, messaging.MessageCreate{Content: "pong"})
//
// One Client serves a whole bot: it is safe for concurrent use, and Discord counts limits per
// bot, so every shard should share it. It starts no goroutines and needs no Close.
//
// # Rate limits
//
// Every request passes the limiter before it is sent:
//
//   - Buckets are learned from X-RateLimit-Bucket and keyed with the route's top-level resource
//     (channel, guild, webhook id and token, interaction), since the hash leaves it out. Routes
//     that share a hash share the bucket. Until a bucket's limits are known, its route sends one
//     request at a time, so the first answer teaches the rest.
//   - X-RateLimit-Remaining and X-RateLimit-Reset-After are honoured exactly, sub-second
//     windows included, on the injected clock (WithClock).
//   - The global limit (50 requests per second unless WithGlobalLimit says otherwise) is
//     applied before sending. Interaction callbacks and webhook-token routes are exempt, as
//     Discord documents, and are sent without the bot token.
//   - A 429 is handled by its scope: user and shared hold the bucket, global holds every
//     request, for retry_after; the request is retried at the head of its queue, at most
//     WithMaxRetries times, then returned as a *RateLimitError.
//   - 401, 403 and 429 answers (except scope shared) are counted over a sliding 10 minutes;
//     before Discord's ban threshold of 10,000 is reached (a margin below it, see
//     WithInvalidRequestLimit) the client refuses to send with ErrInvalidRequestLimit. After a
//     401 on a bot route the token is known to be dead and bot requests are refused at once.
//   - Requests in one bucket are let through in the order they were made. A cancelled context
//     takes its request out of the queue; a wait that would outlast the context's deadline
//     fails at once.
//
// # Errors
//
// Errors are values: *APIError (HTTP status, Discord's JSON code and message, flattened field
// errors) matching ErrBadRequest, ErrUnauthorized, ErrForbidden, ErrNotFound or ErrServer with
// errors.Is; *RateLimitError matching ErrRateLimited; *ValidationError matching
// ErrInvalidInput for requests refused before sending (an empty message, content over 2,000
// characters, more than 10 embeds or 6,000 embed characters, a nonce over 25, a zero snowflake).
// No error, log line or %+v dump contains the bot token or an interaction token.
//
// # Compression
//
// The client asks for Brotli or gzip bodies and decodes them itself.
//
// # Slash commands
//
// Client satisfies events/commands.API (ListCommands, BulkOverwriteCommands,
// CreateInteractionResponse, EditOriginalResponse, CreateFollowup), so a commands.Registry can
// use it directly.
package messaging
