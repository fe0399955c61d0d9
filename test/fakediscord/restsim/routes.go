package restsim

import (
	"net/http"
	"net/url"
	"strings"
)

// route is one API route: a method, a template like /channels/{channel.id}/messages, and the
// handler that answers it.
type route struct {
	method   string
	template string
	segs     []string
	handle   func(s *Server, c *call) response
	// auth is "bot" for routes that need the bot token and count toward the global limit, and
	// "token" for interaction and webhook-token routes, which are authorized by the token in
	// the path and exempt from the global limit.
	auth string
}

func (r *route) key() string { return r.method + " " + r.template }

func newRoute(method, template, auth string, h func(*Server, *call) response) *route {
	return &route{method: method, template: template, segs: strings.Split(strings.Trim(template, "/"), "/"), handle: h, auth: auth}
}

// routeTable lists literal routes before the ones whose placeholder would also match them
// (/users/@me before /users/{user.id}).
func routeTable() []*route {
	return []*route{
		newRoute("GET", "/gateway", "none", (*Server).getGateway),
		newRoute("GET", "/gateway/bot", "bot", (*Server).getGatewayBot),
		newRoute("POST", "/oauth2/token", "none", (*Server).oauth2Token),
		newRoute("GET", "/users/@me", "bot", (*Server).getCurrentUser),
		newRoute("POST", "/users/@me/channels", "bot", (*Server).createDM),
		newRoute("GET", "/users/{user.id}", "bot", (*Server).getUser),
		newRoute("GET", "/channels/{channel.id}", "bot", (*Server).getChannel),
		newRoute("POST", "/channels/{channel.id}/messages", "bot", (*Server).createMessage),
		newRoute("GET", "/channels/{channel.id}/messages/{message.id}", "bot", (*Server).getMessage),
		newRoute("PATCH", "/channels/{channel.id}/messages/{message.id}", "bot", (*Server).editMessage),
		newRoute("DELETE", "/channels/{channel.id}/messages/{message.id}", "bot", (*Server).deleteMessage),
		newRoute("POST", "/channels/{channel.id}/typing", "bot", (*Server).triggerTyping),
		newRoute("PUT", "/channels/{channel.id}/messages/{message.id}/reactions/{emoji}/@me", "bot", (*Server).addReaction),
		newRoute("DELETE", "/channels/{channel.id}/messages/{message.id}/reactions/{emoji}/@me", "bot", (*Server).removeOwnReaction),
		newRoute("DELETE", "/channels/{channel.id}/messages/{message.id}/reactions/{emoji}/{user.id}", "bot", (*Server).removeUserReaction),
		newRoute("DELETE", "/channels/{channel.id}/messages/{message.id}/reactions/{emoji}", "bot", (*Server).removeEmojiReactions),
		newRoute("DELETE", "/channels/{channel.id}/messages/{message.id}/reactions", "bot", (*Server).removeAllReactions),
		newRoute("GET", "/guilds/{guild.id}", "bot", (*Server).getGuild),
		newRoute("GET", "/guilds/{guild.id}/roles", "bot", (*Server).getRoles),
		newRoute("GET", "/guilds/{guild.id}/members/{user.id}", "bot", (*Server).getMember),
		newRoute("PUT", "/guilds/{guild.id}/members/{user.id}/roles/{role.id}", "bot", (*Server).addMemberRole),
		newRoute("DELETE", "/guilds/{guild.id}/members/{user.id}/roles/{role.id}", "bot", (*Server).removeMemberRole),
		newRoute("GET", "/applications/{application.id}/commands", "bot", (*Server).listCommands),
		newRoute("PUT", "/applications/{application.id}/commands", "bot", (*Server).overwriteCommands),
		newRoute("GET", "/applications/{application.id}/guilds/{guild.id}/commands", "bot", (*Server).listCommands),
		newRoute("PUT", "/applications/{application.id}/guilds/{guild.id}/commands", "bot", (*Server).overwriteCommands),
		newRoute("POST", "/interactions/{interaction.id}/{interaction.token}/callback", "token", (*Server).interactionCallback),
		newRoute("POST", "/webhooks/{application.id}/{interaction.token}", "token", (*Server).createFollowup),
		newRoute("GET", "/webhooks/{application.id}/{interaction.token}/messages/@original", "token", (*Server).getWebhookMessage),
		newRoute("PATCH", "/webhooks/{application.id}/{interaction.token}/messages/@original", "token", (*Server).editWebhookMessage),
		newRoute("DELETE", "/webhooks/{application.id}/{interaction.token}/messages/@original", "token", (*Server).deleteWebhookMessage),
		newRoute("GET", "/webhooks/{application.id}/{interaction.token}/messages/{message.id}", "token", (*Server).getWebhookMessage),
		newRoute("PATCH", "/webhooks/{application.id}/{interaction.token}/messages/{message.id}", "token", (*Server).editWebhookMessage),
		newRoute("DELETE", "/webhooks/{application.id}/{interaction.token}/messages/{message.id}", "token", (*Server).deleteWebhookMessage),
	}
}

// trimAPIPrefix removes /api and /api/v{n} so that the handler answers both when mounted under
// fakediscord (which passes /api/v10/...) and when served bare.
func trimAPIPrefix(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, "/api")
	if !ok {
		return p, true
	}
	if v, ok := strings.CutPrefix(rest, "/v"); ok {
		i := strings.IndexByte(v, '/')
		if i < 0 {
			i = len(v)
		}
		if v[:i] != "10" && v[:i] != "9" {
			return "", false
		}
		rest = v[i:]
	}
	if rest == "" {
		rest = "/"
	}
	return rest, true
}

// match finds the route for a method and (escaped) path. It returns the path parameters by
// placeholder name, unescaped, and whether some route has the path with another method.
func match(table []*route, method, escapedPath string) (*route, map[string]string, bool) {
	parts := strings.Split(strings.Trim(escapedPath, "/"), "/")
	pathKnown := false
	for _, r := range table {
		if len(r.segs) != len(parts) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, s := range r.segs {
			if strings.HasPrefix(s, "{") {
				v, err := url.PathUnescape(parts[i])
				if err != nil || v == "" {
					ok = false
					break
				}
				params[s[1:len(s)-1]] = v
				continue
			}
			if s != parts[i] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if r.method != method && !(method == http.MethodHead && r.method == http.MethodGet) {
			pathKnown = true
			continue
		}
		return r, params, true
	}
	return nil, nil, pathKnown
}

// major returns the top-level resource a route's limits are counted per: the channel, guild,
// webhook id and token, or interaction. Discord's bucket hash leaves it out.
func major(r *route, params map[string]string) string {
	switch {
	case strings.HasPrefix(r.template, "/channels/"):
		return "channel:" + params["channel.id"]
	case strings.HasPrefix(r.template, "/guilds/"):
		return "guild:" + params["guild.id"]
	case strings.HasPrefix(r.template, "/webhooks/"):
		return "webhook:" + params["application.id"] + "/" + params["interaction.token"]
	case strings.HasPrefix(r.template, "/interactions/"):
		return "interaction:" + params["interaction.id"] + "/" + params["interaction.token"]
	case strings.HasPrefix(r.template, "/applications/"):
		return "application:" + params["application.id"]
	}
	return ""
}
