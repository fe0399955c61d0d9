package commands

import (
	"fmt"
	"slices"

	"github.com/cordage/cordage/events"
)

// Commands returns the declared commands as Discord's bulk-overwrite endpoint expects them,
// after checking all of Discord's rules, including those that span a whole command (the
// 8000-character budget, 25 subcommands) and the whole set (100 commands).
func (r *Registry) Commands() ([]Command, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.buildLocked()
}

func (r *Registry) buildLocked() ([]Command, error) {
	var errs []error
	out := make([]Command, 0, len(r.top))
	if len(r.top) > MaxGlobalCommands {
		errs = append(errs, &ValidationError{Problem: fmt.Sprintf("%d commands; Discord allows at most %d chat-input commands per scope", len(r.top), MaxGlobalCommands)})
	}
	for _, n := range r.top {
		o, nerrs := r.buildNodeFinal(n, n.meta.Name, true)
		errs = append(errs, nerrs...)
		c := Command{
			Type:                     events.CommandChatInput,
			Name:                     o.Name,
			NameLocalizations:        o.NameLocalizations,
			Description:              o.Description,
			DescriptionLocalizations: o.DescriptionLocalizations,
			Options:                  o.Options,
			DefaultMemberPermissions: n.meta.DefaultMemberPermissions,
			NSFW:                     n.meta.NSFW,
			IntegrationTypes:         slices.Clone(n.meta.IntegrationTypes),
			Contexts:                 slices.Clone(n.meta.Contexts),
		}
		if size := commandChars(c); size > MaxCommandChars {
			errs = append(errs, &ValidationError{Type: n.typeName, Path: n.meta.Name, Problem: fmt.Sprintf("command totals %d characters of names, descriptions and choices; Discord allows %d", size, MaxCommandChars)})
		}
		out = append(out, c)
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return out, nil
}

// buildOption builds n as a subcommand or group option, checking everything that n alone
// determines.
func (r *Registry) buildOption(n *node, path string) (Option, []error) {
	return r.buildNodeFinal(n, path, false)
}

// buildNodeFinal builds n; final also requires groups to have subcommands.
func (r *Registry) buildNodeFinal(n *node, path string, final bool) (Option, []error) {
	var errs []error
	o := Option{
		Type:                     events.OptionSubCommand,
		Name:                     n.meta.Name,
		NameLocalizations:        n.meta.NameLocalizations,
		Description:              n.meta.Description,
		DescriptionLocalizations: n.meta.DescriptionLocalizations,
	}
	if ps := checkMeta(n.meta); len(ps) > 0 {
		errs = append(errs, &ValidationError{Type: n.typeName, Path: path, Problem: joinProblems(ps)})
	}
	switch n.kind {
	case nodeGroup:
		o.Type = events.OptionSubCommandGroup
		if final && len(n.children) == 0 {
			errs = append(errs, &ValidationError{Path: path, Problem: "group has no subcommands; register at least one"})
		}
		if len(n.children) > MaxOptions {
			errs = append(errs, &ValidationError{Path: path, Problem: fmt.Sprintf("%d subcommands; Discord allows at most %d", len(n.children), MaxOptions)})
		}
		for _, c := range n.children {
			co, cerrs := r.buildNodeFinal(c, path+" "+c.meta.Name, final)
			errs = append(errs, cerrs...)
			o.Options = append(o.Options, co)
		}
	case nodeLeaf:
		opts, oerrs := r.leafOptions(n, path)
		errs = append(errs, oerrs...)
		o.Options = opts
	}
	return o, errs
}

// leafOptions builds the value options of a command type, with the current choice files.
func (r *Registry) leafOptions(n *node, path string) ([]Option, []error) {
	var errs []error
	fields := n.spec.fields
	if len(fields) > MaxOptions {
		errs = append(errs, &ValidationError{Type: n.typeName, Path: path, Problem: fmt.Sprintf("%d options; Discord allows at most %d", len(fields), MaxOptions)})
	}
	opts := make([]Option, 0, len(fields))
	for _, f := range fields {
		o := f.opt
		o.Choices = slices.Clone(o.Choices)
		fail := func(problem string) {
			errs = append(errs, &ValidationError{Type: n.typeName, Field: f.goName, Path: path + " " + o.Name, Problem: problem})
		}
		if f.choicesFile != "" {
			choices, err := r.fileChoicesLocked(n.spec, &f)
			if err != nil {
				fail(fmt.Sprintf("choices file %s: %v", f.choicesFile, err))
			}
			if f.opt.Autocomplete {
				// The file feeds suggestions, not the schema: no limit on their number, but each
				// must be a valid choice.
				for _, c := range choices {
					if ps := checkChoice(o.Type, c); len(ps) > 0 {
						fail(fmt.Sprintf("choices file %s: %s", f.choicesFile, joinProblems(ps)))
						break
					}
				}
			} else {
				o.Choices = choices
			}
		}
		if ps := checkOption(o); len(ps) > 0 {
			fail(joinProblems(ps))
		}
		opts = append(opts, o)
	}
	return opts, errs
}
