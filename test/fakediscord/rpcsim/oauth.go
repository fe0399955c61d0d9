package rpcsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"time"
)

// tokenLifetime is how long an issued access token lasts, as Discord's do (7 days).
const tokenLifetime = 7 * 24 * time.Hour

type grant struct {
	clientID string
	scopes   []string
	expires  time.Time
}

// grants are the authorization codes and access tokens the simulated Discord has issued.
type grants struct {
	codes  map[string]grant
	tokens map[string]grant
}

func (g *grants) init() {
	g.codes = map[string]grant{}
	g.tokens = map[string]grant{}
}

func randomString() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (g *grants) newCode(clientID string, scopes []string) string {
	code := randomString()
	g.codes[code] = grant{clientID: clientID, scopes: append([]string(nil), scopes...)}
	return code
}

// IssueToken creates an access token for the default (first) client id with scopes, as if
// the user had authorized earlier, so a test can AUTHENTICATE directly.
func (s *Server) IssueToken(scopes ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := randomString()
	s.grants.tokens[tok] = grant{clientID: s.cfg.clientIDs[0], scopes: scopes, expires: s.cfg.clock.Now().Add(tokenLifetime)}
	return tok
}

func (s *Server) startAPI() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/oauth2/token", s.serveToken)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	s.apiLn, s.apiSrv = ln, srv
	s.wg.Go(func() { _ = srv.Serve(ln) })
	return nil
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// serveToken is POST /oauth2/token with grant_type=authorization_code: client credentials in
// the form or in Basic auth, a code from AUTHORIZE, and the redirect URI if the application
// has any.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "body must be form-encoded")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if !s.knownClient(id) || secret != s.cfg.secret {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Invalid client")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: "+gt)
		return
	}
	if len(s.cfg.redirects) > 0 {
		ok := false
		for _, u := range s.cfg.redirects {
			ok = ok || u == r.PostForm.Get("redirect_uri")
		}
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid \"redirect_uri\" in request.")
			return
		}
	}
	code := r.PostForm.Get("code")
	s.mu.Lock()
	g, ok := s.grants.codes[code]
	delete(s.grants.codes, code) // a code works once
	var tok, refresh string
	if ok && g.clientID == id {
		tok, refresh = randomString(), randomString()
		g.expires = s.cfg.clock.Now().Add(tokenLifetime)
		s.grants.tokens[tok] = g
	}
	s.mu.Unlock()
	if tok == "" {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid \"code\" in request.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token":  tok,
		"token_type":    "Bearer",
		"expires_in":    int(tokenLifetime / time.Second),
		"refresh_token": refresh,
		"scope":         strings.Join(g.scopes, " "),
	})
}
