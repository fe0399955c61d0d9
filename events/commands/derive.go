package commands

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/cordage/cordage/events"
)

// fieldKind is how a Go field's value is decoded.
type fieldKind int

const (
	kindString fieldKind = iota + 1
	kindBool
	kindInt
	kindUint
	kindFloat
	kindUser
	kindMember
	kindChannel
	kindRole
	kindMentionable
	kindAttachment
)

var (
	typeUser        = reflect.TypeFor[events.User]()
	typeMember      = reflect.TypeFor[events.Member]()
	typeChannel     = reflect.TypeFor[events.Channel]()
	typeRole        = reflect.TypeFor[events.Role]()
	typeMentionable = reflect.TypeFor[Mentionable]()
	typeAttachment  = reflect.TypeFor[events.Attachment]()
)

// maxSafeInt is Discord's INTEGER bound, 2^53−1.
const maxSafeInt = 1<<53 - 1

// fieldSpec is one option derived from a struct field.
type fieldSpec struct {
	goName string
	index  []int
	kind   fieldKind
	ptr    bool
	// opt is the option's static schema; choices from a file are added at build time.
	opt         Option
	optional    bool
	def         reflect.Value // the default, of the field's element type; invalid if none
	choicesFile string
}

// typeSpec is everything derived from a command type.
type typeSpec struct {
	typ    reflect.Type
	meta   Meta
	fields []fieldSpec // in Discord order: required options first
	byName map[string]int
	// complete is true when the type implements Autocompleter.
	complete bool
}

func typeName(t reflect.Type) string { return t.String() }

