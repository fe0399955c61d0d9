package commands

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/zap"

	"github.com/cordage/cordage/events"
)

// Sync makes Discord's commands for one scope match the declared set: guildID 0 for the global
// commands, or a guild id. It checks the declarations first (nothing is sent if they break a
// rule), lists what Discord has, and bulk-overwrites only when the two differ, so calling it on
// every READY costs one GET and no command-create budget. It reports whether it overwrote.
//
// The bulk overwrite replaces every command of the scope, including USER and MESSAGE commands
// this Registry does not declare.
func (r *Registry) Sync(ctx context.Context, api Syncer, appID, guildID events.Snowflake) (changed bool, err error) {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	want, err := r.Commands()
	if err != nil {
		return false, err
	}
	have, err := api.ListCommands(ctx, appID, guildID)
	if err != nil {
		return false, fmt.Errorf("commands: list commands (guild %v): %w", guildID, err)
	}
	diff := Diff(have, want)
	if diff == "" {
		r.log.Debug("commands: in sync", zap.Stringer("guild_id", guildID), zap.Int("commands", len(want)))
		return false, nil
	}
	r.log.Info("commands: registered commands differ; overwriting", zap.Stringer("guild_id", guildID), zap.Int("commands", len(want)))
	r.log.Debug("commands: difference (-discord +declared)", zap.String("diff", diff))
	if _, err := api.BulkOverwriteCommands(ctx, appID, guildID, want); err != nil {
		return false, fmt.Errorf("commands: bulk overwrite (guild %v): %w", guildID, err)
	}
	return true, nil
}

// Diff compares commands as Discord returned them with declared ones. It ignores what Discord
// adds (id, application_id, guild_id, version), the order of commands, a missing type (1), the
// order within contexts and integration_types, and nil versus empty lists and maps. Where a
// declared command leaves contexts or integration_types unset, Discord fills in defaults that
// depend on the app's settings, so whatever Discord has there is accepted: set them in Meta
// if you want changes to them synced. It returns "" when the sets are equal, else a go-cmp
// diff (-have +want).
func Diff(have, want []Command) string {
	unset := map[string]Command{}
	for _, w := range want {
		unset[commandKey(w)] = w
	}
	have = slices.Clone(have)
	for i, h := range have {
		if w, ok := unset[commandKey(h)]; ok {
			if w.Contexts == nil {
				have[i].Contexts = nil
			}
			if w.IntegrationTypes == nil {
				have[i].IntegrationTypes = nil
			}
		}
	}
	return cmp.Diff(normalize(have), normalize(want), cmpopts.EquateEmpty())
}

func commandKey(c Command) string {
	t := c.Type
	if t == 0 {
		t = events.CommandChatInput
	}
	return fmt.Sprint(int(t), "/", c.Name)
}

func normalize(cmds []Command) []Command {
	out := make([]Command, len(cmds))
	for i, c := range cmds {
		c.ID, c.ApplicationID, c.GuildID, c.Version = 0, 0, 0, 0
		if c.Type == 0 {
			c.Type = events.CommandChatInput
		}
		c.Contexts = slices.Sorted(slices.Values(c.Contexts))
		c.IntegrationTypes = slices.Sorted(slices.Values(c.IntegrationTypes))
		c.Options = normalizeOptions(c.Options)
		out[i] = c
	}
	slices.SortStableFunc(out, func(a, b Command) int {
		if a.Type != b.Type {
			return int(a.Type - b.Type)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func normalizeOptions(opts []Option) []Option {
	if opts == nil {
		return nil
	}
	out := make([]Option, len(opts))
	for i, o := range opts {
		if len(o.Choices) > 0 {
			cs := make([]Choice, len(o.Choices))
			for j, c := range o.Choices {
				// Discord echoes 3.0 as 3; compare numbers as numbers.
				switch v := c.Value.(type) {
				case int64:
					c.Value = float64(v)
				case int:
					c.Value = float64(v)
				}
				cs[j] = c
			}
			o.Choices = cs
		}
		o.Options = normalizeOptions(o.Options)
		out[i] = o
	}
	return out
}
