package server

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"github.com/credserver/credserver/internal/config"
	"golang.org/x/sync/singleflight"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/vend"
	"github.com/credserver/credserver/internal/web"
)

// Options are the server's settings from the config file.
type Options struct {
	// BasePath is where the API is mounted, e.g. "/services/credserver";
	// "" mounts it at the root. No trailing slash.
	BasePath string
	// Version is reported by GET {base}/.
	Version string
	// ServeMetrics serves Deps.Metrics at /metrics on the main handler;
	// false when they have a listener of their own (metrics_listen).
	ServeMetrics bool
}

// Deps are the server's collaborators. Every field but Audit and Logger is
// required.
type Deps struct {
	Auth   auth.Authenticator
	Policy *policy.Policy
	// Providers maps a provider name from the config to its implementation.
	Providers map[string]vend.Provider
	Cache     *vend.Cache
	// Ready reports whether the server can serve (config loaded, store open);
	// nil means always ready.
	Ready func(context.Context) error
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// Audit receives one JSON line per issuance or denial; nil discards them.
	Audit io.Writer
	Now   func() time.Time
	// Metrics, when set, are recorded and served at /metrics.
	Metrics *Metrics
	// Limits are the rate limits; nil means DefaultLimits.
	Limits *Limits
	// RequestTimeout bounds every request, upstream calls included, so a
	// hung upstream never holds a client; 0 means 30s.
	RequestTimeout time.Duration
	// GitHub serves the GitHub account-link endpoints; nil (no github
	// provider with a store) leaves them out.
	GitHub GitHub
	// Web, when set, serves the web page at {base}/ (see internal/web);
	// nil leaves GET {base}/ the JSON service answer.
	Web *web.Options
	// Directory looks up hub accounts with credserver's own service token
	// (hub.api_token_file); nil when no token file is configured.
	Directory auth.Directory
	// Delegation serves /v1/tokens; nil (delegation tokens off) leaves
	// those routes out. Needs Directory.
	Delegation *DelegationDeps
}

// Server serves the credserver API. It is safe for concurrent use; the
// policy can be swapped while requests are in flight with SetPolicy.
type Server struct {
	opts      Options
	auth      auth.Authenticator
	policy    atomic.Pointer[policy.Policy]
	providers map[string]vend.Provider
	cache     *vend.Cache
	ready     func(context.Context) error
	log       *slog.Logger
	audit     *auditor
	now       func() time.Time
	metrics   *Metrics
	timeout   time.Duration
	// reqPrefix and reqSeq make request ids: random per process, then a
	// sequence number.
	reqPrefix string
	reqSeq    atomic.Uint64
	userLimit *keyedLimiter
	logins    *loginLimiter
	handler   http.Handler
	// credPrefix is the credentials route up to {grant}, under the base
	// path.
	credPrefix string
	// lookups coalesces concurrent hub lookups of one token (identify.go).
	lookups    singleflight.Group
	github     GitHub
	webOpts    *web.Options
	page       *web.Page
	directory  auth.Directory
	delegation *DelegationDeps
}

// New builds a server. The returned server's Handler serves every route.
func New(opts Options, deps Deps) (*Server, error) {
	if deps.Auth == nil || deps.Policy == nil || deps.Cache == nil {
		return nil, errors.New("server: Auth, Policy and Cache are required")
	}
	if deps.Delegation != nil && (deps.Directory == nil || deps.Delegation.Tokens == nil || deps.Delegation.MaxLifetime <= 0) {
		return nil, errors.New("server: delegation tokens need the hub directory, the store and a maximum lifetime")
	}
	s := &Server{
		opts:       opts,
		auth:       deps.Auth,
		providers:  deps.Providers,
		cache:      deps.Cache,
		ready:      deps.Ready,
		log:        deps.Logger,
		now:        deps.Now,
		metrics:    deps.Metrics,
		timeout:    deps.RequestTimeout,
		github:     deps.GitHub,
		webOpts:    deps.Web,
		directory:  deps.Directory,
		delegation: deps.Delegation,
	}
	limits := DefaultLimits
	if deps.Limits != nil {
		limits = *deps.Limits
	}
	s.userLimit = newKeyedLimiter(limits.UserRate, limits.UserBurst)
	s.logins = newLoginLimiter(limits)
	if s.timeout <= 0 {
		s.timeout = 30 * time.Second
	}
	s.reqPrefix = newRequestIDPrefix()
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.audit = newAuditor(deps.Audit, s.now)
	s.policy.Store(deps.Policy)
	s.credPrefix = s.opts.BasePath + strings.TrimSuffix(credentialsRoute, "{grant}")
	h, err := s.routes()
	if err != nil {
		return nil, err
	}
	s.handler = s.dispatch(h)
	return s, nil
}

