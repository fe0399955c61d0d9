package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/cordage/cordage/events"
)

// ErrNotHandled is returned by Handle for interactions this package does not answer
// (components, modals, USER and MESSAGE commands), so the caller can route them elsewhere.
var ErrNotHandled = errors.New("commands: interaction is not a chat-input command or autocomplete")

// ErrUnknownCommand is wrapped by the error Handle returns for a command that is not
// registered (Discord's registration is older or newer than this Registry; Sync fixes that).
var ErrUnknownCommand = errors.New("commands: unknown command")

// Handle answers one interaction: d is the data of an INTERACTION_CREATE dispatch (or the body
// of an HTTP interaction). It decodes the options, calls the handler and makes sure Discord
// gets an answer:
//
//   - a handler still running after WithDeferAfter (2 s) is deferred for it, so Discord's
//     3-second deadline is met; its later Reply edits the "thinking…" message;
//   - a handler that returns an error gets it shown to the user (see Context.ReplyError);
//   - a handler that panics is recovered; the user sees an apology and Handle returns a
//     *PanicError;
//   - a handler that returns nil without answering gets an ephemeral "Done.".
//
// Bad option values get an error reply naming the option, and are returned as *OptionError.
// Autocomplete interactions call the command type's Autocomplete method. PING (HTTP
// endpoints) is answered with PONG.
//
// Handle runs the handler in the calling goroutine and returns when it is done; call it from a
// goroutine of your own to handle interactions concurrently. It returns the handler's error
// (already shown to the user), or an error from REST. ctx is passed to the handler and bounds
// the REST calls.
func (r *Registry) Handle(ctx context.Context, api Responder, d json.RawMessage) error {
	var in events.Interaction
	if err := json.Unmarshal(d, &in); err != nil {
		return fmt.Errorf("commands: decode interaction: %w", err)
	}
	return r.handle(ctx, api, &in, d)
}

// HandleInteraction is Handle for an interaction already decoded, e.g. by a dispatcher.
func (r *Registry) HandleInteraction(ctx context.Context, api Responder, in *events.Interaction) error {
	return r.handle(ctx, api, in, nil)
}

func (r *Registry) handle(ctx context.Context, api Responder, in *events.Interaction, raw json.RawMessage) error {
	if api == nil || in == nil {
		return errors.New("commands: Handle needs a Responder and an interaction")
	}
	switch in.Type {
	case events.InteractionPing:
		return api.CreateInteractionResponse(ctx, in.ID, in.Token, Response{Type: ResponsePong})
	case events.InteractionApplicationCommand, events.InteractionAutocomplete:
	default:
		return ErrNotHandled
	}
	data, err := in.CommandData()
	if err != nil {
		return fmt.Errorf("commands: %w", err)
	}
	if data.Type != 0 && data.Type != events.CommandChatInput {
		return ErrNotHandled
	}
	if data.Resolved == nil {
		data.Resolved = &events.Resolved{}
	}
	c := r.newContext(api, in, raw)

	r.mu.RLock()
	top, n, opts, path := r.route(&data)
	r.mu.RUnlock()
	c.Command = strings.Join(path, " ")
	log := r.log.With(zap.String("command", c.Command), zap.Stringer("interaction_id", in.ID))

	if n == nil {
		err := fmt.Errorf("%w /%s", ErrUnknownCommand, c.Command)
		log.Warn("commands: unknown command")
		if in.Type == events.InteractionAutocomplete {
			return errors.Join(err, r.respondChoices(ctx, c, nil))
		}
		return errors.Join(err, c.Send(ctx, Message{Content: "This command is not available right now.", Flags: FlagEphemeral}))
	}
	if in.Type == events.InteractionAutocomplete {
		return r.autocomplete(ctx, c, n, opts, data.Resolved, log)
	}
	c.deferEphemeral = n.meta.DeferEphemeral || top.meta.DeferEphemeral

	v, err := decodeOptions(n.spec, opts, data.Resolved, false)
	if err != nil {
		log.Warn("commands: bad option value", zap.Error(err))
		return errors.Join(err, c.ReplyError(ctx, err))
	}
	herr := r.run(ctx, c, n, v, log)
	return errors.Join(herr, r.finish(ctx, c, herr, log))
}

func (r *Registry) newContext(api Responder, in *events.Interaction, raw json.RawMessage) *Context {
	c := &Context{
		InteractionID:  in.ID,
		ApplicationID:  in.ApplicationID,
		GuildID:        in.GuildID,
		ChannelID:      in.ChannelID,
		Channel:        in.Channel,
		Locale:         in.Locale,
		GuildLocale:    in.GuildLocale,
		AppPermissions: in.AppPermissions,
		api:            api,
		secret:         &secret{token: in.Token, raw: raw},
	}
	if c.ChannelID == 0 && c.Channel != nil {
		c.ChannelID = c.Channel.ID
	}
	switch {
	case in.Member != nil:
		m := *in.Member
		c.Member = &m
		c.Permissions = m.Permissions
		if m.User != nil {
			c.User = *m.User
		}
	case in.User != nil:
		c.User = *in.User
	}
	return c
}

