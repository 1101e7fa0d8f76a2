package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// Account is a hub user as credserver's own service token reads it:
// GET {hub.api_url}/users/{name} with "Authorization: token <service token>"
// (scope read:users; JupyterHub returns name, admin, groups, created, ...).
type Account struct {
	Name   string
	Groups []string
	Admin  bool
	// Created is the hub's "created" time of the account: a deleted and
	// re-created account of the same name has a different one. Never zero
	// in an Account a Directory returns.
	Created time.Time
}

// ErrNoSuchUser: the hub has no user of that name (404).
var ErrNoSuchUser = errors.New("no such hub user")

// Directory looks up hub accounts by name with credserver's service token.
// Safe for concurrent use; answers cached up to hub.cache_ttl (ErrNoSuchUser
// cached briefly, hub trouble never cached), lookups for one name coalesced,
// bounded size. Errors: ErrNoSuchUser; ErrHubUnavailable (transport, 5xx);
// ErrHubMisconfigured (3xx, 401/403: the service token is wrong or lacks
// read:users). Never puts the token in an error.
type Directory interface {
	Account(ctx context.Context, name string) (Account, error)
}

// DirectoryConfig configures a [HubDirectory]. Zero values take the same
// defaults as [HubConfig].
type DirectoryConfig struct {
	// APIURL is hub.api_url.
	APIURL string
	// Token is credserver's service token (the contents of
	// hub.api_token_file, trimmed). Required.
	Token string
	// CacheTTL is how long an account is reused. Default 60s.
	CacheTTL time.Duration
	// NegativeTTL is how long "no such user" is remembered. Default 10s.
	NegativeTTL time.Duration
	// Timeout bounds one lookup. Lookups are shared by concurrent callers;
	// each caller's own ctx still bounds its wait. Default 10s.
	Timeout time.Duration
	// MaxEntries bounds the cached names. Default 100,000.
	MaxEntries int
	// Client sends the requests; a copy that never follows redirects is
	// used. Default: a client with a 10s timeout.
	Client *http.Client
	// Now is the clock for cache expiry. Default time.Now.
	Now func() time.Time
}

// HubDirectory is the [Directory] backed by JupyterHub's REST API. Create it
// with [NewDirectory].
type HubDirectory struct {
	usersURL *url.URL
	token    string
	client   *http.Client
	now      func() time.Time
	ttl      time.Duration
	negTTL   time.Duration
	timeout  time.Duration

	cache    *lru.Cache[string, dirEntry]
	flight   singleflight.Group
	upstream atomic.Uint64
}

var _ Directory = (*HubDirectory)(nil)

type dirEntry struct {
	acct    Account
	err     error
	expires time.Time
}

// NewDirectory checks cfg, fills in defaults and returns a ready directory.
func NewDirectory(cfg DirectoryConfig) (*HubDirectory, error) {
	u, err := url.Parse(cfg.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("auth: hub api_url must be an absolute http(s) URL without query or fragment")
	}
	if cfg.Token == "" || strings.ContainsAny(cfg.Token, " \t\r\n") {
		return nil, errors.New("auth: the hub service token is empty or contains white space")
	}
	for _, d := range []time.Duration{cfg.CacheTTL, cfg.NegativeTTL, cfg.Timeout} {
		if d < 0 {
			return nil, errors.New("auth: directory durations must not be negative")
		}
	}
	if cfg.MaxEntries < 0 {
		return nil, errors.New("auth: directory cache size must not be negative")
	}
	client := &http.Client{Timeout: DefaultTimeout}
	if cfg.Client != nil {
		c := *cfg.Client
		client = &c
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	d := &HubDirectory{
		usersURL: u.JoinPath("users"),
		token:    cfg.Token,
		client:   client,
		now:      cfg.Now,
		ttl:      orDefault(cfg.CacheTTL, DefaultCacheTTL),
		negTTL:   orDefault(cfg.NegativeTTL, DefaultNegativeTTL),
		timeout:  orDefault(cfg.Timeout, DefaultTimeout),
	}
	if d.now == nil {
		d.now = time.Now
	}
	d.cache, err = lru.New[string, dirEntry](orDefault(cfg.MaxEntries, DefaultMaxEntries))
	if err != nil {
		return nil, fmt.Errorf("auth: directory cache: %w", err)
	}
	return d, nil
}

// Account returns the hub account called name. The slices in the answer are
// the caller's own copies.
func (d *HubDirectory) Account(ctx context.Context, name string) (Account, error) {
	if name == "" {
		return Account{}, ErrNoSuchUser
	}
	if e, ok := d.cached(name); ok {
		return e.result()
	}
	ch := d.flight.DoChan(name, func() (any, error) {
		if e, ok := d.cached(name); ok {
			return e, nil
		}
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.timeout)
		defer cancel()
		e := dirEntry{}
		e.acct, e.err = d.fetch(lctx, name)
		switch {
		case e.err == nil:
			e.expires = d.now().Add(d.ttl)
		case errors.Is(e.err, ErrNoSuchUser):
			e.expires = d.now().Add(d.negTTL)
		default:
			return e, nil // the hub's trouble: never cached
		}
		d.cache.Add(name, e)
		return e, nil
	})
	select {
	case <-ctx.Done():
		return Account{}, fmt.Errorf("%w: %w", ErrHubUnavailable, ctx.Err())
	case r := <-ch:
		return r.Val.(dirEntry).result()
	}
}

