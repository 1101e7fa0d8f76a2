package fakegithub

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Installation is the app installed on one account.
type Installation struct {
	// ID is set by AddInstallation.
	ID int64
	// Account is the user or organization login; Org says which.
	Account string
	Org     bool
	// Repositories are the names (without owner) the installation covers.
	Repositories []string
	// Permissions are what the app was granted there; nil means contents,
	// issues, pull_requests and metadata, all write.
	Permissions map[string]string
}

// AddInstallation installs the app on inst.Account and returns its id.
func (s *Server) AddInstallation(inst Installation) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inst.Permissions == nil {
		inst.Permissions = map[string]string{"contents": "write", "issues": "write", "pull_requests": "write", "metadata": "read"}
	}
	s.nextID++
	inst.ID = s.nextID
	s.installations[inst.ID] = &inst
	return inst.ID
}

// JWTClaims are the times of the last App JWT the fake accepted.
type JWTClaims struct {
	Issuer              string
	IssuedAt, ExpiresAt time.Time
}

// LastJWT returns the claims of the last App JWT the fake accepted.
func (s *Server) LastJWT() JWTClaims {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastJWT
}

// TokenRequest is one POST /app/installations/{id}/access_tokens as
// received. Repositories and Permissions are nil when the body left them
// out.
type TokenRequest struct {
	InstallationID int64
	Repositories   []string
	Permissions    map[string]string
}

// TokenRequests returns every installation-token request received.
func (s *Server) TokenRequests() []TokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tokenRequests)
}

