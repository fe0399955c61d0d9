package commands

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// nameRE is Discord's CHAT_INPUT naming rule, ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$,
// in RE2 spelling. RE2 counts runes, as Discord counts characters.
var nameRE = regexp.MustCompile(`^[-_'\p{L}\p{N}\p{Devanagari}\p{Thai}]{1,32}$`)

// checkName returns what is wrong with a command, group or option name, or "".
func checkName(name string) string {
	if !nameRE.MatchString(name) {
		return fmt.Sprintf("name %q does not match ^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$ (1–32 letters, digits, - _ ')", name)
	}
	for _, r := range name {
		if unicode.ToLower(r) != r {
			return fmt.Sprintf("name %q has upper-case %q; Discord requires the lower-case variant of every cased letter", name, r)
		}
	}
	return ""
}

// checkDescription returns what is wrong with a description, or "".
func checkDescription(desc string) string {
	n := utf8.RuneCountInString(desc)
	if n < 1 || n > 100 {
		return fmt.Sprintf("description is %d characters; Discord requires 1–100", n)
	}
	return ""
}

// snakeCase turns a Go identifier into a Discord-style name: "MaxCount" → "max_count",
// "UserID" → "user_id", "HTTPCode" → "http_code".
func snakeCase(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// locales are the locale codes Discord accepts in *_localizations maps.
var locales = map[string]bool{
	"id": true, "da": true, "de": true, "en-GB": true, "en-US": true, "es-ES": true, "es-419": true,
	"fr": true, "hr": true, "it": true, "lt": true, "hu": true, "nl": true, "no": true, "pl": true,
	"pt-BR": true, "ro": true, "fi": true, "sv-SE": true, "vi": true, "tr": true, "cs": true,
	"el": true, "bg": true, "ru": true, "uk": true, "hi": true, "th": true, "zh-CN": true,
	"ja": true, "zh-TW": true, "ko": true,
}

// checkLocalizations returns the problems with a localization map: unknown locales, and
// localized names or descriptions that break the same rules as the default ones.
func checkLocalizations(m map[string]string, names bool) []string {
	var out []string
	for _, loc := range sortedKeys(m) {
		if !locales[loc] {
			out = append(out, fmt.Sprintf("unknown locale %q in localizations", loc))
			continue
		}
		var p string
		if names {
			p = checkName(m[loc])
		} else {
			p = checkDescription(m[loc])
		}
		if p != "" {
			out = append(out, "localization "+loc+": "+p)
		}
	}
	return out
}