// route finds the leaf command an interaction names, its top-level command and the options
// meant for it. The leaf is nil if the command (or subcommand) is not registered.
func (r *Registry) route(d *events.ApplicationCommandData) (top, leaf *node, opts []events.ApplicationCommandDataOption, path []string) {
	path = []string{d.Name}
	for _, t := range r.top {
		if t.meta.Name == d.Name {
			top = t
		}
	}
	n := top
	opts = d.Options
	for n != nil && n.kind == nodeGroup {
		if len(opts) != 1 || (opts[0].Type != events.OptionSubCommand && opts[0].Type != events.OptionSubCommandGroup) {
			return top, nil, nil, path
		}
		path = append(path, opts[0].Name)
		n = n.child(opts[0].Name)
		opts = opts[0].Options
	}
	return top, n, opts, path
}

// run calls the handler with the automatic defer armed, and recovers a panic.
func (r *Registry) run(ctx context.Context, c *Context, n *node, v reflect.Value, log *zap.Logger) (err error) {
	if r.deferAfter > 0 {
		timer := r.clk.NewTimer(r.deferAfter)
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			select {
			case <-timer.C():
			case <-done:
				return
			}
			c.mu.Lock()
			derr := c.deferLocked(ctx, c.deferEphemeral)
			c.mu.Unlock()
			if derr != nil {
				log.Warn("commands: automatic defer failed", zap.Error(derr))
			} else {
				log.Debug("commands: handler is slow; response deferred")
			}
		})
		defer func() {
			timer.Stop()
			close(done)
			wg.Wait()
		}()
	}
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p, Stack: debug.Stack()}
			log.Error("commands: handler panicked", zap.Any("panic", p), zap.ByteString("stack", err.(*PanicError).Stack))
		}
	}()
	return n.call(ctx, c, v)
}

// finish makes sure the interaction has been answered after the handler returned.
func (r *Registry) finish(ctx context.Context, c *Context, herr error, log *zap.Logger) error {
	if herr != nil {
		var pe *PanicError
		if !errors.As(herr, &pe) {
			log.Warn("commands: handler failed", zap.Error(herr))
		}
		return c.ReplyError(ctx, herr)
	}
	c.mu.Lock()
	unanswered := c.state == stateNone || (c.state == stateDeferred && !c.originalFilled)
	c.mu.Unlock()
	if unanswered {
		return c.Send(ctx, Message{Content: "Done.", Flags: FlagEphemeral})
	}
	return nil
}

// autocomplete answers an APPLICATION_COMMAND_AUTOCOMPLETE interaction.
func (r *Registry) autocomplete(ctx context.Context, c *Context, n *node, opts []events.ApplicationCommandDataOption, res *events.Resolved, log *zap.Logger) (err error) {
	var f Focused
	var fs *fieldSpec
	for _, od := range opts {
		if od.Focused {
			f.Name = od.Name
			f.Value = focusedText(od.Value)
			if i, ok := n.spec.byName[od.Name]; ok {
				fs = &n.spec.fields[i]
				f.Field = fs.goName
			}
		}
	}
	if n.complete == nil {
		if fs == nil || fs.choicesFile == "" {
			return r.respondChoices(ctx, c, nil)
		}
		choices, err := r.fileSuggestions(n.spec, fs, f.Value)
		if err != nil {
			log.Warn("commands: choices file unusable for suggestions", zap.Error(err))
		}
		return errors.Join(err, r.respondChoices(ctx, c, choices))
	}
	v, _ := decodeOptions(n.spec, opts, res, true)
	var choices []Choice
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = &PanicError{Value: p, Stack: debug.Stack()}
				log.Error("commands: autocomplete panicked", zap.Any("panic", p), zap.ByteString("stack", err.(*PanicError).Stack))
			}
		}()
		choices, err = n.complete(ctx, c, v, f)
	}()
	if err != nil {
		var pe *PanicError
		if !errors.As(err, &pe) {
			log.Warn("commands: autocomplete failed", zap.Error(err))
		}
		choices = nil
	}
	var typ events.ApplicationCommandOptionType
	if i, ok := n.spec.byName[f.Name]; ok {
		typ = n.spec.fields[i].opt.Type
	}
	valid := choices[:0:0]
	for _, ch := range choices {
		if ps := checkChoice(typ, ch); len(ps) > 0 {
			log.Warn("commands: autocomplete choice dropped", zap.String("problem", joinProblems(ps)))
			continue
		}
		valid = append(valid, ch)
	}
	if len(valid) > MaxChoices {
		valid = valid[:MaxChoices]
	}
	return errors.Join(err, r.respondChoices(ctx, c, valid))
}

func (r *Registry) respondChoices(ctx context.Context, c *Context, choices []Choice) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.api.CreateInteractionResponse(ctx, c.InteractionID, c.secret.token, Response{Type: ResponseAutocompleteResult, Data: &ResponseData{Choices: choices}})
	if err == nil {
		c.state = stateReplied
	}
	return err
}

// focusedText is what the user typed into the focused option: Discord sends it as a string
// even for number options, but accept a bare number too.
func focusedText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}
