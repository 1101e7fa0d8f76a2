package auth

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unique"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// Defaults for HubConfig's zero values.
const (
	DefaultCacheTTL    = 60 * time.Second
	DefaultNegativeTTL = 10 * time.Second
	DefaultMaxEntries  = 100_000
	DefaultTimeout     = 10 * time.Second
	// DefaultServiceName is the name the hub knows credserver by.
	DefaultServiceName = "credserver"
)

// HubConfig configures a [Hub]. Zero values take the documented defaults.
type HubConfig struct {
	// APIURL is the hub's REST API base, e.g. http://127.0.0.1:8081/hub/api
	// (hub.api_url). Tokens are checked with GET {APIURL}/user.
	APIURL string
	// CacheTTL is how long an identity is reused without asking the hub
	// again (hub.cache_ttl). A revoked token keeps working this long.
	// Default 60s.
	CacheTTL time.Duration
	// NegativeTTL is how long an invalid or forbidden token is remembered.
	// Default 10s.
	NegativeTTL time.Duration
	// MaxEntries bounds the number of cached tokens; the least recently used
	// go first. Default 100,000.
	MaxEntries int
	// RequireScopes must all be among the token's scopes, compared exactly
	// (hub.require_scopes, e.g. "custom:credserver:use").
	RequireScopes []string
	// ServiceName is credserver's name at the hub (hub.service_name): a
	// token is accepted only if the hub lists access:services or
	// access:services!service=<ServiceName> among its scopes, as the hub's
	// own HubAuth.access_scopes requires of tokens sent to a service.
	// Default "credserver".
	ServiceName string
	// AnyService turns that check off (hub.require_service_access: false):
	// a token the hub issued to any OAuth client is then accepted. The
	// zero value keeps the check on.
	AnyService bool
	// Client sends the hub requests. Default: a client with a 10s timeout.
	// The Hub uses a copy that never follows redirects.
	Client *http.Client
	// Timeout bounds one hub lookup, retry included. Lookups are shared by
	// concurrent callers, so it is not any one caller's deadline: each
	// caller's own ctx still limits how long that caller waits. Default 10s.
	Timeout time.Duration
	// Now is the clock for cache expiry. Default time.Now.
	Now func() time.Time
}

// Hub is the [Authenticator] backed by JupyterHub's REST API, with a bounded
// cache and coalescing of concurrent lookups (see the package comment). It is
// safe for concurrent use. Create it with [NewHub].
type Hub struct {
	userURL       string
	client        *http.Client
	now           func() time.Time
	ttl           time.Duration
	negTTL        time.Duration
	timeout       time.Duration
	retryDelay    time.Duration
	requireScopes []string
	// accessScopes are the scopes of which a token needs one; nil when
	// the check is off.
	accessScopes []string

	cache  *lru.Cache[tokenKey, cacheEntry]
	flight singleflight.Group

	hits, misses, coalesced, refreshes, upstream atomic.Uint64

	// epoch is when the Hub was created, by its clock: cache expiries are
	// kept as nanoseconds since then, 8 bytes instead of a time.Time's 24.
	epoch time.Time
}

var _ Authenticator = (*Hub)(nil)

// tokenKey is the SHA-256 of a token: what the cache and the coalescing key
// on, so the raw token outlives no call.
type tokenKey [sha256.Size]byte

// cacheEntry is one hub answer: an identity or a cacheable error. It is
// kept compact because there is one per cached token (100,000 by
// default): an identity is stored as its name and its interned [attrs],
// and [Hub.result] rebuilds the Identity with fresh slices for each
// caller. With the LRU's own fields it fits the 128-byte size class.
type cacheEntry struct {
	name  string
	attrs unique.Handle[attrs]
	// refusal is the cached error of a refused token, nil for an
	// identity: a pointer rather than an error, to keep the entry of an
	// identity, the common case, in that size class.
	refusal *error
	// expires is a reading of the Hub's clock (see [Hub.clock]).
	expires int64
}

// err returns the entry's error, nil for an identity.
func (e cacheEntry) err() error {
	if e.refusal == nil {
		return nil
	}
	return *e.refusal
}

// CacheStats are plain counters since the Hub was created.
type CacheStats struct {
	// Hits are calls answered from the cache, identities and errors alike.
	Hits uint64
	// Misses are calls that had to wait for a hub lookup.
	Misses uint64
	// Coalesced are misses answered by a lookup another call started.
	Coalesced uint64
	// Refreshes are background re-validations of identities near the end
	// of their TTL.
	Refreshes uint64
	// UpstreamCalls are HTTP requests sent to the hub, retries included.
	UpstreamCalls uint64
	// Entries is the number of tokens cached now, expired ones included
	// until they are evicted or replaced.
	Entries int
}

// NewHub checks cfg, fills in defaults and returns a ready Hub.
func NewHub(cfg HubConfig) (*Hub, error) {
	u, err := url.Parse(cfg.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("auth: hub api_url must be an absolute http(s) URL without query or fragment")
	}
	userURL := u.JoinPath("user").String()
	for _, d := range []time.Duration{cfg.CacheTTL, cfg.NegativeTTL, cfg.Timeout} {
		if d < 0 {
			return nil, errors.New("auth: hub durations must not be negative")
		}
	}
	if cfg.MaxEntries < 0 {
		return nil, errors.New("auth: hub cache size must not be negative")
	}
	if slices.Contains(cfg.RequireScopes, "") {
		return nil, errors.New("auth: hub require_scopes contains an empty scope")
	}
	service := orDefault(cfg.ServiceName, DefaultServiceName)
	if strings.ContainsAny(service, "!= \t\r\n") {
		return nil, errors.New("auth: hub service name must not contain '!', '=' or whitespace")
	}
	client := &http.Client{Timeout: DefaultTimeout}
	if cfg.Client != nil {
		c := *cfg.Client
		client = &c
	}
	// A redirect means api_url is wrong (often the login page); following
	// it would send the token somewhere we were not told to.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	h := &Hub{
		userURL:       userURL,
		client:        client,
		now:           cfg.Now,
		ttl:           orDefault(cfg.CacheTTL, DefaultCacheTTL),
		negTTL:        orDefault(cfg.NegativeTTL, DefaultNegativeTTL),
		timeout:       orDefault(cfg.Timeout, DefaultTimeout),
		retryDelay:    100 * time.Millisecond,
		requireScopes: slices.Clone(cfg.RequireScopes),
	}
	if !cfg.AnyService {
		h.accessScopes = ServiceAccessScopes(service)
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.epoch = h.now()
	h.cache, err = lru.New[tokenKey, cacheEntry](orDefault(cfg.MaxEntries, DefaultMaxEntries))
	if err != nil {
		return nil, fmt.Errorf("auth: hub cache: %w", err)
	}
	return h, nil
}

// clock returns the time now as nanoseconds since h.epoch. The difference
// is taken with time.Time.Sub, which uses the monotonic clock when both
// readings carry it (time.Now's do), so a cached answer expires after its
// TTL even if the wall clock is stepped meanwhile, as it did when expiries
// were time.Time values.
func (h *Hub) clock() int64 { return int64(h.now().Sub(h.epoch)) }

// orDefault returns v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
