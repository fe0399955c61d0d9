package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/cordage/cordage/events"
)

// decodeOptions fills a new value of spec's type from an interaction's options. In lenient
// mode (autocomplete, where the user is still typing) values that fail to decode and missing
// required options are left at their zero value instead of failing.
func decodeOptions(spec *typeSpec, opts []events.ApplicationCommandDataOption, res *events.Resolved, lenient bool) (reflect.Value, error) {
	v := reflect.New(spec.typ).Elem()
	seen := make([]bool, len(spec.fields))
	for _, od := range opts {
		i, ok := spec.byName[od.Name]
		if !ok {
			if lenient {
				continue
			}
			return v, &OptionError{Option: od.Name, Err: errors.New("this command has no such option; its registration may be out of date")}
		}
		fs := &spec.fields[i]
		if od.Type != fs.opt.Type {
			if lenient {
				continue
			}
			return v, &OptionError{Option: od.Name, Err: fmt.Errorf("got a %s value, want %s; the command's registration may be out of date", od.Type, fs.opt.Type)}
		}
		if seen[i] {
			if lenient {
				continue
			}
			return v, &OptionError{Option: od.Name, Err: errors.New("given twice")}
		}
		seen[i] = true
		if err := setField(v.FieldByIndex(fs.index), fs, od.Value, res); err != nil {
			if lenient {
				continue
			}
			return v, &OptionError{Option: od.Name, Err: err}
		}
		if !lenient {
			if err := checkLimits(v.FieldByIndex(fs.index), fs); err != nil {
				return v, &OptionError{Option: od.Name, Err: err}
			}
		}
	}
	for i := range spec.fields {
		fs := &spec.fields[i]
		if seen[i] {
			continue
		}
		switch {
		case fs.def.IsValid():
			fv := v.FieldByIndex(fs.index)
			if fs.ptr {
				p := reflect.New(fs.def.Type())
				p.Elem().Set(fs.def)
				fv.Set(p)
			} else {
				fv.Set(fs.def)
			}
		case !fs.optional && !lenient:
			return v, &OptionError{Option: fs.opt.Name, Err: errors.New("is required but was not given")}
		}
	}
	return v, nil
}

// setField decodes one option value into the field fv (a pointer field gets a new value).
func setField(fv reflect.Value, fs *fieldSpec, raw json.RawMessage, res *events.Resolved) error {
	if len(raw) == 0 || string(raw) == "null" {
		return errors.New("has no value")
	}
	target := fv
	if fs.ptr {
		target = reflect.New(fv.Type().Elem()).Elem()
	}
	if err := decodeValue(target, fs.kind, raw, res); err != nil {
		return err
	}
	if fs.ptr {
		fv.Set(target.Addr())
	}
	return nil
}

func decodeValue(v reflect.Value, k fieldKind, raw json.RawMessage, res *events.Resolved) error {
	switch k {
	case kindString:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("%s is not a string", short(raw))
		}
		v.SetString(s)
	case kindBool:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return fmt.Errorf("%s is not true or false", short(raw))
		}
		v.SetBool(b)
	case kindInt, kindUint:
		n, err := parseInteger(raw)
		if err != nil {
			return err
		}
		if k == kindUint {
			if n < 0 || v.OverflowUint(uint64(n)) {
				return fmt.Errorf("%d is out of range for %s", n, v.Type())
			}
			v.SetUint(uint64(n))
		} else {
			if v.OverflowInt(n) {
				return fmt.Errorf("%d is out of range for %s", n, v.Type())
			}
			v.SetInt(n)
		}
	case kindFloat:
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("%s is not a number", short(raw))
		}
		if v.OverflowFloat(f) {
			return fmt.Errorf("%v is out of range for %s", f, v.Type())
		}
		v.SetFloat(f)
	default:
		id, err := parseID(raw)
		if err != nil {
			return err
		}
		return setResolved(v, k, id, res)
	}
	return nil
}

