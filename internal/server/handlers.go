package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/policy"
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

// GET {base}/v1/credentials/{grant}: auth → decide → issue → respond,
// with one outcome recorded whatever the exit.
func (s *Server) credentials(w http.ResponseWriter, r *http.Request) error {
	rq := stateOf(w, r)
	o := s.credential(rq, r)
	if err := s.record(rq, r, &o); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o.cred.Body)
	return nil
}

// credential runs one credential request up to the response; rq is its
// state (nil outside instrument).
func (s *Server) credential(rq *request, r *http.Request) (o outcome) {
	ctx := rq.ctx(r)
	grant := s.grantParam(r)
	o.grant = boundedGrant(grant)
	id, err := s.identifyIn(rq, r)
	if err != nil {
		o.err = err
		return o
	}
	o.user = id.Name
	req, err := parseCredentialRequest(grant, r.URL.RawQuery)
	if err != nil {
		o.err, o.invalid = err, true
		return o
	}
	if ok, wait := s.userLimit.allow(id.Name, s.now); !ok {
		s.metrics.rateLimited("user")
		o.err = tooManyRequests("too many credential requests; credentials are cached, so reuse the ones you have", wait)
		return o
	}
	if o.decision, o.err = decide(s.policy.Load(), id, req); o.err != nil {
		return o
	}
	o.decided = true
	prov, ok := s.providers[o.decision.Provider]
	if !ok {
		// Config validation ties every grant to a built provider; reaching
		// here is a wiring bug, not a client error.
		o.err = fmt.Errorf("no provider %q built for grant %q", o.decision.Provider, o.decision.Grant)
		return o
	}
	if o.decision.Created, o.err = s.accountCreated(ctx, id, o.decision); o.err != nil {
		return o
	}
	o.cred, o.hit, o.err = s.cache.Issue(ctx, prov, o.decision)
	return o
}

// parseCredentialRequest reads the query of GET /v1/credentials/{grant}.
// Unknown parameters are ignored (a token there is never read); a parameter
// given twice is an error rather than a silent pick.
func parseCredentialRequest(grant string, rawQuery string) (policy.Request, error) {
	req := policy.Request{Grant: grant}
	if rawQuery == "" {
		return req, nil
	}
	// As url.URL.Query: what parses is read, the rest ignored. Most
	// requests have no query, and skip this allocation.
	q, _ := url.ParseQuery(rawQuery)
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
