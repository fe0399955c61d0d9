// Package rpc talks to the Discord desktop app running on the user's own machine, through the
// RPC server the app runs locally: set a rich presence, log in on the user's behalf, list
// guilds and channels, move the user between voice channels, and hear who joins, leaves,
// starts and stops speaking as it happens.
//
// Call Dial first. It finds the app on the first transport that answers: the IPC socket
// (discord-ipc-0 … -9 under $XDG_RUNTIME_DIR, $TMPDIR, $TMP, $TEMP or /tmp, and the Flatpak and
// Snap subdirectories; the named pipe \\?\pipe\discord-ipc-N on Windows), then the local
// websocket on ports 6463–6472. ExampleClient shows a whole session; docs/rpc.md explains
// the OAuth2 side.
//
// # Commands
//
// Commands are typed values (Authorize, Authenticate, GetGuilds, GetGuild, GetChannel,
// GetChannels, Subscribe, Unsubscribe, SelectVoiceChannel, GetSelectedVoiceChannel,
// SetActivity, ClearActivity). Client.Do sends one with a fresh nonce and waits for the answer
// with that nonce; the methods (Guilds, Subscribe, SetActivity, Login, …) are sugar over Do
// that decode the answer. Every call takes its own ctx.
//
// SET_ACTIVITY works for every application. Everything else needs AUTHENTICATE with the "rpc"
// scope, and Discord grants the rpc scopes only to applications it approved (and to up to 50
// testers an application lists).
//
// # Logging in
//
// Login runs AUTHORIZE, the OAuth2 code-for-token exchange and AUTHENTICATE. Pass the bot's REST
// client as the exchanger, rpc.WithTokenExchanger(restClient): *messaging.Client implements
// TokenExchanger, so the exchange goes through its rate limiter and error handling.
// HTTPTokenExchanger, the default, remains as the fallback for programs without a REST
// client. The token is a Token (an alias of events.OAuth2Token), which never prints its
// secrets.
//
// # Events
//
// Dispatches arrive on the caller's out channel as typed values (VoiceStateCreate,
// SpeakingStart, VoiceChannelSelect, GuildStatus, MessageCreate, …; UnknownEvent for the
// rest), next to the client's own Ready, Disconnected and ErrorEvent. Read them with a type
// switch. Ready always comes first for each connection.
//
// # Lifetime
//
// The ctx given to Dial bounds the client's whole life; cancelling it is Close. Close waits
// for every goroutine and may be called from the goroutine that reads out. Done and Err tell
// when and why the client stopped by itself.
//
// When the connection drops (the app restarts or crashes, or closes with a code that a retry
// can fix) the client sends Disconnected, waits a capped, jittered backoff (WithBackoff, on
// the clock of WithClock) and dials again. On the new connection it re-sends the access token,
// every subscription and the rich presence before it sends Ready{Reconnected: true}.
// Commands made meanwhile wait for the new connection; a command whose answer was lost
// returns ErrConnectionLost and is not re-sent.
//
// # Backpressure
//
// Between the connection reader and out sits a queue of WithEventBuffer events. When it is
// full the reader waits, and so do answers to commands: keep reading out.
//
// # Errors
//
// An ERROR answer is an *Error with its RPC code (CodeInvalidToken, CodeSelectVoiceForceRequired,
// …); a close from the app is a *CloseError with its close code. Close codes for a wrong
// client id, origin, version or encoding, and a revoked token, are fatal: the client stops
// and Err returns the *CloseError. ErrorCodeOf and CloseCodeOf read them from any error.
//
// # Concurrency
//
// Every method of Client is safe for concurrent use.
package rpc