// UpstreamCalls counts the HTTP requests sent to the hub.
func (d *HubDirectory) UpstreamCalls() uint64 { return d.upstream.Load() }

func (d *HubDirectory) cached(name string) (dirEntry, bool) {
	e, ok := d.cache.Get(name)
	if !ok || !d.now().Before(e.expires) {
		return dirEntry{}, false
	}
	return e, true
}

func (e dirEntry) result() (Account, error) {
	if e.err != nil {
		return Account{}, e.err
	}
	a := e.acct
	a.Groups = append([]string(nil), a.Groups...)
	return a, nil
}

// hubAccount is the part of GET /users/{name} the directory reads.
type hubAccount struct {
	Kind    string     `json:"kind"`
	Name    string     `json:"name"`
	Admin   bool       `json:"admin"`
	Groups  []string   `json:"groups"`
	Created *time.Time `json:"created"`
}

// fetch sends one GET {APIURL}/users/{name}. The token goes only into the
// request header; the name is path-escaped and quoted in errors only as the
// hub's status.
func (d *HubDirectory) fetch(ctx context.Context, name string) (Account, error) {
	d.upstream.Add(1)
	u := *d.usersURL
	u.Path += "/" + name
	u.RawPath = d.usersURL.EscapedPath() + "/" + url.PathEscape(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Account{}, fmt.Errorf("%w: building request: %w", ErrHubMisconfigured, err)
	}
	req.Header.Set("Authorization", "token "+d.token)
	req.Header.Set("Accept", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return Account{}, fmt.Errorf("%w: %w", ErrHubUnavailable, scrubURL(err))
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
	}()
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusNotFound:
		return Account{}, ErrNoSuchUser
	case code == http.StatusUnauthorized, code == http.StatusForbidden:
		return Account{}, fmt.Errorf("%w: hub answered %d to the service token (is hub.api_token_file the service's api_token, with scope read:users?)",
			ErrHubMisconfigured, code)
	case code >= 500, code == http.StatusTooManyRequests:
		return Account{}, fmt.Errorf("%w: hub answered %d", ErrHubUnavailable, code)
	default:
		return Account{}, fmt.Errorf("%w: hub answered %d to GET /users/{name}", ErrHubMisconfigured, code)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return Account{}, fmt.Errorf("%w: reading hub answer: %w", ErrHubUnavailable, err)
	}
	if len(raw) > maxBody {
		return Account{}, fmt.Errorf("%w: hub answer larger than %d bytes", ErrHubMisconfigured, maxBody)
	}
	var a *hubAccount
	if err := json.Unmarshal(raw, &a); err != nil || a == nil {
		return Account{}, fmt.Errorf("%w: hub answer is not a user model", ErrHubMisconfigured)
	}
	if a.Name != name || (a.Kind != "" && a.Kind != "user") {
		return Account{}, fmt.Errorf("%w: hub answered for another name or kind", ErrHubMisconfigured)
	}
	if a.Created == nil || a.Created.IsZero() {
		return Account{}, fmt.Errorf("%w: hub user model has no created time (the service token needs read:users, not read:users:name)", ErrHubMisconfigured)
	}
	return Account{Name: a.Name, Groups: a.Groups, Admin: a.Admin, Created: a.Created.UTC()}, nil
}

// scrubURL drops the URL from a transport error: it holds the user name,
// which is fine, but nothing else is needed either.
func scrubURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
