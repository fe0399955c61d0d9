package messaging

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. Test with errors.Is; an *APIError matches the sentinel of its HTTP status.
var (
	// ErrBadRequest matches 400 answers.
	ErrBadRequest = errors.New("messaging: bad request")
	// ErrUnauthorized matches 401 answers. After one on a bot route the client refuses every
	// further bot request with an error that also matches it: the token is invalid, and each
	// more 401 counts toward the invalid-request ban.
	ErrUnauthorized = errors.New("messaging: unauthorized")
	// ErrForbidden matches 403 answers (missing access or permissions).
	ErrForbidden = errors.New("messaging: forbidden")
	// ErrNotFound matches 404 answers (unknown channel, message, interaction, ...).
	ErrNotFound = errors.New("messaging: not found")
	// ErrServer matches 5xx answers.
	ErrServer = errors.New("messaging: discord server error")
	// ErrRateLimited matches a *RateLimitError: a 429 that the retries did not get past.
	ErrRateLimited = errors.New("messaging: rate limited")
	// ErrInvalidRequestLimit is returned, without sending, when the count of 401, 403 and 429
	// answers in the last 10 minutes has reached the configured safety threshold below
	// Discord's 10,000, past which Discord bans the IP.
	ErrInvalidRequestLimit = errors.New("messaging: invalid-request limit reached, refusing to send")
	// ErrInvalidInput matches a *ValidationError: the request was rejected before sending.
	ErrInvalidInput = errors.New("messaging: invalid input")
	// ErrInvalidOption is returned by New for a bad option.
	ErrInvalidOption = errors.New("messaging: invalid option")
)

// APIError is an error answer from Discord: the HTTP status, Discord's JSON error code and
// message, and the field errors of an Invalid Form Body (code 50035), flattened.
//
// errors.Is(err, ErrNotFound) and the other status sentinels work on it.
type APIError struct {
	// Method and Route name the request; Route is the template (e.g.
	// "/channels/{channel.id}/messages"), never the filled path, which may hold a token.
	Method string
	Route  string
	Status int
	// Code is Discord's JSON error code (e.g. 10003 Unknown Channel, 50035 Invalid Form Body);
	// 0 when the body had none.
	Code    int
	Message string
	// Errors are the field errors, sorted by path.
	Errors []FieldError
}

// FieldError is one entry of a Discord "errors" object: the dotted path of the field (e.g.
// "embeds.0.description"), a code such as "BASE_TYPE_MAX_LENGTH", and a message.
type FieldError struct {
	Path    string
	Code    string
	Message string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "messaging: %s %s: %d", e.Method, e.Route, e.Status)
	if e.Code != 0 {
		fmt.Fprintf(&b, " (code %d)", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for i, f := range e.Errors {
		if i == 0 {
			b.WriteString(":")
		} else {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s: %s", f.Path, f.Message)
		if f.Code != "" {
			fmt.Fprintf(&b, " (%s)", f.Code)
		}
	}
	return b.String()
}

// Is matches the sentinel of the status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.Status == 400
	case ErrUnauthorized:
		return e.Status == 401
	case ErrForbidden:
		return e.Status == 403
	case ErrNotFound:
		return e.Status == 404
	case ErrServer:
		return e.Status >= 500
	}
	return false
}

// flattenErrors turns Discord's nested errors object into a sorted list. Objects nest by field
// name or array index; leaves are {"_errors": [{code, message}]}.
func flattenErrors(v any) []FieldError {
	var out []FieldError
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, child := range m {
			if k == "_errors" {
				list, _ := child.([]any)
				for _, item := range list {
					im, _ := item.(map[string]any)
					code, _ := im["code"].(string)
					msg, _ := im["message"].(string)
					path := prefix
					if path == "" {
						path = "_"
					}
					out = append(out, FieldError{Path: path, Code: code, Message: msg})
				}
				continue
			}
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			walk(p, child)
		}
	}
	walk("", v)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Code < out[j].Code
	})
	return out
}

// Scope is where a rate limit applies, from X-RateLimit-Scope.
type Scope string

// Rate-limit scopes.
const (
	// ScopeUser is the bot's own per-route bucket.
	ScopeUser Scope = "user"
	// ScopeGlobal is the bot's global limit (50 requests per second by default).
	ScopeGlobal Scope = "global"
	// ScopeShared is a per-resource limit shared with others; it does not count toward the
	// invalid-request ban.
	ScopeShared Scope = "shared"
	// ScopeCloudflare is a 429 without Discord's headers, as Cloudflare answers an IP it has
	// banned. The client does not retry it.
	ScopeCloudflare Scope = "cloudflare"
)

// RateLimitError is a 429 that the client's bounded retries did not get past, or one it was
// told not to retry. It matches ErrRateLimited.
type RateLimitError struct {
	Method string
	Route  string
	Scope  Scope
	// RetryAfter is how long Discord asked to wait.
	RetryAfter time.Duration
	Global     bool
	// Bucket is the X-RateLimit-Bucket hash, when the answer had one.
	Bucket string
	// Message and Code are from the 429 body.
	Message string
	Code    int
	// Attempts is how many times the request was sent.
	Attempts int
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("messaging: %s %s: rate limited (scope %s, retry after %v, %d attempts)",
		e.Method, e.Route, e.Scope, e.RetryAfter, e.Attempts)
}

// Is matches ErrRateLimited.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// ValidationError is a request the client refused to send because Discord would reject it. It
// matches ErrInvalidInput.
type ValidationError struct {
	// Field is the offending field, e.g. "content" or "embeds", or a route parameter such as
	// "{channel.id}".
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	return "messaging: invalid " + e.Field + ": " + e.Reason
}

// Is matches ErrInvalidInput.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidInput }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

func itoa(i int) string { return strconv.Itoa(i) }
