package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/vend"
)

func policyUser(id auth.Identity) policy.User {
	return policy.User{Name: id.Name, Groups: id.Groups, Admin: id.Admin}
}

type whoamiGrant struct {
	Name        string `json:"name"`
	Provider    string `json:"provider"`
	Access      string `json:"access"`
	Location    string `json:"location"`
	MaxDuration string `json:"max_duration"`
}

type whoamiBody struct {
	User   string        `json:"user"`
	Groups []string      `json:"groups"`
	Admin  bool          `json:"admin"`
	Grants []whoamiGrant `json:"grants"`
	// GitHub is the caller's GitHub link; absent without a GitHub grant
	// with mode user.
	GitHub *whoamiGitHub `json:"github,omitempty"`
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) error {
	id, err := s.identify(r)
	if err != nil {
		return err
	}
	views := delegatedViews(id, s.policy.Load().Grants(policyUser(id)))
	body := whoamiBody{User: id.Name, Groups: id.Groups, Admin: id.Admin, Grants: make([]whoamiGrant, 0, len(views)), GitHub: s.whoamiGitHub(r, id)}
	if body.Groups == nil {
		body.Groups = []string{}
	}
	for _, g := range views {
		body.Grants = append(body.Grants, whoamiGrant{
			Name: g.Name, Provider: g.Provider, Access: g.Access,
			Location: g.Location, MaxDuration: formatDuration(g.MaxDuration),
		})
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) credentials(w http.ResponseWriter, r *http.Request) error {
	grant := chi.URLParam(r, "grant")
	id, err := s.identify(r)
	if err != nil {
		// Unknown callers are part of the trail too; the user is unknown.
		s.audit.denied(r, "", grant, err)
		return err
	}
	req, err := parseCredentialRequest(grant, r.URL.Query())
	if err != nil {
		s.metrics.credential("", "_invalid_request", "denied")
		s.audit.denied(r, id.Name, grant, err)
		return err
	}
	if ok, wait := s.userLimit.allow(id.Name, s.now()); !ok {
		s.metrics.rateLimited("user")
		err := tooManyRequests("too many credential requests; credentials are cached, so reuse the ones you have", wait)
		s.audit.denied(r, id.Name, grant, err)
		return err
	}
	pol := s.policy.Load()
	d, err := decide(pol, id, req)
	if err != nil {
		s.metrics.credential("", metricGrant(err, grant), "denied")
		s.audit.denied(r, id.Name, grant, err)
		return err
	}
	prov, ok := s.providers[d.Provider]
	if !ok {
		// Config validation ties every grant to a built provider; reaching
		// here is a wiring bug, not a client error.
		return fmt.Errorf("no provider %q built for grant %q", d.Provider, d.Grant)
	}
	vreq := vend.Request{
		User: d.User, Grant: d.Grant, Access: d.Access.String(), Duration: d.Duration,
		Bucket: d.Bucket, Prefixes: d.Prefixes, Location: d.Location, Create: d.Create,
	}
	if gh := d.GitHub; gh != nil {
		vreq.GitHub = &vend.GitHubScope{Mode: gh.Mode, Owner: gh.Owner, Repositories: gh.Repositories, Permissions: gh.Permissions}
	}
	cred, hit, err := s.cache.Issue(r.Context(), prov, vend.Key(vreq), vreq)
	if err != nil {
		s.metrics.credential(d.Type, d.Grant, "error")
		s.audit.failed(r, d, err)
		return err
	}
	s.metrics.credentialCache(hit)
	s.metrics.credential(d.Type, d.Grant, "issued")
	s.audit.issued(r, d, cred, hit)
	writeJSON(w, http.StatusOK, cred.Body)
	return nil
}

// parseCredentialRequest reads the query of GET /v1/credentials/{grant}.
// Unknown parameters are ignored (a token there is never read); a parameter
// given twice is an error rather than a silent pick.
func parseCredentialRequest(grant string, q url.Values) (policy.Request, error) {
	req := policy.Request{Grant: grant}
	if v, ok, err := single(q, "access"); err != nil {
		return req, err
	} else if ok {
		a, err := policy.ParseAccess(v)
		if err != nil {
			return req, &policy.RequestError{Param: "access", Msg: fmt.Sprintf("access %q must be read or readwrite", clip(v))}
		}
		req.Access = a
	}
	if v, ok, err := single(q, "duration"); err != nil {
		return req, err
	} else if ok {
		d, err := parseDuration(v)
		if err != nil {
			return req, &policy.RequestError{Param: "duration", Msg: err.Error()}
		}
		req.Duration = d
	}
	return req, nil
}

func single(q url.Values, name string) (string, bool, error) {
	vs, ok := q[name]
	switch {
	case !ok:
		return "", false, nil
	case len(vs) > 1:
		return "", false, &policy.RequestError{Param: name, Msg: fmt.Sprintf("%s given more than once", name)}
	}
	return vs[0], true, nil
}

// parseDuration accepts a Go duration ("1h", "90m") or whole seconds ("3600").
func parseDuration(v string) (time.Duration, error) {
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 || n > int64(365*24*time.Hour/time.Second) {
			return 0, fmt.Errorf("duration %q must be a positive number of seconds", clip(v))
		}
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(v); err != nil || d <= 0 {
		return 0, fmt.Errorf("duration %q must be a Go duration such as 1h or 90m, or seconds", clip(v))
	}
	return d, nil
}

// clip bounds user input echoed back in an error message.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// formatDuration prints 12h rather than 12h0m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// metricGrant bounds the grant label to names in the policy: a name the
// policy does not know could be anything a client sent.
func metricGrant(err error, grant string) string {
	if errors.Is(err, policy.ErrUnknownGrant) {
		return "_unknown"
	}
	return grant
}
