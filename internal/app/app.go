// Package app wires credserver together from a loaded config: the hub
// authenticator, the compiled policy, the credential providers and the HTTP
// server. cmd/credserver, the integration tests and the demo all build the
// server through Build, so what is tested is what runs.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/time/rate"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/server"
	"github.com/credserver/credserver/internal/vend"
)

// Version is the build's version, set with -ldflags "-X ...app.Version=v1".
var Version = "dev"

// Options carry what is not in the config file.
type Options struct {
	Logger *slog.Logger
	// Audit receives the audit trail (JSON lines); nil discards it.
	Audit io.Writer
	// HubClient and STSClient are the outbound HTTP clients; nil uses defaults.
	// Tests wrap their transports to count upstream calls.
	HubClient *http.Client
	STSClient *http.Client
	// AWSCredentials overrides the AWS SDK's default credential chain.
	AWSCredentials aws.CredentialsProvider
	Now            func() time.Time
	// Metrics receives the server's metrics; nil creates a fresh set. They
	// are served at /metrics unless the config sets metrics_listen, in which
	// case the caller serves Metrics.Handler() there.
	Metrics *server.Metrics
	// Limits overrides server.DefaultLimits.
	Limits *server.Limits
	// RequestTimeout and HubTimeout override the defaults (30s, 10s); tests
	// make them short to watch a hung upstream being cut off.
	RequestTimeout time.Duration
	HubTimeout     time.Duration
}

// Build turns a validated config into a ready server.
func Build(ctx context.Context, cfg *config.Config, o Options) (*server.Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = server.NewMetrics()
	}
	pol, err := policy.Compile(cfg)
	if err != nil {
		return nil, fmt.Errorf("compile policy: %w", err)
	}
	hub, err := auth.NewHub(auth.HubConfig{
		APIURL:        cfg.Hub.APIURL,
		CacheTTL:      time.Duration(cfg.Hub.CacheTTL),
		RequireScopes: cfg.Hub.RequireScopes,
		ServiceName:   cfg.Hub.ServiceName,
		AnyService:    !cfg.Hub.ServiceAccessRequired(),
		Client:        instrumentedClient(o.Metrics, "hub", o.HubClient),
		Timeout:       cmp.Or(o.HubTimeout, time.Duration(cfg.Hub.Timeout)),
		Now:           o.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("hub authenticator: %w", err)
	}
	if !cfg.Hub.ServiceAccessRequired() {
		o.Logger.LogAttrs(ctx, slog.LevelWarn, "hub.require_service_access is false: tokens the hub issued to any OAuth client "+
			"(another service, a user's server an admin opened) get their owner's credentials here",
			slog.String("service_name", cfg.Hub.ServiceName))
	}
	o.Metrics.IdentityCacheStats(func() (uint64, uint64, uint64) {
		st := hub.Stats()
		return st.Hits, st.Misses, st.Coalesced
	})
	dir, err := buildDirectory(cfg, o)
	if err != nil {
		return nil, err
	}
	var directory auth.Directory
	if dir != nil {
		directory = dir
	}
	providers, err := buildProviders(ctx, cfg, o)
	if err != nil {
		return nil, err
	}
	gh, err := buildGitHub(ctx, cfg, o, providers, directory)
	if err != nil {
		return nil, err
	}
	webOpts, err := webOptions(cfg, o, o.Metrics)
	if err != nil {
		return nil, err
	}
	for name, p := range providers {
		providers[name] = o.Metrics.InstrumentProvider(cfg.Providers[name].Type, p)
	}
	deleg, err := buildDelegation(ctx, cfg, o, hub, directory, gh.store)
	if err != nil {
		return nil, err
	}
	ready := gh.ready
	if ready == nil && deleg.store != nil {
		ready = deleg.store.Ping
	}
	return server.New(server.Options{BasePath: cfg.BasePath, Version: Version, ServeMetrics: cfg.MetricsListen == ""}, server.Deps{
		Auth:           deleg.auth,
		Policy:         pol,
		Providers:      providers,
		Cache:          vend.NewCache(vend.CacheConfig{Now: o.Now}),
		Logger:         o.Logger,
		Audit:          o.Audit,
		Now:            o.Now,
		Metrics:        o.Metrics,
		Limits:         cmp.Or(o.Limits, limitsFrom(cfg.Limits)),
		RequestTimeout: cmp.Or(o.RequestTimeout, time.Duration(cfg.RequestTimeout)),
		GitHub:         gh.links,
		Ready:          ready,
		Web:            webOpts,
		Directory:      directory,
		Delegation:     deleg.server,
	})
}

// limitsFrom turns the config's limits into the server's; a negative rate
// turns that limit off.
func limitsFrom(l config.Limits) *server.Limits {
	rate := func(r float64) rate.Limit { return rate.Limit(max(r, 0)) }
	return &server.Limits{
		UserRate: rate(l.UserRate), UserBurst: l.UserBurst,
		AuthFailureRate: rate(l.AuthFailureRate), AuthFailureBurst: l.AuthFailureBurst,
		// Not in the config: a bound on the hub's load from all addresses
		// together, which an admin has no reason to tune.
		FailedLookupRate: server.DefaultLimits.FailedLookupRate, FailedLookupBurst: server.DefaultLimits.FailedLookupBurst,
	}
}

// instrumentedClient returns c (or a default client) with its transport
// observed as calls to upstream; c itself is not modified.
func instrumentedClient(m *server.Metrics, upstream string, c *http.Client) *http.Client {
	out := &http.Client{Timeout: 10 * time.Second}
	if c != nil {
		cc := *c
		out = &cc
	}
	out.Transport = m.InstrumentTransport(upstream, out.Transport)
	return out
}

// Serve serves h on ln until ctx is done, then shuts down gracefully: the
// listener closes at once and in-flight requests get up to drain to finish.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, drain time.Duration) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Long enough for a slow STS call (the vend cache bounds those at 30s).
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "drain", drain)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
