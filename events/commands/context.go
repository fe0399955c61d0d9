package commands

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/cordage/cordage/events"
)

// ErrNoResponse is returned by Followup and EditOriginal before the interaction has been
// answered (Discord has no original message to edit or follow yet).
var ErrNoResponse = errors.New("commands: the interaction has not been answered yet")

// responseState tracks what has been sent for an interaction.
type responseState int

const (
	stateNone     responseState = iota // nothing sent: the next reply is the initial response
	stateDeferred                      // "thinking…" shown: the next reply edits it
	stateReplied                       // answered: further replies are followups
)

// Context is what a handler knows about the interaction it answers, and how it answers it.
// Its fields are set before the handler runs and must not be changed. Its methods are safe to
// call from several goroutines, but not after the 15 minutes that the interaction token
// lives.
type Context struct {
	InteractionID events.Snowflake
	ApplicationID events.Snowflake
	// GuildID is 0 in DMs.
	GuildID   events.Snowflake
	ChannelID events.Snowflake
	// Channel is the partial channel Discord sends along; nil if it did not.
	Channel *events.Channel
	// User is who ran the command, in a guild or a DM (arsd's SendingUser).
	User events.User
	// Member is the user's guild membership; nil in DMs.
	Member *events.Member
	// Permissions are the member's permissions in the channel (0 in DMs); AppPermissions the
	// bot's.
	Permissions    events.Permissions
	AppPermissions events.Permissions
	// Locale is the user's language; GuildLocale the guild's (empty in DMs).
	Locale      string
	GuildLocale string
	// Command is the full command path as typed, e.g. "admin roles add".
	Command string

	api    Responder
	secret *secret // behind a pointer so that %+v of a Context shows neither token nor payload

	mu             sync.Mutex
	state          responseState
	originalFilled bool // after a defer: the original has been edited with real content
	deferEphemeral bool
}

// secret holds what must not show up in a dump of a Context: the interaction token, and the
// payload that contains it.
type secret struct {
	token string
	raw   json.RawMessage
}

// Raw returns the INTERACTION_CREATE payload as received by Handle (nil after
// HandleInteraction, which gets it decoded).
func (c *Context) Raw() json.RawMessage { return c.secret.raw }

// Responded reports whether an initial response (a reply or a defer) has been sent.
func (c *Context) Responded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state != stateNone
}

// Reply sends content as a message visible to everyone in the channel.
func (c *Context) Reply(ctx context.Context, content string) error {
	return c.Send(ctx, Message{Content: content})
}

// Ephemeral sends content as a message only the user sees.
func (c *Context) Ephemeral(ctx context.Context, content string) error {
	return c.Send(ctx, Message{Content: content, Flags: FlagEphemeral})
}

// Send sends msg in the way that fits what has happened so far: as the initial response; after
// a defer (yours or the automatic one) as the edit that replaces "thinking…"; after that as a
// followup. An ephemeral flag cannot change a non-ephemeral defer (Discord keeps the defer's
// visibility); see Meta.DeferEphemeral.
func (c *Context) Send(ctx context.Context, msg Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state {
	case stateNone:
		if err := c.api.CreateInteractionResponse(ctx, c.InteractionID, c.secret.token, Response{Type: ResponseChannelMessage, Data: &ResponseData{Message: msg}}); err != nil {
			return err
		}
		c.state = stateReplied
		return nil
	case stateDeferred:
		if !c.originalFilled {
			if err := c.api.EditOriginalResponse(ctx, c.ApplicationID, c.secret.token, msg); err != nil {
				return err
			}
			c.originalFilled = true
			return nil
		}
	}
	_, err := c.api.CreateFollowup(ctx, c.ApplicationID, c.secret.token, msg)
	return err
}

// ReplyError tells the user that something went wrong, visible to them only. The text of a
// UserError or OptionError is shown as is; any other error shows a generic apology, because
// its text may hold details not meant for users.
func (c *Context) ReplyError(ctx context.Context, err error) error {
	return c.Send(ctx, Message{Content: userMessage(err), Flags: FlagEphemeral})
}

func userMessage(err error) string {
	var ue *UserError
	var oe *OptionError
	switch {
	case errors.As(err, &ue):
		return ue.Msg
	case errors.As(err, &oe):
		return "Invalid " + oe.Error()
	default:
		return "Sorry, something went wrong while running this command."
	}
}

// Defer shows "thinking…" now and lets the handler answer later (within 15 minutes) with Send,
// Reply or EditOriginal. ephemeral makes the eventual answer visible to the user only. Defer
// after a response is a no-op.
func (c *Context) Defer(ctx context.Context, ephemeral bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deferLocked(ctx, ephemeral)
}

func (c *Context) deferLocked(ctx context.Context, ephemeral bool) error {
	if c.state != stateNone {
		return nil
	}
	resp := Response{Type: ResponseDeferredChannelMessage}
	if ephemeral {
		resp.Data = &ResponseData{Message: Message{Flags: FlagEphemeral}}
	}
	if err := c.api.CreateInteractionResponse(ctx, c.InteractionID, c.secret.token, resp); err != nil {
		return err
	}
	c.state = stateDeferred
	return nil
}

// EditOriginal replaces the content of the initial response (or of the "thinking…" message
// after a defer).
func (c *Context) EditOriginal(ctx context.Context, msg Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateNone {
		return ErrNoResponse
	}
	if err := c.api.EditOriginalResponse(ctx, c.ApplicationID, c.secret.token, msg); err != nil {
		return err
	}
	c.originalFilled = true
	return nil
}

// Followup sends another message after the initial response and returns its id.
func (c *Context) Followup(ctx context.Context, msg Message) (events.Snowflake, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateNone {
		return 0, ErrNoResponse
	}
	return c.api.CreateFollowup(ctx, c.ApplicationID, c.secret.token, msg)
}
