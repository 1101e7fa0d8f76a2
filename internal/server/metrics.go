package server

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/vend"
)

// Metrics are credserver's Prometheus metrics (DESIGN §9). Label values are
// bounded: routes are chi patterns, grants come from the config (an unknown
// grant is counted as "_unknown"), providers and caches are fixed names.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	issued    *prometheus.CounterVec
	cache     *cacheCollector
	upstream  *prometheus.HistogramVec
	reloads   *prometheus.CounterVec
	rateLimit *prometheus.CounterVec
	auditErrs prometheus.Counter
	byToken   *prometheus.CounterVec

	// The request path's children, found without hashing labels.
	requestsBy *counters
	durationBy *observers
	issuedBy   *counters
	byTokenBy  *counters
	// issuedByGrant finds issuedBy's child for an issued credential by
	// the grant's name alone: one string to hash rather than three.
	issuedByGrant *children[string, *grantIssued]
}

// grantIssued holds the issued counter of one grant name, made for the
// provider type the grant had when it was first counted.
type grantIssued struct{ p atomic.Pointer[typedCounter] }

type typedCounter struct {
	typ string
	c   prometheus.Counter
}

// NewMetrics registers the metrics, plus the Go and process collectors, on
// a new registry.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{reg: reg}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "credserver_http_requests_total", Help: "HTTP requests by route pattern and status code.",
	}, []string{"route", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "credserver_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route"})
	m.issued = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "credserver_credentials_issued_total",
		Help: "Credential requests by provider, grant and result (issued, denied, error).",
	}, []string{"provider", "grant", "result"})
	m.cache = &cacheCollector{desc: prometheus.NewDesc("credserver_cache_requests_total",
		"Cache lookups by cache (identity, credentials) and result (hit, miss, coalesced).", []string{"cache", "result"}, nil)}
	m.upstream = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "credserver_upstream_request_duration_seconds", Help: "Calls to upstreams (hub, sts, ...) by result (ok, error).",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"upstream", "result"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "credserver_config_reloads_total", Help: "Config reloads by result (ok, error).",
	}, []string{"result"})
	m.rateLimit = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "credserver_rate_limited_total", Help: "Requests refused with 429, by limit (user, auth_failures).",
	}, []string{"limit"})
	m.auditErrs = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "credserver_audit_write_errors_total",
		Help: "Audit lines that could not be written; a credential whose line is lost is not handed out.",
	})
	m.byToken = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "credserver_credential_requests_by_token_kind_total",
		Help: "Credential and whoami outcomes (issued, denied, failed) by the kind of token that asked (hub, delegation, none).",
	}, []string{"kind", "result"})
	m.requestsBy, m.durationBy = newCounters(m.requests, 2), newObservers(m.duration)
	m.issuedBy, m.byTokenBy = newCounters(m.issued, 3), newCounters(m.byToken, 2)
	m.issuedByGrant = newChildren(func(string) *grantIssued { return new(grantIssued) })
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.issued, m.cache, m.upstream, m.reloads, m.rateLimit, m.auditErrs, m.byToken} {
		f(c)
	}
	return m
}

// Registry returns the registry, for extra collectors (e.g. the identity cache).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Reloaded counts one config reload.
func (m *Metrics) Reloaded(err error) {
	if m == nil {
		return
	}
	m.reloads.WithLabelValues(resultOf(err)).Inc()
}

// ObserveUpstream records one call to an upstream.
func (m *Metrics) ObserveUpstream(upstream string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.upstream.WithLabelValues(upstream, resultOf(err)).Observe(d.Seconds())
}

