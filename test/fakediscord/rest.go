package fakediscord

import (
	"encoding/json"
	"net/http"

	"github.com/cordage/cordage/events"
)

// serveAPI answers the REST routes the gateway needs and hands every other /api/ request to the
// mounted REST handler (WithREST, SetREST).
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.userAgents = append(s.userAgents, r.UserAgent())
	s.notifyLocked()
	s.mu.Unlock()

	if r.Method == http.MethodGet {
		switch r.URL.Path {
		case apiPrefix + "/gateway":
			writeJSON(w, http.StatusOK, events.Gateway{URL: s.GatewayURL()})
			return
		case apiPrefix + "/gateway/bot":
			if s.authorized(w, r) {
				writeJSON(w, http.StatusOK, events.GatewayBot{
					URL: s.GatewayURL(), Shards: s.RecommendedShards(), SessionStartLimit: s.SessionStartLimit(),
				})
			}
			return
		case apiPrefix + "/users/@me":
			if s.authorized(w, r) {
				writeJSON(w, http.StatusOK, s.world.botUser())
			}
			return
		case apiPrefix + "/applications/@me":
			if s.authorized(w, r) {
				u := s.world.botUser()
				writeJSON(w, http.StatusOK, map[string]any{
					"id": s.world.appID, "name": "Cordage Fake App", "description": "", "icon": nil,
					"bot_public": true, "bot_require_code_grant": false, "flags": 1 << 23,
					"bot": u, "approximate_guild_count": len(s.world.guildIDs),
					"verify_key": "00", "team": nil,
				})
			}
			return
		}
	}
	if h := s.rest.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "404: Not Found", "code": 0})
}

// authorized checks "Authorization: Bot <token>" and answers 401 when it is wrong.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") == "Bot "+s.cfg.token {
		return true
	}
	writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401: Unauthorized", "code": 0})
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"message":"internal error","code":0}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