// parseInteger accepts a JSON integer, or a float with no fraction (JSON has one number type).
func parseInteger(raw json.RawMessage) (int64, error) {
	s := string(raw)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > maxSafeInt || n < -maxSafeInt {
			return 0, fmt.Errorf("%d is outside Discord's integer range", n)
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > maxSafeInt {
		return 0, fmt.Errorf("%s is not an integer", short(raw))
	}
	return int64(f), nil
}

func parseID(raw json.RawMessage) (events.Snowflake, error) {
	var id events.Snowflake
	if err := id.UnmarshalJSON(raw); err != nil || id == 0 {
		return 0, fmt.Errorf("%s is not an id", short(raw))
	}
	return id, nil
}

// setResolved fills an entity field from the interaction's resolved data. An id missing from
// resolved data still decodes, to a value holding just the id.
func setResolved(v reflect.Value, k fieldKind, id events.Snowflake, res *events.Resolved) error {
	switch k {
	case kindUser:
		v.Set(reflect.ValueOf(lookupUser(id, res)))
	case kindMember:
		v.Set(reflect.ValueOf(lookupMember(id, res)))
	case kindChannel:
		c, ok := res.Channels[id]
		if !ok {
			c = events.Channel{ID: id}
		}
		c.ID = id
		v.Set(reflect.ValueOf(c))
	case kindRole:
		r, ok := res.Roles[id]
		if !ok {
			r = events.Role{ID: id}
		}
		r.ID = id
		v.Set(reflect.ValueOf(r))
	case kindAttachment:
		a, ok := res.Attachments[id]
		if !ok {
			a = events.Attachment{ID: id}
		}
		a.ID = id
		v.Set(reflect.ValueOf(a))
	case kindMentionable:
		m := Mentionable{ID: id}
		if r, ok := res.Roles[id]; ok {
			r.ID = id
			m.Role = &r
		} else if _, ok := res.Users[id]; ok {
			u := lookupUser(id, res)
			m.User = &u
			if mem, ok := res.Members[id]; ok {
				mem.User = &u
				m.Member = &mem
			}
		}
		v.Set(reflect.ValueOf(m))
	default:
		return fmt.Errorf("unsupported option kind %d", k)
	}
	return nil
}

func lookupUser(id events.Snowflake, res *events.Resolved) events.User {
	u, ok := res.Users[id]
	if !ok {
		u = events.User{}
	}
	u.ID = id
	return u
}

// lookupMember returns the member with User set. A user who is not a member of the guild (or
// an option used in a DM) gives a Member with only User set.
func lookupMember(id events.Snowflake, res *events.Resolved) events.Member {
	u := lookupUser(id, res)
	m := res.Members[id]
	m.User = &u
	return m
}

// short quotes at most 40 bytes of raw JSON for an error message.
func short(raw json.RawMessage) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}

// checkLimits enforces the declared min/max and length limits. Discord's client enforces them
// too, but a handler should not have to trust every client.
func checkLimits(fv reflect.Value, fs *fieldSpec) error {
	if fv.Kind() == reflect.Pointer {
		fv = fv.Elem()
	}
	o := fs.opt
	switch fs.kind {
	case kindInt, kindUint, kindFloat:
		f := toFloat(fv)
		if o.MinValue != nil && f < *o.MinValue {
			return fmt.Errorf("%v is less than the minimum %v", f, *o.MinValue)
		}
		if o.MaxValue != nil && f > *o.MaxValue {
			return fmt.Errorf("%v is more than the maximum %v", f, *o.MaxValue)
		}
	case kindString:
		n := utf8.RuneCountInString(fv.String())
		if o.MinLength != nil && n < *o.MinLength {
			return fmt.Errorf("is %d characters; at least %d needed", n, *o.MinLength)
		}
		if o.MaxLength != nil && n > *o.MaxLength {
			return fmt.Errorf("is %d characters; at most %d allowed", n, *o.MaxLength)
		}
	}
	return nil
}
