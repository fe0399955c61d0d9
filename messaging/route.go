package messaging

import (
	"hash/fnv"
	"net/url"
	"strconv"
	"strings"

	"github.com/cordage/cordage/events"
)

// compiled is a route template filled with its parameters.
type compiled struct {
	method   string
	template string
	// path is the escaped path to request, relative to the base URL.
	path  string
	query url.Values
	// routeKey names the route for bucket learning: method and template.
	routeKey string
	// major is the top-level resource Discord counts limits per (channel, guild, webhook id
	// plus a hash of its token, interaction); "" when none.
	major string
	// exempt routes (interaction callbacks, webhook-token routes) skip the global limit and
	// carry no bot token.
	exempt bool
}

// compileRoute fills the {placeholders} of template, in order, with params. Snowflakes must be
// non-zero and strings non-empty; strings are path-escaped. A query may follow a '?'.
func compileRoute(method, template string, params []any) (*compiled, error) {
	var query url.Values
	if i := strings.IndexByte(template, '?'); i >= 0 {
		q, err := url.ParseQuery(template[i+1:])
		if err != nil {
			return nil, invalid("route", "bad query: %v", err)
		}
		query = q
		template = template[:i]
	}
	if method == "" || !strings.HasPrefix(template, "/") {
		return nil, invalid("route", "need a method and a template starting with /")
	}
	segs := strings.Split(template[1:], "/")
	filled := make([]string, len(segs))
	raw := make([]string, len(segs)) // unescaped values, for the major key
	n := 0
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") {
			if strings.ContainsAny(s, "{}") {
				return nil, invalid("route", "malformed placeholder %q", s)
			}
			filled[i], raw[i] = s, s
			continue
		}
		if !strings.HasSuffix(s, "}") {
			return nil, invalid("route", "malformed placeholder %q", s)
		}
		if n >= len(params) {
			return nil, invalid("route", "missing value for %s", s)
		}
		v, err := paramString(s, params[n])
		if err != nil {
			return nil, err
		}
		n++
		filled[i], raw[i] = url.PathEscape(v), v
	}
	if n != len(params) {
		return nil, invalid("route", "%d values for %d placeholders", len(params), n)
	}
	c := &compiled{
		method:   method,
		template: template,
		path:     "/" + strings.Join(filled, "/"),
		query:    query,
		routeKey: method + " " + template,
	}
	switch {
	case len(segs) >= 2 && (segs[0] == "channels" || segs[0] == "guilds") && strings.HasPrefix(segs[1], "{"):
		c.major = segs[0] + "/" + raw[1]
	case len(segs) >= 3 && segs[0] == "webhooks" && strings.HasPrefix(segs[1], "{") && strings.HasPrefix(segs[2], "{"):
		c.major = "webhooks/" + raw[1] + "/" + tokenHash(raw[2])
		c.exempt = true
	case len(segs) >= 2 && segs[0] == "webhooks" && strings.HasPrefix(segs[1], "{"):
		c.major = "webhooks/" + raw[1]
	case len(segs) >= 3 && segs[0] == "interactions" && strings.HasPrefix(segs[1], "{"):
		c.major = "interactions/" + raw[1]
		c.exempt = true
	}
	return c, nil
}

// tokenHash keeps interaction and webhook tokens out of the limiter's keys.
func tokenHash(tok string) string {
	h := fnv.New64a()
	h.Write([]byte(tok))
	return strconv.FormatUint(h.Sum64(), 36)
}

func paramString(name string, v any) (string, error) {
	switch t := v.(type) {
	case events.Snowflake:
		if t == 0 {
			return "", invalid(name, "zero snowflake")
		}
		return t.String(), nil
	case string:
		if t == "" {
			return "", invalid(name, "empty value")
		}
		return t, nil
	case int:
		return strconv.Itoa(t), nil
	case int64:
		return strconv.FormatInt(t, 10), nil
	case uint64:
		if t == 0 {
			return "", invalid(name, "zero id")
		}
		return strconv.FormatUint(t, 10), nil
	}
	return "", invalid(name, "unsupported parameter type %T", v)
}
