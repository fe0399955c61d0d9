package commands

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cordage/cordage/events"
)

// Discord's limits on application commands.
const (
	MaxOptions         = 25   // options, subcommands or groups per level
	MaxChoices         = 25   // choices per option, and autocomplete suggestions
	MaxCommandChars    = 8000 // name + description + values of one command, all levels
	MaxGlobalCommands  = 100  // CHAT_INPUT commands per app (and per guild)
	maxLengthLimit     = 6000
	maxChoiceNameChars = 100
	maxFileTypes       = 10
)

// checkMeta returns the problems with a command's or group's own name and description.
func checkMeta(m Meta) []string {
	var out []string
	if p := checkName(m.Name); p != "" {
		out = append(out, p)
	}
	if p := checkDescription(m.Description); p != "" {
		out = append(out, p+" (set it in a Command method or a blank field: _ struct{} `desc:\"…\"`)")
	}
	out = append(out, checkLocalizations(m.NameLocalizations, true)...)
	out = append(out, checkLocalizations(m.DescriptionLocalizations, false)...)
	return out
}

// checkOption returns the problems with one value option.
func checkOption(o Option) []string {
	var out []string
	if p := checkName(o.Name); p != "" {
		out = append(out, p)
	}
	if p := checkDescription(o.Description); p != "" {
		out = append(out, p+` (set it with a desc:"…" tag)`)
	}
	out = append(out, checkLocalizations(o.NameLocalizations, true)...)
	out = append(out, checkLocalizations(o.DescriptionLocalizations, false)...)
	if len(o.Choices) > MaxChoices {
		out = append(out, fmt.Sprintf("%d choices; Discord allows at most %d", len(o.Choices), MaxChoices))
	}
	for _, c := range o.Choices {
		out = append(out, checkChoice(o.Type, c)...)
	}
	if o.Autocomplete && len(o.Choices) > 0 {
		out = append(out, "autocomplete cannot be combined with choices")
	}
	if o.MinLength != nil && (*o.MinLength < 0 || *o.MinLength > maxLengthLimit) {
		out = append(out, fmt.Sprintf("min_length %d is outside 0–%d", *o.MinLength, maxLengthLimit))
	}
	if o.MaxLength != nil && (*o.MaxLength < 1 || *o.MaxLength > maxLengthLimit) {
		out = append(out, fmt.Sprintf("max_length %d is outside 1–%d", *o.MaxLength, maxLengthLimit))
	}
	if o.MinLength != nil && o.MaxLength != nil && *o.MinLength > *o.MaxLength {
		out = append(out, fmt.Sprintf("min_length %d is greater than max_length %d", *o.MinLength, *o.MaxLength))
	}
	limit := float64(maxSafeInt)
	if o.Type == events.OptionNumber {
		limit = 1 << 53
	}
	for _, v := range []*float64{o.MinValue, o.MaxValue} {
		if v != nil && math.Abs(*v) > limit {
			out = append(out, fmt.Sprintf("min/max %v is outside ±%.0f", *v, limit))
		}
	}
	if o.MinValue != nil && o.MaxValue != nil && *o.MinValue > *o.MaxValue {
		out = append(out, fmt.Sprintf("min %v is greater than max %v", *o.MinValue, *o.MaxValue))
	}
	if len(o.FileTypes) > maxFileTypes {
		out = append(out, fmt.Sprintf("%d file_types; Discord allows at most %d", len(o.FileTypes), maxFileTypes))
	}
	for _, ft := range o.FileTypes {
		if ft != "image" && ft != "video" && ft != "audio" && (len(ft) < 2 || ft[0] != '.') {
			out = append(out, fmt.Sprintf("file type %q is not image, video, audio or a .extension", ft))
		}
	}
	return out
}

// checkChoice returns the problems with one choice of an option of type t.
func checkChoice(t events.ApplicationCommandOptionType, c Choice) []string {
	var out []string
	if n := utf8.RuneCountInString(c.Name); n < 1 || n > maxChoiceNameChars {
		out = append(out, fmt.Sprintf("choice name %q is %d characters; Discord requires 1–100", c.Name, n))
	}
	for _, loc := range sortedKeys(c.NameLocalizations) {
		if !locales[loc] {
			out = append(out, fmt.Sprintf("choice %q: unknown locale %q", c.Name, loc))
		} else if n := utf8.RuneCountInString(c.NameLocalizations[loc]); n < 1 || n > maxChoiceNameChars {
			out = append(out, fmt.Sprintf("choice %q: %s name is %d characters; Discord requires 1–100", c.Name, loc, n))
		}
	}
	switch v := c.Value.(type) {
	case string:
		if t != events.OptionString {
			out = append(out, fmt.Sprintf("choice %q has a string value for a %s option", c.Name, t))
		} else if n := utf8.RuneCountInString(v); n > 100 {
			out = append(out, fmt.Sprintf("choice %q: value is %d characters; Discord allows at most 100", c.Name, n))
		}
	case int64, int:
		if t != events.OptionInteger && t != events.OptionNumber {
			out = append(out, fmt.Sprintf("choice %q has a number value for a %s option", c.Name, t))
		}
	case float64:
		if t != events.OptionNumber && (t != events.OptionInteger || v != math.Trunc(v)) {
			out = append(out, fmt.Sprintf("choice %q has value %v, not valid for a %s option", c.Name, v, t))
		}
	default:
		out = append(out, fmt.Sprintf("choice %q has value of type %T; use a string, int64 or float64", c.Name, c.Value))
	}
	return out
}

// commandChars counts a command against Discord's 8000-character budget: names, descriptions
// and choice names and values at every level; of a localized field only the longest variant
// counts.
func commandChars(c Command) int {
	n := longest(c.Name, c.NameLocalizations) + longest(c.Description, c.DescriptionLocalizations)
	return n + optionsChars(c.Options)
}

func optionsChars(opts []Option) int {
	n := 0
	for _, o := range opts {
		n += longest(o.Name, o.NameLocalizations) + longest(o.Description, o.DescriptionLocalizations)
		for _, c := range o.Choices {
			n += longest(c.Name, c.NameLocalizations) + utf8.RuneCountInString(valueText(c.Value))
		}
		n += optionsChars(o.Options)
	}
	return n
}

func longest(s string, loc map[string]string) int {
	n := utf8.RuneCountInString(s)
	for _, v := range loc {
		n = max(n, utf8.RuneCountInString(v))
	}
	return n
}

func valueText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

func joinProblems(ps []string) string { return strings.Join(ps, "; ") }
