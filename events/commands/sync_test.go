package commands_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/commands"
)

func TestSyncOnlyWhenChanged(t *testing.T) {
	r := commands.New()
	for _, err := range []error{reg[Ping](r), reg[RollDice](r), reg[Everything](r)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	api := newFakeAPI()
	ctx := t.Context()
	const app = events.Snowflake(100)

	changed, err := r.Sync(ctx, api, app, 0)
	if err != nil || !changed {
		t.Fatalf("first sync: changed=%v err=%v", changed, err)
	}
	if n := api.count("overwrite"); n != 1 {
		t.Fatalf("overwrites = %d", n)
	}
	// Discord now has them, with ids, versions and integration types added: no overwrite.
	for range 3 {
		changed, err = r.Sync(ctx, api, app, 0)
		if err != nil || changed {
			t.Fatalf("unchanged sync: changed=%v err=%v", changed, err)
		}
	}
	if n, l := api.count("overwrite"), api.count("list"); n != 1 || l != 4 {
		t.Fatalf("overwrites = %d, lists = %d", n, l)
	}
	// A guild scope is separate.
	if changed, err = r.Sync(ctx, api, app, 200); err != nil || !changed {
		t.Fatalf("guild sync: %v %v", changed, err)
	}
	if c := api.Calls(); c[len(c)-1].GuildID != 200 {
		t.Errorf("guild overwrite went to %v", c[len(c)-1].GuildID)
	}
	// Someone edits a command on Discord's side: the next sync puts ours back.
	api.mu.Lock()
	api.stored[0][1].Options[0].Description = "edited in the dashboard"
	api.mu.Unlock()
	if changed, err = r.Sync(ctx, api, app, 0); err != nil || !changed {
		t.Fatalf("drift: %v %v", changed, err)
	}
	// A new command declared: overwrite with all of them.
	type Extra struct {
		_ struct{} `desc:"An extra command"`
	}
	if err := reg[Extra](r); err != nil {
		t.Fatal(err)
	}
	if changed, err = r.Sync(ctx, api, app, 0); err != nil || !changed {
		t.Fatalf("new command: %v %v", changed, err)
	}
	if c := api.Calls(); len(c[len(c)-1].Cmds) != 4 {
		t.Errorf("overwrite sent %d commands, want 4", len(c[len(c)-1].Cmds))
	}
	if changed, _ = r.Sync(ctx, api, app, 0); changed {
		t.Error("sync after overwrite still differs")
	}
}

func TestSyncErrors(t *testing.T) {
	api := newFakeAPI()
	// Invalid declarations: nothing is sent at all.
	r := commands.New()
	g, _ := r.Group(commands.Meta{Name: "empty", Description: "No subcommands"})
	_ = g
	if _, err := r.Sync(t.Context(), api, 1, 0); !errors.Is(err, commands.ErrInvalidCommand) {
		t.Errorf("invalid: %v", err)
	}
	if len(api.Calls()) != 0 {
		t.Errorf("REST called despite invalid declarations: %+v", api.Calls())
	}
	r = commands.New()
	if err := reg[Ping](r); err != nil {
		t.Fatal(err)
	}
	api.failNext = errors.New("list failed")
	if _, err := r.Sync(t.Context(), api, 1, 0); err == nil || !strings.Contains(err.Error(), "list failed") {
		t.Errorf("list failure: %v", err)
	}
}

func TestDiffNormalizesDiscordFields(t *testing.T) {
	lo := 1.0
	want := []commands.Command{
		{Type: events.CommandChatInput, Name: "b", Description: "B", Options: []commands.Option{
			{Type: events.OptionInteger, Name: "n", Description: "N", MinValue: &lo, Choices: []commands.Choice{{Name: "one", Value: int64(1)}}},
		}},
		{Type: events.CommandChatInput, Name: "a", Description: "A"},
	}
	// As Discord returns them: ids, versions, default integration types, empty maps, other order,
	// a NUMBER-like float for the integer choice.
	have := []commands.Command{
		{ID: 1, ApplicationID: 9, Version: 5, Name: "a", Description: "A", NameLocalizations: map[string]string{}, IntegrationTypes: []commands.IntegrationType{0}},
		{ID: 2, ApplicationID: 9, Version: 6, Type: 1, Name: "b", Description: "B", Options: []commands.Option{
			{Type: events.OptionInteger, Name: "n", Description: "N", MinValue: &lo, Choices: []commands.Choice{{Name: "one", Value: 1.0}}, Options: []commands.Option{}},
		}},
	}
	if d := commands.Diff(have, want); d != "" {
		t.Errorf("equal sets differ:\n%s", d)
	}
	have[1].Options[0].Required = true
	if d := commands.Diff(have, want); d == "" || !strings.Contains(d, "Required") {
		t.Errorf("a real change not seen: %q", d)
	}
}

func TestDiffDefaultsAndSets(t *testing.T) {
	want := []commands.Command{
		{Type: events.CommandChatInput, Name: "a", Description: "A"},
		{Type: events.CommandChatInput, Name: "b", Description: "B",
			Contexts:         []events.InteractionContextType{events.ContextGuild, events.ContextBotDM},
			IntegrationTypes: []commands.IntegrationType{commands.GuildInstall}},
	}
	have := []commands.Command{
		// Unset in the declaration: Discord's defaults, whatever they are, are accepted.
		{Type: 1, Name: "a", Description: "A", Contexts: []events.InteractionContextType{0, 1, 2}, IntegrationTypes: []commands.IntegrationType{0, 1}},
		// Set: compared as sets.
		{Type: 1, Name: "b", Description: "B", Contexts: []events.InteractionContextType{1, 0}, IntegrationTypes: []commands.IntegrationType{0}},
	}
	if d := commands.Diff(have, want); d != "" {
		t.Errorf("equal sets differ:\n%s", d)
	}
	have[1].Contexts = []events.InteractionContextType{0}
	if d := commands.Diff(have, want); d == "" {
		t.Error("a changed contexts set was not seen")
	}
	have[1].Contexts = []events.InteractionContextType{0, 1}
	have[1].IntegrationTypes = nil
	if d := commands.Diff(have, want); d == "" {
		t.Error("missing integration_types on Discord's side was not seen")
	}
}
