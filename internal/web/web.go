package web

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/ghapp"
	"github.com/credserver/credserver/internal/policy"
)

// Options configure the page. BasePath, HubAPIURL, ServiceName, ClientSecret
// and SessionKey are required.
type Options struct {
	// BasePath is where the page lives ("" or "/services/credserver").
	BasePath string
	// HubAPIURL is hub.api_url; the token exchange is POST
	// {HubAPIURL}/oauth2/token.
	HubAPIURL string
	// HubPublicURL is web.hub_public_url: the hub as the browser sees it;
	// "" means the page's own origin.
	HubPublicURL string
	// ServiceName is hub.service_name; the OAuth client id is
	// "service-" + ServiceName.
	ServiceName string
	// RedirectURI is web.oauth_redirect_uri, exactly as registered at the hub.
	RedirectURI string
	// ClientSecret is the service's api_token (hub.api_token_file).
	ClientSecret string
	// SessionKey seals the cookies (web.session_key_file, ≥ 32 bytes).
	SessionKey []byte
	// SessionLifetime bounds a session even while its hub token stays
	// valid; 0 means 12h. A new login through the hub is transparent with
	// oauth_no_confirm.
	SessionLifetime time.Duration
	// Providers describe the config's providers by name, for snippets.
	Providers map[string]ProviderInfo
	// HubClient makes the token exchange; nil means a 10s-timeout client.
	HubClient *http.Client
	// Probe answers GET {base}/ for clients that are not browsers (the
	// hub's service probe); nil answers 204.
	Probe  http.Handler
	Logger *slog.Logger
	Now    func() time.Time
}

// ProviderInfo is what a snippet needs to know of a provider.
type ProviderInfo struct {
	// Type is aws, gcs, azure or github.
	Type string
	// S3Endpoint is told to clients on S3-compatible stores (aws).
	S3Endpoint string
	// Region is the AWS region (aws).
	Region string
	// AccountName is the storage account (azure).
	AccountName string
	// AppURL is where users install the GitHub App (github).
	AppURL string
}

// Backend is what the page needs of the server; internal/server implements
// it with the same authenticator, policy, GitHub links and audit trail as
// the API.
type Backend interface {
	// Authenticate resolves a hub token exactly as the API does.
	Authenticate(ctx context.Context, token string) (auth.Identity, error)
	// Policy is the policy in force.
	Policy() *policy.Policy
	// GitHub reports the caller's GitHub link; nil when GitHub is not
	// configured or the caller has no GitHub grant with mode user.
	GitHub(r *http.Request, id auth.Identity) *GitHubLink
	// StartGitHubLogin starts a device flow for the caller.
	StartGitHubLogin(r *http.Request, id auth.Identity) (ghapp.Login, error)
	// PollGitHubLogin polls one of the caller's device flows.
	PollGitHubLogin(r *http.Request, id auth.Identity, loginID string) (ghapp.LoginStatus, error)
	// UnlinkGitHub forgets the caller's GitHub link.
	UnlinkGitHub(r *http.Request, id auth.Identity) error
	// Account looks a hub user up with credserver's own service token:
	// groups and the admin flag. ErrNoDirectory when no directory is
	// configured.
	Account(ctx context.Context, name string) (Account, error)
	// Describe maps an error to what a client may see, as the API would.
	Describe(err error) Problem
}

// Account is a hub user as the service token reads it.
type Account struct {
	Name   string
	Groups []string
	Admin  bool
}

// ErrNoDirectory means the server has no way to read hub accounts.
var ErrNoDirectory = errors.New("web: no hub directory configured (hub.api_token_file)")

// ErrNoSuchUser is what Backend.Account returns for an unknown user.
var ErrNoSuchUser = errors.New("web: no such hub user")

// Problem is an error as a client may see it.
type Problem struct {
	Status     int
	Code, Msg  string
	RetryAfter int
}

// GitHubLink is the caller's GitHub link for their first GitHub grant with
// mode user.
type GitHubLink struct {
	// Grant is that grant; Provider its provider's name.
	Grant, Provider string
	Linked          bool
	Login           string
	ExpiresAt       time.Time
}

// Page serves the web page. It is safe for concurrent use.
type Page struct {
	opts     Options
	be       Backend
	seal     *sealer
	log      *slog.Logger
	now      func() time.Time
	client   *http.Client
	tmpl     *template.Template
	authzURL string // the hub's authorize endpoint, without query
	clientID string
	cookie   string // the session cookie's Path
	tokens   Tokens
}

// New builds the page.
func New(opts Options, be Backend) (*Page, error) {
	switch {
	case be == nil:
		return nil, errors.New("web: a Backend is required")
	case opts.HubAPIURL == "" || opts.ServiceName == "" || opts.RedirectURI == "":
		return nil, errors.New("web: HubAPIURL, ServiceName and RedirectURI are required")
	case opts.ClientSecret == "":
		return nil, errors.New("web: the OAuth client secret (hub.api_token_file) is empty")
	}
	s, err := newSealer(opts.SessionKey)
	if err != nil {
		return nil, err
	}
	if _, err := url.Parse(opts.RedirectURI); err != nil {
		return nil, errors.New("web: RedirectURI is not a URL")
	}
	p := &Page{
		opts: opts, be: be, seal: s, log: opts.Logger, now: opts.Now, client: opts.HubClient,
		tmpl:     pageTemplates,
		authzURL: strings.TrimRight(opts.HubPublicURL, "/") + "/hub/api/oauth2/authorize",
		clientID: "service-" + opts.ServiceName,
		cookie:   opts.BasePath,
	}
	if p.cookie == "" {
		p.cookie = "/"
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.client == nil {
		p.client = &http.Client{Timeout: 10 * time.Second}
	}
	// Never follow a redirect from the token endpoint: a misconfigured
	// hub.api_url must not send the client secret elsewhere.
	c := *p.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p.client = &c
	if p.opts.SessionLifetime <= 0 {
		p.opts.SessionLifetime = 12 * time.Hour
	}
	return p, nil
}

// SetTokens wires the delegation-token section; nil (the default) leaves
// it out of the page.
func (p *Page) SetTokens(t Tokens) { p.tokens = t }

// Mount registers the page's routes on r, which is mounted at BasePath:
// GET /, GET /oauth_callback, the static assets, the page's forms and
// GET /admin/explain.
func (p *Page) Mount(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(p.headers)
		r.Get("/", p.root)
		r.Get("/oauth_callback", p.callback)
		r.Get("/static/{file}", p.static)
		r.Get("/admin/explain", p.explain)
		r.Post("/web/github/login", p.form(p.githubLogin))
		r.Post("/web/github/poll", p.form(p.githubPoll))
		r.Post("/web/github/unlink", p.form(p.githubUnlink))
		r.Post("/web/tokens", p.form(p.createToken))
		r.Post("/web/tokens/revoke", p.form(p.revokeToken))
		r.Post("/web/logout", p.form(p.logout))
	})
}

// Root is GET {base} without the trailing slash: browsers are sent to
// {base}/, where the session cookie applies; others get the probe answer.
func (p *Page) Root(w http.ResponseWriter, r *http.Request) {
	if wantsHTML(r) {
		http.Redirect(w, r, p.opts.BasePath+"/", http.StatusFound)
		return
	}
	p.probe(w, r)
}

func (p *Page) probe(w http.ResponseWriter, r *http.Request) {
	if p.opts.Probe != nil {
		p.opts.Probe.ServeHTTP(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// wantsHTML tells a browser's navigation from an API client or the hub's
// service probe, which sends no Accept: text/html.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}