// deriveType reads a command type: its Meta, its fields and their tags. Problems are returned
// as ValidationErrors naming the type and field.
func deriveType(t reflect.Type, defaultName string) (*typeSpec, []error) {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, &ValidationError{Type: typeName(t), Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	if t.Kind() != reflect.Struct {
		fail("", "a command type must be a struct, not %s", t.Kind())
		return nil, errs
	}
	spec := &typeSpec{typ: t, byName: map[string]int{}}
	// A *T has the methods of both receiver kinds, so Command, Localizations and Autocomplete
	// may be declared on T or *T.
	zero := reflect.New(t).Interface()
	var l10n map[string]Localization
	if p := callUser(func() {
		if c, ok := zero.(Commander); ok {
			spec.meta = c.Command()
		}
		if l, ok := zero.(Localizer); ok {
			l10n = l.Localizations()
		}
	}); p != "" {
		fail("", "%s", p)
		return nil, errs
	}
	for i := range t.NumField() {
		if sf := t.Field(i); sf.Name == "_" {
			metaFromBlank(sf, &spec.meta, func(p string) { fail("_", "%s", p) })
		}
	}
	if spec.meta.Name == "" {
		spec.meta.Name = defaultName
		if spec.meta.Name == "" {
			spec.meta.Name = snakeCase(t.Name())
		}
	}
	_, spec.complete = zero.(Autocompleter)
	known := map[string]bool{}
	usedChoiceKeys := map[string]bool{}

	var required, optional []fieldSpec
	for _, sf := range reflect.VisibleFields(t) {
		if sf.Anonymous || !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("discord")
		if tag == "-" {
			continue
		}
		if p := embedProblem(t, sf.Index); p != "" {
			if p != "skip" {
				fail(sf.Name, "%s", p)
			}
			continue
		}
		known[sf.Name] = true
		fs, ferrs := deriveField(sf, tag)
		for _, p := range ferrs {
			fail(sf.Name, "%s", p)
		}
		if fs == nil {
			continue
		}
		if loc, ok := l10n[sf.Name]; ok {
			fs.opt.NameLocalizations = loc.Names
			fs.opt.DescriptionLocalizations = loc.Descriptions
		}
		for i, ch := range fs.opt.Choices {
			if loc, ok := l10n[sf.Name+":"+ch.Name]; ok {
				fs.opt.Choices[i].NameLocalizations = loc.Names
				usedChoiceKeys[sf.Name+":"+ch.Name] = true
			}
		}
		if fs.optional {
			optional = append(optional, *fs)
		} else {
			required = append(required, *fs)
		}
	}
	for _, k := range sortedKeys(l10n) {
		field, choice, isChoice := strings.Cut(k, ":")
		switch {
		case !known[field]:
			fail("", "Localizations has key %q, but the type has no option field %q", k, field)
		case isChoice && !usedChoiceKeys[k]:
			fail(field, "Localizations has key %q, but the field has no static choice named %q (choices from a file carry their own name_localizations in JSON)", k, choice)
		}
	}
	// Discord rejects a required option after an optional one; we keep each group in field
	// order and put the required ones first, since decoding goes by name.
	spec.fields = append(required, optional...)
	for i, f := range spec.fields {
		if j, dup := spec.byName[f.opt.Name]; dup {
			fail(f.goName, "option name %q is also used by field %s", f.opt.Name, spec.fields[j].goName)
			continue
		}
		spec.byName[f.opt.Name] = i
	}
	return spec, errs
}

// deriveField reads one struct field. It returns nil with problems when the field cannot be an
// option at all.
func deriveField(sf reflect.StructField, tag string) (*fieldSpec, []string) {
	var probs []string
	fs := &fieldSpec{goName: sf.Name, index: sf.Index}
	ft := sf.Type
	if ft.Kind() == reflect.Pointer {
		fs.ptr = true
		fs.optional = true
		ft = ft.Elem()
	}
	switch {
	case ft == typeUser:
		fs.kind, fs.opt.Type = kindUser, events.OptionUser
	case ft == typeMember:
		fs.kind, fs.opt.Type = kindMember, events.OptionUser
	case ft == typeChannel:
		fs.kind, fs.opt.Type = kindChannel, events.OptionChannel
	case ft == typeRole:
		fs.kind, fs.opt.Type = kindRole, events.OptionRole
	case ft == typeMentionable:
		fs.kind, fs.opt.Type = kindMentionable, events.OptionMentionable
	case ft == typeAttachment:
		fs.kind, fs.opt.Type = kindAttachment, events.OptionAttachment
	default:
		switch ft.Kind() {
		case reflect.String:
			fs.kind, fs.opt.Type = kindString, events.OptionString
		case reflect.Bool:
			fs.kind, fs.opt.Type = kindBool, events.OptionBoolean
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			fs.kind, fs.opt.Type = kindInt, events.OptionInteger
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			fs.kind, fs.opt.Type = kindUint, events.OptionInteger
		case reflect.Float32, reflect.Float64:
			fs.kind, fs.opt.Type = kindFloat, events.OptionNumber
		default:
			return nil, []string{fmt.Sprintf("type %s cannot be an option; use string, bool, an integer, a float, events.User, events.Member, commands.Channel, commands.Role, commands.Mentionable or commands.Attachment (or tag it discord:\"-\")", sf.Type)}
		}
	}
	fs.opt.Name = snakeCase(sf.Name)
	fs.opt.Description = sf.Tag.Get("desc")

	var defText, choicesText string
	var hasDefault, hasChoices bool
	for _, item := range splitTag(tag) {
		key, val, hasVal := strings.Cut(item, "=")
		key = strings.TrimSpace(key)
		needVal := func() bool {
			if !hasVal {
				probs = append(probs, fmt.Sprintf("tag key %q needs a value (%s=…)", key, key))
			}
			return hasVal
		}
		switch key {
		case "name":
			if needVal() {
				fs.opt.Name = val
			}
		case "desc", "description":
			if needVal() {
				fs.opt.Description = val
			}
		case "optional":
			fs.optional = true
		case "required":
			if fs.ptr {
				probs = append(probs, "a pointer field is optional; drop the pointer to make it required")
			}
		case "default":
			if needVal() {
				defText, hasDefault = val, true
				fs.optional = true
			}
		case "choices":
			if needVal() {
				choicesText, hasChoices = val, true
			}
		case "choicesfile", "choices_file":
			if needVal() {
				fs.choicesFile = val
			}
		case "autocomplete":
			fs.opt.Autocomplete = true
		case "min", "max":
			if !needVal() {
				continue
			}
			if fs.opt.Type != events.OptionInteger && fs.opt.Type != events.OptionNumber {
				probs = append(probs, fmt.Sprintf("%s applies to integer and number options, not %s (use minlen/maxlen for strings)", key, fs.opt.Type))
				continue
			}
			f, err := strconv.ParseFloat(val, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || (fs.opt.Type == events.OptionInteger && f != math.Trunc(f)) {
				probs = append(probs, fmt.Sprintf("%s=%q is not a valid %s", key, val, strings.ToLower(fs.opt.Type.String())))
				continue
			}
			if key == "min" {
				fs.opt.MinValue = &f
			} else {
				fs.opt.MaxValue = &f
			}
		case "minlen", "maxlen", "min_length", "max_length":
			if !needVal() {
				continue
			}
			if fs.opt.Type != events.OptionString {
				probs = append(probs, fmt.Sprintf("%s applies to string options, not %s", key, fs.opt.Type))
				continue
			}
			n, err := strconv.Atoi(val)
			if err != nil {
				probs = append(probs, fmt.Sprintf("%s=%q is not an integer", key, val))
				continue
			}
			if strings.HasPrefix(key, "min") {
				fs.opt.MinLength = &n
			} else {
				fs.opt.MaxLength = &n
			}
		case "channel_types", "channeltypes":
			if !needVal() {
				continue
			}
			if fs.opt.Type != events.OptionChannel {
				probs = append(probs, fmt.Sprintf("channel_types applies to channel options, not %s", fs.opt.Type))
				continue
			}
			for _, s := range strings.Split(val, "|") {
				ct, ok := channelTypes[strings.TrimSpace(s)]
				if !ok {
					n, err := strconv.Atoi(strings.TrimSpace(s))
					if err != nil || n < 0 {
						probs = append(probs, fmt.Sprintf("channel_types: %q is neither a channel type number nor a known name", s))
						continue
					}
					ct = n
				}
				fs.opt.ChannelTypes = append(fs.opt.ChannelTypes, ct)
			}
		case "file_types", "filetypes":
			if !needVal() {
				continue
			}
			if fs.opt.Type != events.OptionAttachment {
				probs = append(probs, fmt.Sprintf("file_types applies to attachment options, not %s", fs.opt.Type))
				continue
			}
			fs.opt.FileTypes = strings.Split(val, "|")
		case "":
		default:
			probs = append(probs, fmt.Sprintf("unknown tag key %q", key))
		}
	}
	if fs.opt.MinValue == nil && fs.opt.MaxValue == nil {
		fs.opt.MinValue, fs.opt.MaxValue = implicitRange(ft)
	}
	if hasChoices {
		if !choiceable(fs.opt.Type) {
			probs = append(probs, fmt.Sprintf("choices apply to string, integer and number options, not %s", fs.opt.Type))
		} else {
			for _, part := range strings.Split(choicesText, "|") {
				name, value, ok := strings.Cut(part, ":")
				if !ok {
					value = name
				}
				v, err := parseValue(fs.kind, ft, value)
				if err != nil {
					probs = append(probs, fmt.Sprintf("choice %q: %v", part, err))
					continue
				}
				fs.opt.Choices = append(fs.opt.Choices, Choice{Name: name, Value: choiceValue(v)})
			}
		}
	}
	if fs.choicesFile != "" && !choiceable(fs.opt.Type) {
		probs = append(probs, fmt.Sprintf("choicesfile applies to string, integer and number options, not %s", fs.opt.Type))
	}
	if fs.choicesFile != "" && hasChoices {
		probs = append(probs, "choices and choicesfile cannot both be set")
	}
	if fs.opt.Autocomplete && !choiceable(fs.opt.Type) {
		probs = append(probs, fmt.Sprintf("autocomplete applies to string, integer and number options, not %s", fs.opt.Type))
	}
	if hasDefault {
		v, err := parseValue(fs.kind, ft, defText)
		if err != nil {
			probs = append(probs, fmt.Sprintf("default %q: %v", defText, err))
		} else {
			fs.def = v
			if p := checkDefault(fs, v); p != "" {
				probs = append(probs, p)
			}
		}
	}
	fs.opt.Required = !fs.optional
	return fs, probs
}

func choiceable(t events.ApplicationCommandOptionType) bool {
	return t == events.OptionString || t == events.OptionInteger || t == events.OptionNumber
}

// splitTag splits a discord tag at commas. A description with commas goes in the desc tag.
func splitTag(tag string) []string {
	if tag == "" {
		return nil
	}
	return strings.Split(tag, ",")
}

// implicitRange bounds integer fields narrower than Discord's ±(2^53−1), so Discord's client
// refuses values the field could not hold.
func implicitRange(t reflect.Type) (lo, hi *float64) {
	f := func(v float64) *float64 { return &v }
	switch t.Kind() {
	case reflect.Int8:
		return f(math.MinInt8), f(math.MaxInt8)
	case reflect.Int16:
		return f(math.MinInt16), f(math.MaxInt16)
	case reflect.Int32:
		return f(math.MinInt32), f(math.MaxInt32)
	case reflect.Uint8:
		return f(0), f(math.MaxUint8)
	case reflect.Uint16:
		return f(0), f(math.MaxUint16)
	case reflect.Uint32:
		return f(0), f(math.MaxUint32)
	case reflect.Uint, reflect.Uint64:
		return f(0), nil
	}
	return nil, nil
}

// parseValue parses tag text (a default or a choice value) into a value of type t.
func parseValue(k fieldKind, t reflect.Type, s string) (reflect.Value, error) {
	v := reflect.New(t).Elem()
	switch k {
	case kindString:
		v.SetString(s)
	case kindBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return v, fmt.Errorf("%q is not a boolean", s)
		}
		v.SetBool(b)
	case kindInt:
		n, err := strconv.ParseInt(s, 10, t.Bits())
		if err != nil || n > maxSafeInt || n < -maxSafeInt {
			return v, fmt.Errorf("%q is not an integer that fits %s and ±(2^53−1)", s, t)
		}
		v.SetInt(n)
	case kindUint:
		n, err := strconv.ParseUint(s, 10, t.Bits())
		if err != nil || n > maxSafeInt {
			return v, fmt.Errorf("%q is not an integer that fits %s and 2^53−1", s, t)
		}
		v.SetUint(n)
	case kindFloat:
		f, err := strconv.ParseFloat(s, t.Bits())
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return v, fmt.Errorf("%q is not a finite number", s)
		}
		v.SetFloat(f)
	default:
		return v, fmt.Errorf("default values apply to string, bool, integer and number options")
	}
	return v, nil
}

