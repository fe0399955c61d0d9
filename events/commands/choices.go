package commands

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"go.uber.org/zap"

	"github.com/cordage/cordage/events"
)

// choiceFile is a file of choices named by a choicesfile tag, as last read.
type choiceFile struct {
	path    string
	content []byte
}

// loadChoiceFilesLocked reads the choice files n's fields name, unless already loaded.
func (r *Registry) loadChoiceFilesLocked(n *node) error {
	var errs []error
	for _, f := range n.spec.fields {
		if f.choicesFile == "" || r.files[f.choicesFile] != nil {
			continue
		}
		b, err := r.readFile(f.choicesFile)
		if err != nil {
			errs = append(errs, &ValidationError{Type: n.typeName, Field: f.goName, Problem: fmt.Sprintf("choices file: %v", err)})
			continue
		}
		r.files[f.choicesFile] = &choiceFile{path: f.choicesFile, content: b}
	}
	return joinErrors(errs)
}

// fileChoicesLocked parses the current content of f's choices file. Callers hold r.mu.
func (r *Registry) fileChoicesLocked(spec *typeSpec, f *fieldSpec) ([]Choice, error) {
	cf := r.files[f.choicesFile]
	if cf == nil {
		return nil, fmt.Errorf("not loaded")
	}
	return parseChoices(cf.content, f.kind, spec.typ.FieldByIndex(f.index).Type)
}

// fileSuggestions returns up to MaxChoices choices of f's file whose name or value contains
// typed, ignoring case, for an autocomplete option fed by a file.
func (r *Registry) fileSuggestions(spec *typeSpec, f *fieldSpec, typed string) ([]Choice, error) {
	r.mu.RLock()
	all, err := r.fileChoicesLocked(spec, f)
	r.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	typed = strings.ToLower(typed)
	var out []Choice
	for _, c := range all {
		if strings.Contains(strings.ToLower(c.Name), typed) || strings.Contains(strings.ToLower(valueText(c.Value)), typed) {
			out = append(out, c)
			if len(out) == MaxChoices {
				break
			}
		}
	}
	return out, nil
}

// parseChoices reads a choices file for a field of type t. Two formats:
//
//   - JSON (the file starts with '['): an array of values (each its own name), or an array of
//     {"name": …, "value": …} objects, with "name_localizations" allowed.
//   - Text: one value per line, used as both name and value. Blank lines and lines starting
//     with '#' are skipped; surrounding spaces are trimmed.
//
// Values must suit the field: strings for string fields, integers for integer fields, numbers
// for float fields.
func parseChoices(b []byte, k fieldKind, t reflect.Type) ([]Choice, error) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var raw []json.RawMessage
		if err := json.Unmarshal(trimmed, &raw); err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
		out := make([]Choice, 0, len(raw))
		for i, item := range raw {
			var c Choice
			if t := bytes.TrimSpace(item); len(t) > 0 && t[0] == '{' {
				if err := json.Unmarshal(item, &c); err != nil {
					return nil, fmt.Errorf("item %d: %v", i, err)
				}
				if c.Value == nil {
					return nil, fmt.Errorf("item %d: no value", i)
				}
			} else {
				if err := c.UnmarshalJSON([]byte(`{"name":"","value":` + string(item) + `}`)); err != nil {
					return nil, fmt.Errorf("item %d: %v", i, err)
				}
				c.Name = valueText(c.Value)
			}
			v, err := parseValue(k, t, valueText(c.Value))
			if err != nil {
				return nil, fmt.Errorf("item %d: %v", i, err)
			}
			if _, isString := c.Value.(string); isString != (k == kindString) {
				return nil, fmt.Errorf("item %d: value %s does not suit a %s field", i, item, t)
			}
			c.Value = choiceValue(v)
			out = append(out, c)
		}
		return out, nil
	}
	var out []Choice
	sc := bufio.NewScanner(bytes.NewReader(b))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		v, err := parseValue(k, t, s)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		out = append(out, Choice{Name: s, Value: choiceValue(v)})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ReloadChoiceFiles reads every choices file again. It reports whether any changed. A file
// that cannot be read, or whose new choices break Discord's rules, keeps its previous choices
// and the problem is returned.
func (r *Registry) ReloadChoiceFiles() (changed bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	old := map[string][]byte{}
	for _, path := range sortedKeys(r.files) {
		cf := r.files[path]
		b, rerr := r.readFile(path)
		if rerr != nil {
			errs = append(errs, fmt.Errorf("commands: choices file %s: %w", path, rerr))
			continue
		}
		if !bytes.Equal(b, cf.content) {
			old[path] = cf.content
			cf.content = b
		}
	}
	if len(old) > 0 {
		if _, berr := r.buildLocked(); berr != nil {
			for path, b := range old {
				r.files[path].content = b
			}
			errs = append(errs, berr)
			old = nil
		}
	}
	return len(old) > 0, joinErrors(errs)
}

// WatchChoiceFiles polls the choices files (see WithPollInterval) until ctx ends, and calls
// Sync for each scope after a file changed; guildIDs empty means the global scope. It runs in
// the caller's goroutine and returns ctx.Err(). Read or sync failures are logged and retried on
// the next change or poll.
func (r *Registry) WatchChoiceFiles(ctx context.Context, api Syncer, appID events.Snowflake, guildIDs ...events.Snowflake) error {
	if len(guildIDs) == 0 {
		guildIDs = []events.Snowflake{0}
	}
	t := r.clk.NewTicker(r.poll)
	defer t.Stop()
	pending := false // a change whose sync failed is retried on the next tick
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C():
		}
		changed, err := r.ReloadChoiceFiles()
		if err != nil {
			r.log.Warn("commands: choices files not reloaded", zap.Error(err))
		}
		if !changed && !pending {
			continue
		}
		pending = false
		for _, g := range guildIDs {
			if _, err := r.Sync(ctx, api, appID, g); err != nil {
				pending = true
				r.log.Warn("commands: sync after choices change failed", zap.Stringer("guild_id", g), zap.Error(err))
			}
		}
	}
}
