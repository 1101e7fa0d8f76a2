package server

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/ghapp"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/store"
)

// GitHub serves the GitHub account-link endpoints; *ghapp.Links implements
// it. Providers are named as in the config; the server picks the provider
// from the caller's GitHub grant with mode user.
type GitHub interface {
	StartLogin(ctx context.Context, provider, user string) (ghapp.Login, error)
	PollLogin(ctx context.Context, user, loginID string) (ghapp.LoginStatus, error)
	Unlink(ctx context.Context, provider, user string) (ghapp.Unlinked, error)
	Link(ctx context.Context, provider, user string) (ghapp.LinkInfo, error)
}

var _ GitHub = (*ghapp.Links)(nil)

// githubRoutes registers the account-link endpoints.
func (s *Server) githubRoutes(r chi.Router) {
	r.Post("/v1/github/login", s.handle(s.githubLogin))
	r.Get("/v1/github/login/{login_id}", s.handle(s.githubLoginStatus))
	r.Delete("/v1/github/link", s.handle(s.githubUnlink))
}

// githubLoginBody is POST /v1/github/login. Grant and WebURL extend the
// contract: which grant the login is for, and the GitHub it is at.
type githubLoginBody struct {
	LoginID         string `json:"login_id"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresAt       string `json:"expires_at"`
	Interval        int    `json:"interval"`
	Grant           string `json:"grant"`
	WebURL          string `json:"web_url"`
	// AppURL is where the user installs the hub's GitHub App on
	// repositories (providers.<github>.app_url); left out when unset.
	AppURL string `json:"app_url,omitempty"`
}

// githubLoginStatusBody is GET /v1/github/login/{login_id}.
type githubLoginStatusBody struct {
	Status   string `json:"status"`
	Login    string `json:"login,omitempty"`
	Interval int    `json:"interval"`
}

// whoamiGitHub is whoami's "github" object. Status extends the contract:
// "linked", "unlinked", or "unknown" when the link could not be read (the
// store or the hub is down); Linked is then absent, never false.
type whoamiGitHub struct {
	Linked    *bool  `json:"linked,omitempty"`
	Status    string `json:"status"`
	Login     string `json:"login,omitempty"`
	ExpiresAt string `json:"expires_at,omitempty"`
}

// POST {base}/v1/github/login[?grant=G]
func (s *Server) githubLogin(w http.ResponseWriter, r *http.Request) error {
	id, err := s.identify(r)
	if err != nil {
		return err
	}
	if ok, wait := s.userLimit.allow(id.Name, s.now); !ok {
		s.metrics.rateLimited("user")
		return tooManyRequests("too many requests; wait before starting another GitHub login", wait)
	}
	d, err := s.githubUserGrant(id, r.URL.Query())
	if err != nil {
		return err
	}
	l, err := s.github.StartLogin(r.Context(), d.Provider, id.Name)
	if err != nil {
		return err
	}
	s.auditGitHub(r, "github_login_started", id.Name, d.Grant, "")
	writeJSON(w, http.StatusOK, githubLoginBody{
		LoginID: l.ID, UserCode: l.UserCode, VerificationURI: l.VerificationURI,
		ExpiresAt: l.ExpiresAt.UTC().Format(time.RFC3339), Interval: seconds(l.Interval),
		Grant: d.Grant, WebURL: d.Location, AppURL: l.AppURL,
	})
	return nil
}

// GET {base}/v1/github/login/{login_id}
func (s *Server) githubLoginStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := s.identify(r)
	if err != nil {
		return err
	}
	st, err := s.github.PollLogin(r.Context(), id.Name, chi.URLParam(r, "login_id"))
	if err != nil {
		return err
	}
	if st.Status == store.LoginComplete {
		// A token of an earlier link (perhaps another GitHub account)
		// must not be served from the cache any more.
		s.forgetGitHub(id, st.Provider)
		s.auditGitHub(r, "github_linked", id.Name, "", st.Login)
	}
	writeJSON(w, http.StatusOK, githubLoginStatusBody{Status: st.Status, Login: st.Login, Interval: seconds(st.Interval)})
	return nil
}

// DELETE {base}/v1/github/link[?grant=G]
func (s *Server) githubUnlink(w http.ResponseWriter, r *http.Request) error {
	id, err := s.identify(r)
	if err != nil {
		return err
	}
	d, err := s.githubUserGrant(id, r.URL.Query())
	if err != nil {
		return err
	}
	res, err := s.github.Unlink(r.Context(), d.Provider, id.Name)
	if err != nil {
		return err
	}
	s.forgetGitHub(id, d.Provider)
	if res.WasLinked {
		s.auditGitHub(r, "github_unlinked", id.Name, d.Grant, "")
	}
	writeJSON(w, http.StatusOK, map[string]bool{"linked": false, "was_linked": res.WasLinked, "revoked": res.Revoked})
	return nil
}

// githubUserGrant resolves the GitHub grant with mode user a login or an
// unlink is for: the one named by ?grant=, else the first the caller may
// use, in policy order.
func (s *Server) githubUserGrant(id auth.Identity, q url.Values) (policy.Decision, error) {
	name, _, err := single(q, "grant")
	if err != nil {
		return policy.Decision{}, err
	}
	return s.policy.Load().GitHubUserGrant(policyUser(id), name)
}

// forgetGitHub drops the caller's cached credentials of every GitHub grant
// of provider.
func (s *Server) forgetGitHub(id auth.Identity, provider string) {
	for _, grant := range s.policy.Load().GitHubGrants(policyUser(id), provider) {
		s.cache.Forget(id.Name, grant)
	}
}

// whoamiGitHub reports the caller's link for their first GitHub grant with
// mode user; nil when GitHub is not configured or they have no such grant.
// Trouble reading the store (or the hub's account directory) is logged, not
// fatal: whoami still answers, with status "unknown" rather than a guess.
func (s *Server) whoamiGitHub(r *http.Request, id auth.Identity) *whoamiGitHub {
	if s.github == nil || id.Delegation != nil { // a delegation token sees only its grants
		return nil
	}
	d, err := s.githubUserGrant(id, nil)
	if err != nil {
		return nil
	}
	info, err := s.github.Link(r.Context(), d.Provider, id.Name)
	if err != nil {
		s.log.Warn("whoami: reading the github link failed", "user", id.Name, "error", err.Error())
		return &whoamiGitHub{Status: "unknown"}
	}
	linked := info.Linked
	out := &whoamiGitHub{Linked: &linked, Status: "unlinked", Login: info.Login}
	if linked {
		out.Status = "linked"
	}
	if !info.ExpiresAt.IsZero() {
		out.ExpiresAt = info.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return out
}

func seconds(d time.Duration) int { return max(1, int((d+time.Second-1)/time.Second)) }
