package connections

import (
	"errors"
	"fmt"
	"time"

	"github.com/cordage/cordage/events"
)

// Sentinel errors. Commands that cannot be carried out come back with one of them (wrapped),
// never as a silent drop.
var (
	// ErrClosed: the connection was closed (Close, Disconnect, ctx cancellation, or a fatal stop).
	ErrClosed = errors.New("connections: closed")
	// ErrInvalidOption: an option or argument was out of range; the message names it.
	ErrInvalidOption = errors.New("connections: invalid option")
	// ErrUnknownShard: the command names a shard this connection does not run.
	ErrUnknownShard = errors.New("connections: unknown shard")
	// ErrShardNotReady: the shard has no live session right now (connecting, identifying,
	// resuming); retry after its ShardReady or ShardResumed event.
	ErrShardNotReady = errors.New("connections: shard not ready")
	// ErrPayloadTooLarge: the encoded command is over Discord's 4096-byte limit.
	ErrPayloadTooLarge = errors.New("connections: payload over 4096 bytes")
	// ErrSendWindowFull: the shard already used its share of 120 sends per 60 s; see
	// *SendWindowError for when to retry.
	ErrSendWindowFull = errors.New("connections: send window full")
	// ErrSendQueueFull: too many commands are already waiting for the shard.
	ErrSendQueueFull = errors.New("connections: shard send queue full")
	// ErrUnauthorized: Discord rejected the token (HTTP 401 or close 4004).
	ErrUnauthorized = errors.New("connections: token rejected")
	// ErrReShardRequired: Discord asked for more shards (close 4011) on a connection made with
	// ConnectShards, which does not own the whole shard set and so cannot re-shard by itself.
	ErrReShardRequired = errors.New("connections: re-shard required")
)

// SendWindowError is returned when a shard's send window is full.
type SendWindowError struct {
	Shard      int
	RetryAfter time.Duration
}

func (e *SendWindowError) Error() string {
	return fmt.Sprintf("connections: shard %d: send window full (120 per 60s), retry after %v", e.Shard, e.RetryAfter)
}

// Unwrap makes errors.Is(err, ErrSendWindowFull) true.
func (e *SendWindowError) Unwrap() error { return ErrSendWindowFull }

// CloseError is why a shard stopped for good: a close code no retry can fix, or (Code 0) a
// session-start budget or identify gate that refuses every further identify.
type CloseError struct {
	Shard  int
	Code   events.CloseCode
	Reason string
}

func (e *CloseError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("connections: shard %d stopped: %s", e.Shard, e.Reason)
	}
	return fmt.Sprintf("connections: shard %d stopped: close %v: %s", e.Shard, e.Code, e.Reason)
}

// Is makes errors.Is(err, ErrUnauthorized) true for close 4004.
func (e *CloseError) Is(target error) bool {
	return target == ErrUnauthorized && e.Code == events.CloseAuthenticationFailed
}

// Fatal reports whether no reconnect can fix the code.
func (e *CloseError) Fatal() bool { return e.Code.Policy() == events.PolicyFatal }

// CloseCode returns the close code carried by err, or -1 if it carries none.
func CloseCode(err error) events.CloseCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}

// HTTPError is a non-2xx answer from the REST API to GET /gateway/bot.
type HTTPError struct {
	Status int
	// Message is Discord's error message, if the body carried one.
	Message string
}

func (e *HTTPError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("connections: GET /gateway/bot: HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("connections: GET /gateway/bot: HTTP %d", e.Status)
}

// Is makes errors.Is(err, ErrUnauthorized) true for HTTP 401.
func (e *HTTPError) Is(target error) bool { return target == ErrUnauthorized && e.Status == 401 }

func optionError(name, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidOption, name, fmt.Sprintf(format, args...))
}