// choiceValue converts a parsed value to the JSON-facing form used in Choice.Value.
func choiceValue(v reflect.Value) any {
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	}
	return v.Interface()
}

// checkDefault checks a default against the option's own limits.
func checkDefault(fs *fieldSpec, v reflect.Value) string {
	o := fs.opt
	switch fs.kind {
	case kindInt, kindUint, kindFloat:
		f := toFloat(v)
		if o.MinValue != nil && f < *o.MinValue || o.MaxValue != nil && f > *o.MaxValue {
			return fmt.Sprintf("default %v is outside min/max", choiceValue(v))
		}
	case kindString:
		n := len([]rune(v.String()))
		if o.MinLength != nil && n < *o.MinLength || o.MaxLength != nil && n > *o.MaxLength {
			return fmt.Sprintf("default %q is outside minlen/maxlen", v.String())
		}
	}
	if len(o.Choices) > 0 && !slices.ContainsFunc(o.Choices, func(c Choice) bool { return c.Value == choiceValue(v) }) {
		return fmt.Sprintf("default %v is not one of the choices", choiceValue(v))
	}
	return ""
}

func toFloat(v reflect.Value) float64 {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint())
	}
	return v.Float()
}

// channelTypes are the names accepted in channel_types besides numbers.
var channelTypes = map[string]int{
	"text": 0, "dm": 1, "voice": 2, "group_dm": 3, "category": 4, "announcement": 5,
	"announcement_thread": 10, "public_thread": 11, "private_thread": 12, "stage": 13,
	"directory": 14, "forum": 15, "media": 16,
}