// appAuth checks the App JWT like GitHub: RS256 with the app's key, iss the
// app id (or client id), iat not in the future, exp at most 10 minutes
// ahead. It writes the 401 itself; s.mu held.
func (s *Server) appAuth(w http.ResponseWriter, r *http.Request) bool {
	now := s.clock.Now()
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(bearer(r), &claims, func(*jwt.Token) (any, error) {
		return &s.opts.PrivateKey.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithIssuedAt(), jwt.WithExpirationRequired())
	switch {
	case err != nil:
		apiError(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return false
	case claims.Issuer != strconv.FormatInt(s.opts.AppID, 10) && claims.Issuer != s.opts.ClientID:
		apiError(w, http.StatusUnauthorized, "'Issuer' claim ('iss') must be an Integer")
		return false
	case claims.IssuedAt == nil:
		apiError(w, http.StatusUnauthorized, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued")
		return false
	case claims.ExpiresAt.Time.After(now.Add(MaxJWTLife)):
		apiError(w, http.StatusUnauthorized, "'Expiration time' claim ('exp') is too far in the future")
		return false
	}
	s.lastJWT = JWTClaims{Issuer: claims.Issuer, IssuedAt: claims.IssuedAt.Time, ExpiresAt: claims.ExpiresAt.Time}
	return true
}

func installationJSON(inst *Installation, appID int64) map[string]any {
	typ := "User"
	if inst.Org {
		typ = "Organization"
	}
	return map[string]any{
		"id": inst.ID, "app_id": appID, "repository_selection": "selected", "permissions": inst.Permissions,
		"account": map[string]any{"login": inst.Account, "type": typ},
	}
}

// lookupInstallation serves GET /orgs/{org}/installation,
// /users/{user}/installation and /repos/{owner}/{repo}/installation.
func (s *Server) lookupInstallation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count(EndpointInstallationLookup)
	if !s.appAuth(w, r) {
		return
	}
	for _, inst := range s.installations {
		var ok bool
		switch {
		case r.PathValue("org") != "":
			ok = inst.Org && strings.EqualFold(inst.Account, r.PathValue("org"))
		case r.PathValue("user") != "":
			ok = !inst.Org && strings.EqualFold(inst.Account, r.PathValue("user"))
		default:
			ok = strings.EqualFold(inst.Account, r.PathValue("owner")) && slices.ContainsFunc(inst.Repositories, func(n string) bool {
				return strings.EqualFold(n, r.PathValue("repo"))
			})
		}
		if ok {
			writeJSON(w, http.StatusOK, installationJSON(inst, s.opts.AppID))
			return
		}
	}
	apiError(w, http.StatusNotFound, "Not Found")
}

var permLevel = map[string]int{"read": 1, "write": 2, "admin": 3}

func (s *Server) installationToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count(EndpointInstallationToken)
	if !s.appAuth(w, r) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	inst, ok := s.installations[id]
	if !ok {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	var body struct {
		Repositories  []string          `json:"repositories"`
		RepositoryIDs []int64           `json:"repository_ids"`
		Permissions   map[string]string `json:"permissions"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&body); err != nil {
			apiError(w, http.StatusBadRequest, "Problems parsing JSON")
			return
		}
	}
	s.tokenRequests = append(s.tokenRequests, TokenRequest{InstallationID: id, Repositories: body.Repositories, Permissions: body.Permissions})
	if len(body.RepositoryIDs) > 0 {
		apiError(w, http.StatusUnprocessableEntity, "fake GitHub: repository_ids are not supported")
		return
	}
	if len(body.Repositories) > 500 {
		apiError(w, http.StatusUnprocessableEntity, "Too many repositories: at most 500 may be given.")
		return
	}
	var repos []string
	for _, name := range body.Repositories {
		i := slices.IndexFunc(inst.Repositories, func(n string) bool { return strings.EqualFold(n, name) })
		if i < 0 {
			apiError(w, http.StatusUnprocessableEntity, "There is at least one repository that does not exist or is not accessible to the parent installation.")
			return
		}
		repos = append(repos, inst.Account+"/"+inst.Repositories[i])
	}
	perms := body.Permissions
	for k, v := range perms {
		if permLevel[v] == 0 || permLevel[inst.Permissions[k]] < permLevel[v] {
			apiError(w, http.StatusUnprocessableEntity, "The permissions requested are not granted to this installation.")
			return
		}
	}
	if perms == nil {
		perms = maps.Clone(inst.Permissions)
	}
	now := s.clock.Now()
	t := &token{value: randomString("ghs_", 36), kind: "installation", installation: id, repos: repos, perms: perms, expires: now.Add(InstallationTokenLife)}
	s.tokens[t.value] = t
	s.secrets = append(s.secrets, t.value)
	out := map[string]any{
		"token": t.value, "expires_at": t.expires.UTC().Format(time.RFC3339),
		"permissions": perms, "repository_selection": "all",
	}
	if repos != nil {
		out["repository_selection"] = "selected"
		list := []map[string]any{}
		for _, full := range repos {
			_, name, _ := strings.Cut(full, "/")
			list = append(list, map[string]any{"name": name, "full_name": full})
		}
		out["repositories"] = list
	}
	writeJSON(w, http.StatusCreated, out)
}

// installationRepos serves GET /installation/repositories for an
// installation token, paginated like GitHub (per_page up to 100).
func (s *Server) installationRepos(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count(EndpointInstallationRepos)
	t := s.tokens[bearer(r)]
	if !s.valid(t) || t.kind != "installation" {
		apiError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	inst := s.installations[t.installation]
	var all []string
	for _, name := range inst.Repositories {
		if t.repos == nil || slices.Contains(t.repos, inst.Account+"/"+name) {
			all = append(all, name)
		}
	}
	perPage, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if perPage <= 0 {
		perPage = 30
	}
	perPage = min(perPage, 100)
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	list := []map[string]any{}
	for i := (page - 1) * perPage; i < min(len(all), page*perPage); i++ {
		list = append(list, map[string]any{
			"name": all[i], "full_name": inst.Account + "/" + all[i], "owner": map[string]any{"login": inst.Account},
		})
	}
	if page*perPage < len(all) {
		w.Header().Set("Link", fmt.Sprintf(`<http://%s/installation/repositories?per_page=%d&page=%d>; rel="next"`, r.Host, perPage, page+1))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(all), "repositories": list})
}