// SetPolicy atomically replaces the policy. Requests already past their
// policy decision finish with the policy they started with.
func (s *Server) SetPolicy(p *policy.Policy) { s.policy.Store(p) }

// Handler returns the HTTP handler for every route.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() (http.Handler, error) {
	r := chi.NewRouter()
	r.Use(s.begin, s.recoverer, noStore, s.limitBody(maxBodyBytes))
	r.NotFound(s.handle(func(http.ResponseWriter, *http.Request) error {
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Msg: "no such endpoint"}
	}))
	r.MethodNotAllowed(s.handle(func(http.ResponseWriter, *http.Request) error {
		return &apiError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Msg: "method not allowed on this endpoint"}
	}))

	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.handle(s.readyz))
	if s.metrics != nil && s.opts.ServeMetrics {
		r.Method(http.MethodGet, "/metrics", s.metrics.Handler())
	}

	var webErr error
	api := func(r chi.Router) {
		if s.webOpts != nil {
			webErr = s.mountWeb(r, *s.webOpts)
		} else {
			r.Get("/", s.root)
		}
		r.Get("/healthz", s.healthz)
		r.Get("/readyz", s.handle(s.readyz))
		r.With(s.allowDelegation).Get("/v1/whoami", s.handle(s.whoami))
		r.With(s.allowDelegation).Get(credentialsRoute, s.handle(s.credentials))
		if s.delegation != nil {
			s.tokenRoutes(r)
		}
		if s.github != nil {
			s.githubRoutes(r)
		}
	}
	if s.opts.BasePath == "" {
		api(r)
	} else {
		r.Route(s.opts.BasePath, api)
		// The hub's proxy may forward "/services/credserver" without the
		// trailing slash; answer it like the root.
		root := http.HandlerFunc(s.root)
		if s.page != nil {
			root = s.page.Root
		}
		r.Get(s.opts.BasePath, root)
	}
	return r, webErr
}

// credentialsRoute is the credentials route under the base path, as chi
// reports its pattern.
const credentialsRoute = "/v1/credentials/{grant}"

// dispatch serves GET {base}/v1/credentials/{grant} — most of the traffic,
// mostly answered from caches — ahead of the router, through the same
// middleware chain the router applies, with the route label chi would
// give it. Going round chi saves it five allocations a request. Only
// grant names the config can hold take this path; anything else goes to
// the router, which answers it the same way.
func (s *Server) dispatch(router http.Handler) http.Handler {
	prefix := s.credPrefix
	fast := s.instrument(s.opts.BasePath+credentialsRoute,
		s.recoverer(noStore(s.limitBody(maxBodyBytes)(s.allowDelegation(s.handle(s.credentials))))))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.RawPath == "" {
			if grant, ok := strings.CutPrefix(r.URL.Path, prefix); ok && config.ValidName(grant) {
				fast.ServeHTTP(w, r)
				return
			}
		}
		router.ServeHTTP(w, r)
	})
}

// grantParam is the {grant} of a credentials request, routed by chi or by
// dispatch.
func (s *Server) grantParam(r *http.Request) string {
	if chi.RouteContext(r.Context()) != nil {
		return chi.URLParam(r, "grant")
	}
	return strings.TrimPrefix(r.URL.Path, s.credPrefix)
}

// handle adapts a handler that returns an error; the error is mapped to the
// JSON error body in one place, writeError.
func (s *Server) handle(fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			writeError(w, r, s.log, err)
		}
	}
}

func (s *Server) root(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"service": "credserver", "version": s.opts.Version})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.ready != nil {
		if err := s.ready(r.Context()); err != nil {
			return &apiError{Status: http.StatusServiceUnavailable, Code: "not_ready", Msg: "not ready", Err: err, RetryAfter: 1}
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

// newRequestIDPrefix is 8 random base32 characters and a dash, so request
// ids from different replicas or restarts do not collide.
func newRequestIDPrefix() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:])) + "-"
}