// embedProblem decides about a field promoted from an embedded struct: "" to use it, "skip"
// when it lies inside an embedded option value type or a field tagged discord:"-", or a
// problem when it lies behind an embedded pointer (decoding would have to allocate it).
func embedProblem(t reflect.Type, index []int) string {
	cur := t
	for _, i := range index[:len(index)-1] {
		f := cur.Field(i)
		if f.Tag.Get("discord") == "-" || !f.IsExported() && f.Type.Kind() != reflect.Struct {
			return "skip"
		}
		if f.Type.Kind() == reflect.Pointer {
			return "embedded pointer " + f.Name + " cannot hold options; embed the struct by value"
		}
		switch f.Type {
		case typeUser, typeMember, typeChannel, typeRole, typeMentionable, typeAttachment:
			return "skip"
		}
		cur = f.Type
	}
	return ""
}

// metaFromBlank reads command metadata from a blank field, for types that cannot have methods
// (types declared inside a function):
//
//	_ struct{} `discord:"name=poke" desc:"Poke someone"`
//
// The Command method, when present, wins for the fields it sets.
func metaFromBlank(sf reflect.StructField, m *Meta, fail func(string)) {
	if d := sf.Tag.Get("desc"); d != "" && m.Description == "" {
		m.Description = d
	}
	for _, item := range splitTag(sf.Tag.Get("discord")) {
		key, val, _ := strings.Cut(item, "=")
		switch strings.TrimSpace(key) {
		case "name":
			if m.Name == "" {
				m.Name = val
			}
		case "desc", "description":
			if m.Description == "" {
				m.Description = val
			}
		case "nsfw":
			m.NSFW = true
		case "":
		default:
			fail(fmt.Sprintf("unknown command tag key %q (use name, desc or nsfw; the rest goes in a Command method)", key))
		}
	}
}

// callUser runs a method of the user's type and turns a panic into a problem description.
func callUser(f func()) (problem string) {
	defer func() {
		if p := recover(); p != nil {
			problem = fmt.Sprintf("the Command or Localizations method panicked on the zero value: %v", p)
		}
	}()
	f()
	return ""
}
