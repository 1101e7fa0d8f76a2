package fakegithub

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// revoke implements DELETE /applications/{client_id}/grant (the whole
// authorization: access and refresh tokens) and .../token (one token).
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	whole := strings.HasSuffix(r.URL.Path, "/grant")
	if whole {
		s.count(EndpointRevokeGrant)
	} else {
		s.count(EndpointRevokeToken)
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != r.PathValue("client_id") || id != s.opts.ClientID || secret != s.opts.ClientSecret {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16)).Decode(&body); err != nil || body.AccessToken == "" {
		apiError(w, http.StatusUnprocessableEntity, "Invalid request.")
		return
	}
	t, ok := s.tokens[body.AccessToken]
	if !ok || t.kind != "user" {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	t.revoked = true
	if whole && t.auth.refresh != nil {
		t.auth.refresh.revoked = true
	}
	w.WriteHeader(http.StatusNoContent)
}

// TokenInfo describes a valid token, for a test's git server.
type TokenInfo struct {
	// Kind is "user" or "installation".
	Kind string
	// Login is the user of a user token.
	Login string
	// Repositories are the full names an installation token may reach;
	// nil means all of the installation's.
	Repositories []string
	// Permissions are an installation token's.
	Permissions map[string]string
	// Expires is zero for a user token of an app without expiration.
	Expires time.Time
}

// ErrInvalidToken is Check's answer for a token that is unknown, revoked,
// expired, or a refresh token.
var ErrInvalidToken = errors.New("fakegithub: bad credentials")

// Check reports whether tok is an access token valid now, and what it may
// reach.
func (s *Server) Check(tok string) (TokenInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[tok]
	if !s.valid(t) || t.kind == "refresh" {
		return TokenInfo{}, ErrInvalidToken
	}
	info := TokenInfo{Kind: t.kind, Login: t.login, Expires: t.expires}
	if t.kind == "installation" {
		inst := s.installations[t.installation]
		info.Repositories = append([]string(nil), t.repos...)
		if t.repos == nil {
			for _, r := range inst.Repositories {
				info.Repositories = append(info.Repositories, inst.Account+"/"+r)
			}
		}
		info.Permissions = t.perms
	}
	return info, nil
}

// Revoke ends every token of login's authorization, as the user would by
// revoking the app in their GitHub settings.
func (s *Server) Revoke(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if t.login == login && t.kind != "installation" {
			t.revoked = true
		}
	}
}