func resultOf(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// observe records one served request.
func (m *Metrics) observe(route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requestsBy.with(labels{route, statusText(status)}).Inc()
	m.durationBy.with(route).Observe(d.Seconds())
}

// routeMetrics records the requests of one route known in advance (the
// credentials route's fast path): its histogram and its 200 counter are
// found once, on its first request (so no empty series appears before),
// and not looked up by label on every request.
type routeMetrics struct {
	m     *Metrics
	route string
	hot   atomic.Pointer[routeChildren]
}

type routeChildren struct {
	ok       prometheus.Counter
	duration prometheus.Observer
}

func (m *Metrics) forRoute(route string) *routeMetrics {
	if m == nil || route == "" {
		return nil
	}
	return &routeMetrics{m: m, route: route}
}

// observe is Metrics.observe for the route.
func (rm *routeMetrics) observe(status int, d time.Duration) {
	if rm == nil {
		return
	}
	c := rm.hot.Load()
	if c == nil {
		c = &routeChildren{ok: rm.m.requestsBy.with(labels{rm.route, "200"}), duration: rm.m.durationBy.with(rm.route)}
		rm.hot.Store(c)
	}
	if status == http.StatusOK {
		c.ok.Inc()
	} else {
		rm.m.requestsBy.with(labels{rm.route, statusText(status)}).Inc()
	}
	c.duration.Observe(d.Seconds())
}

// statusText is strconv.Itoa for the statuses served, without allocating.
func statusText(status int) string {
	switch status {
	case 200:
		return "200"
	case 201:
		return "201"
	case 204:
		return "204"
	}
	return strconv.Itoa(status)
}

func (m *Metrics) credential(provider, grant, result string) {
	if m == nil {
		return
	}
	m.issuedBy.with(labels{provider, grant, result}).Inc()
}

// credentialIssued is credential(provider, grant, "issued"), the common
// outcome.
func (m *Metrics) credentialIssued(provider, grant string) {
	if m == nil {
		return
	}
	g := m.issuedByGrant.with(grant)
	c := g.p.Load()
	if c == nil || c.typ != provider {
		// First issued, or the grant has another provider type since a
		// reload.
		c = &typedCounter{typ: provider, c: m.issuedBy.with(labels{provider, grant, "issued"})}
		g.p.Store(c)
	}
	c.c.Inc()
}

// tokenKind counts one audited credential outcome by token kind.
func (m *Metrics) tokenKind(kind, result string) {
	if m == nil {
		return
	}
	m.byTokenBy.with(labels{kind, result}).Inc()
}

func (m *Metrics) credentialCache(hit bool) {
	if m == nil {
		return
	}
	if hit {
		m.cache.credHits.Add(1)
	} else {
		m.cache.credMisses.Add(1)
	}
}

// IdentityCacheStats makes the identity cache's own counters part of
// credserver_cache_requests_total{cache="identity"}.
func (m *Metrics) IdentityCacheStats(stats func() (hits, misses, coalesced uint64)) {
	m.cache.identity.Store(&stats)
}

// cacheCollector reports both caches under one metric name: the credential
// cache is counted here, the identity cache keeps its own counters (auth
// has no dependency on Prometheus) and is read at scrape time.
type cacheCollector struct {
	desc                 *prometheus.Desc
	credHits, credMisses atomic.Uint64
	identity             atomic.Pointer[func() (hits, misses, coalesced uint64)]
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.credHits.Load(), "credentials", "hit")
	counter(c.credMisses.Load(), "credentials", "miss")
	if f := c.identity.Load(); f != nil {
		hits, misses, coalesced := (*f)()
		counter(hits, "identity", "hit")
		counter(misses, "identity", "miss")
		counter(coalesced, "identity", "coalesced")
	}
}

func (m *Metrics) auditWriteFailed() {
	if m == nil {
		return
	}
	m.auditErrs.Inc()
}

func (m *Metrics) rateLimited(limit string) {
	if m == nil {
		return
	}
	m.rateLimit.WithLabelValues(limit).Inc()
}

// InstrumentTransport wraps an outbound transport so every round trip is
// observed as a call to upstream. A 5xx answer counts as an error.
func (m *Metrics) InstrumentTransport(upstream string, rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := rt.RoundTrip(r)
		rerr := err
		if err == nil && resp.StatusCode >= 500 {
			rerr = errUpstream5xx
		}
		m.ObserveUpstream(upstream, time.Since(start), rerr)
		return resp, err
	})
}

// InstrumentProvider observes every upstream call a provider makes (one per
// coalesced cache miss), whatever transport the provider's SDK uses.
func (m *Metrics) InstrumentProvider(upstream string, p vend.Provider) vend.Provider {
	return providerFunc(func(ctx context.Context, d policy.Decision) (*vend.Credentials, error) {
		start := time.Now()
		c, err := p.Issue(ctx, d)
		m.ObserveUpstream(upstream, time.Since(start), err)
		return c, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type providerFunc func(context.Context, policy.Decision) (*vend.Credentials, error)

func (f providerFunc) Issue(ctx context.Context, d policy.Decision) (*vend.Credentials, error) {
	return f(ctx, d)
}

type upstreamError string

func (e upstreamError) Error() string { return string(e) }

const errUpstream5xx = upstreamError("upstream answered 5xx")
