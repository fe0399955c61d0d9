package commands_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events/commands"
)

// The choices file path must be a tag literal, so the test changes into a temp dir that
// holds colors.txt and sizes.json.
type Paint struct {
	_     struct{} `desc:"Paint something"`
	Color string   `discord:"choicesfile=colors.txt" desc:"Which color"`
	Size  *int     `discord:"choicesfile=sizes.json" desc:"How big"`
}

// writeFile replaces path atomically (temp file and rename), as the package documentation
// asks, so a poll never reads a half-written file.
func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

func optionChoices(t *testing.T, r *commands.Registry, cmd, opt string) []commands.Choice {
	t.Helper()
	cmds, err := r.Commands()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		for _, o := range c.Options {
			if c.Name == cmd && o.Name == opt {
				return o.Choices
			}
		}
	}
	t.Fatalf("no option %s %s", cmd, opt)
	return nil
}

func TestChoicesFileReloadResyncs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeFile(t, "colors.txt", "# colors\nred\n\n  green  \n")
	writeFile(t, "sizes.json", `[{"name":"Small","value":1,"name_localizations":{"de":"Klein"}}, {"name":"Large","value":3}]`)

	clk := clock.NewManual(time.Unix(0, 0))
	r := commands.New(commands.WithClock(clk), commands.WithPollInterval(10*time.Second))
	if err := reg[Paint](r); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]commands.Choice{{Name: "red", Value: "red"}, {Name: "green", Value: "green"}}, optionChoices(t, r, "paint", "color")); diff != "" {
		t.Errorf("text file (-want +got):\n%s", diff)
	}
	wantSizes := []commands.Choice{{Name: "Small", Value: int64(1), NameLocalizations: map[string]string{"de": "Klein"}}, {Name: "Large", Value: int64(3)}}
	if diff := cmp.Diff(wantSizes, optionChoices(t, r, "paint", "size")); diff != "" {
		t.Errorf("JSON file (-want +got):\n%s", diff)
	}

	api := newFakeAPI()
	if _, err := r.Sync(t.Context(), api, 100, 0); err != nil {
		t.Fatal(err)
	}
	api.wait(t) // list
	api.wait(t) // overwrite

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.WatchChoiceFiles(ctx, api, 100) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("WatchChoiceFiles returned %v", err)
		}
	}()
	// The watcher arms its ticker before its first wait; the ticker is the only timer on
	// this clock.
	actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer acancel()
	if err := clk.AwaitWaiters(actx, 1); err != nil {
		t.Fatal("the watcher never armed its ticker")
	}

	// Change the file: the next poll re-syncs.
	writeFile(t, "colors.txt", "red\ngreen\nblue\n")
	clk.Advance(10 * time.Second)
	expectOverwrite(t, api, "red", "green", "blue")
	// A poll with nothing changed must not sync. The watcher has consumed the last tick (it
	// made the calls above), so this tick is seen; the next change then shows that this poll
	// made no call in between.
	clk.Advance(10 * time.Second)
	writeFile(t, "colors.txt", "red\ngreen\nblue\nblack\n")
	clk.Advance(10 * time.Second)
	expectOverwrite(t, api, "red", "green", "blue", "black")
	if n := api.count("list"); n != 3 {
		t.Errorf("lists = %d, want 3: an unchanged poll synced", n)
	}

	// A change that breaks a rule (26 choices) is refused; the old choices stay.
	writeFile(t, "colors.txt", manyLines(26))
	changed, err := r.ReloadChoiceFiles()
	if changed || !errors.Is(err, commands.ErrInvalidCommand) || !strings.Contains(err.Error(), "commands_test.Paint.Color") {
		t.Errorf("invalid file: changed=%v err=%v", changed, err)
	}
	if n := len(optionChoices(t, r, "paint", "color")); n != 4 {
		t.Errorf("choices after refused change: %d", n)
	}
	// A file that cannot be read keeps its choices too.
	if err := os.Remove(filepath.Join(dir, "sizes.json")); err != nil {
		t.Fatal(err)
	}
	if changed, err := r.ReloadChoiceFiles(); changed || err == nil || !strings.Contains(err.Error(), "sizes.json") {
		t.Errorf("missing file: changed=%v err=%v", changed, err)
	}
	if n := len(optionChoices(t, r, "paint", "size")); n != 2 {
		t.Errorf("choices after unreadable file: %d", n)
	}
}

func manyLines(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat("c", i+1) + "\n")
	}
	return b.String()
}

func TestChoicesFileErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	type Sized struct {
		_    struct{} `desc:"x"`
		Size int      `discord:"choicesfile=sizes.txt" desc:"How big"`
	}
	if err := reg[Sized](commands.New()); err == nil || !strings.Contains(err.Error(), "commands_test.Sized.Size") || !strings.Contains(err.Error(), "sizes.txt") {
		t.Errorf("missing file: %v", err)
	}
	writeFile(t, "sizes.txt", "1\ntwo\n")
	if err := reg[Sized](commands.New()); err == nil || !strings.Contains(err.Error(), `line 2: "two" is not an integer`) {
		t.Errorf("bad line: %v", err)
	}
	writeFile(t, "sizes.txt", `["1"]`)
	if err := reg[Sized](commands.New()); err == nil || !strings.Contains(err.Error(), "does not suit") {
		t.Errorf("string in an integer file: %v", err)
	}
	writeFile(t, "sizes.txt", `[1, 2.5]`)
	if err := reg[Sized](commands.New()); err == nil || !strings.Contains(err.Error(), "item 1") {
		t.Errorf("fraction in an integer file: %v", err)
	}
	writeFile(t, "sizes.txt", `[1,`)
	if err := reg[Sized](commands.New()); err == nil || !strings.Contains(err.Error(), "invalid JSON") {
		t.Errorf("broken JSON: %v", err)
	}
}

// expectOverwrite waits for a list and an overwrite whose color choices are colors.
func expectOverwrite(t *testing.T, api *fakeAPI, colors ...string) {
	t.Helper()
	if c := api.wait(t); c.Method != "list" {
		t.Fatalf("want list after change, got %+v", c)
	}
	c := api.wait(t)
	if c.Method != "overwrite" {
		t.Fatalf("want overwrite, got %+v", c)
	}
	var got []string
	for _, o := range c.Cmds[0].Options {
		if o.Name == "color" {
			for _, ch := range o.Choices {
				got = append(got, ch.Value.(string))
			}
		}
	}
	if diff := cmp.Diff(colors, got); diff != "" {
		t.Errorf("overwrite carried other colors (-want +got):\n%s", diff)
	}
}

type Travel struct {
	_    struct{} `desc:"Go somewhere"`
	City string   `discord:"choicesfile=cities.txt,autocomplete" desc:"Where to"`
}

func TestChoicesFileFeedsAutocomplete(t *testing.T) {
	t.Chdir(t.TempDir())
	var cities strings.Builder
	for i := range 40 {
		fmt.Fprintf(&cities, "City %02d\n", i)
	}
	cities.WriteString("Berlin\nBern\n")
	writeFile(t, "cities.txt", cities.String())
	r := commands.New()
	if err := reg[Travel](r); err != nil {
		t.Fatal(err) // 42 entries: fine, they are suggestions, not schema choices
	}
	cmds, err := r.Commands()
	if err != nil {
		t.Fatal(err)
	}
	if o := cmds[0].Options[0]; !o.Autocomplete || len(o.Choices) != 0 {
		t.Errorf("schema: %+v", o)
	}
	suggest := func(typed string) []commands.Choice {
		t.Helper()
		api := newFakeAPI()
		d := `{"name":"travel","type":1,"options":[{"name":"city","type":3,"value":"` + typed + `","focused":true}]}`
		if err := r.Handle(t.Context(), api, interactionJSON(4, d)); err != nil {
			t.Fatal(err)
		}
		return api.Calls()[0].Resp.Data.Choices
	}
	if diff := cmp.Diff([]commands.Choice{{Name: "Berlin", Value: "Berlin"}, {Name: "Bern", Value: "Bern"}}, suggest("BER")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n := len(suggest("")); n != 25 {
		t.Errorf("%d suggestions for everything", n)
	}
	// An edit takes effect at the next reload, and does not change what Discord stores.
	api := newFakeAPI()
	if _, err := r.Sync(t.Context(), api, 1, 0); err != nil {
		t.Fatal(err)
	}
	writeFile(t, "cities.txt", "Bergen\n")
	if changed, err := r.ReloadChoiceFiles(); !changed || err != nil {
		t.Fatalf("reload: %v %v", changed, err)
	}
	if got := suggest("ber"); len(got) != 1 || got[0].Name != "Bergen" {
		t.Errorf("after edit: %+v", got)
	}
	if changed, err := r.Sync(t.Context(), api, 1, 0); changed || err != nil {
		t.Errorf("a suggestions file must not change the schema: %v %v", changed, err)
	}
	// Entries must still be valid choices.
	writeFile(t, "cities.txt", strings.Repeat("x", 101)+"\n")
	if _, err := r.ReloadChoiceFiles(); err == nil || !strings.Contains(err.Error(), "commands_test.Travel.City") {
		t.Errorf("overlong entry: %v", err)
	}
}
