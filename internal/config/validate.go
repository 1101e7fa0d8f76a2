package config

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Defaults and limits.
const (
	DefaultListen         = "127.0.0.1:8080"
	DefaultCacheTTL       = 60 * time.Second
	DefaultHubTimeout     = 10 * time.Second
	DefaultRequestTimeout = 30 * time.Second
	// Rate limit defaults; see Limits.
	DefaultUserRate         = 20.0
	DefaultUserBurst        = 2000
	DefaultAuthFailureRate  = 1.0
	DefaultAuthFailureBurst = 30
	DefaultDefaultDuration  = time.Hour
	DefaultMaxDuration      = 12 * time.Hour
	// MinDuration is the shortest credential lifetime a grant may allow
	// or a request may ask (shorter asks are a 400 naming it). STS's own
	// floor is 15m, but the credential cache hands nothing out with less
	// than two thirds of this left (vend.DefaultMinRemaining is derived
	// from it), so a shorter credential could never be reused and every
	// request for one would cost an upstream call.
	MinDuration = 30 * time.Minute
	// MaxDuration is the longest credential lifetime any grant may allow.
	MaxDuration = 12 * time.Hour
	maxCacheTTL = time.Hour
	// DefaultGitHubAPIURL and DefaultGitHubWebURL are a github
	// provider's api_url and web_url defaults.
	DefaultGitHubAPIURL = "https://api.github.com"
	DefaultGitHubWebURL = "https://github.com"
	// DefaultServiceName is hub.service_name's default.
	DefaultServiceName = "credserver"
	// DefaultDelegationMaxLifetime is delegation.max_lifetime's default.
	DefaultDelegationMaxLifetime = 7 * 24 * time.Hour
	// DefaultOAuthCallback is appended to base_path for
	// web.oauth_redirect_uri's default.
	DefaultOAuthCallback = "/oauth_callback"
)

// nameRE is what grant and provider names look like: they appear in URLs,
// metric labels and audit lines.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

var (
	serviceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	regionRE      = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	accountRE     = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
)

// ValidName reports whether s is a valid grant or provider name (nameRE):
// what the API can find in a URL path as it is. It is on every request's
// path, so it is a loop rather than the regexp.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// applyDefaults fills in what the file may leave out. It runs before
// Validate, which therefore sees the values the server will use.
func (c *Config) applyDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.BasePath == "/" {
		c.BasePath = ""
	}
	c.Hub.APIURL = strings.TrimRight(c.Hub.APIURL, "/")
	if c.Hub.CacheTTL == 0 {
		c.Hub.CacheTTL = Duration(DefaultCacheTTL)
	}
	if c.Hub.Timeout == 0 {
		c.Hub.Timeout = Duration(DefaultHubTimeout)
	}
	if c.Hub.ServiceName == "" {
		c.Hub.ServiceName = DefaultServiceName
	}
	if c.Delegation.MaxLifetime == 0 {
		c.Delegation.MaxLifetime = Duration(DefaultDelegationMaxLifetime)
	}
	if c.Web.OAuthRedirectURI == "" {
		c.Web.OAuthRedirectURI = c.BasePath + DefaultOAuthCallback
	}
	c.Web.HubPublicURL = strings.TrimRight(c.Web.HubPublicURL, "/")
	if c.RequestTimeout == 0 {
		c.RequestTimeout = Duration(DefaultRequestTimeout)
	}
	if c.AuditLog == "-" {
		c.AuditLog = ""
	}
	l := &c.Limits
	if l.UserRate == 0 {
		l.UserRate = DefaultUserRate
	}
	if l.UserBurst == 0 {
		l.UserBurst = DefaultUserBurst
	}
	if l.AuthFailureRate == 0 {
		l.AuthFailureRate = DefaultAuthFailureRate
	}
	if l.AuthFailureBurst == 0 {
		l.AuthFailureBurst = DefaultAuthFailureBurst
	}
	if c.Store.Driver == "" {
		c.Store.Driver = "sqlite"
	}
	for name, p := range c.Providers {
		switch p.Type {
		case TypeAzure:
			if p.BlobEndpoint == "" && p.AccountName != "" {
				p.BlobEndpoint = "https://" + p.AccountName + ".blob.core.windows.net"
			}
		case TypeGitHub:
			if p.APIURL == "" {
				p.APIURL = DefaultGitHubAPIURL
			}
			if p.WebURL == "" {
				p.WebURL = DefaultGitHubWebURL
			}
		}
		p.BlobEndpoint = strings.TrimRight(p.BlobEndpoint, "/")
		p.APIURL = strings.TrimRight(p.APIURL, "/")
		p.WebURL = strings.TrimRight(p.WebURL, "/")
		c.Providers[name] = p
	}
	for i := range c.Grants {
		g := &c.Grants[i]
		if g.Access == "" && c.Providers[g.Provider].Type != TypeGitHub {
			g.Access = AccessRead // least privilege
		}
		if g.MaxDuration == 0 {
			g.MaxDuration = Duration(DefaultMaxDuration)
		}
		if g.DefaultDuration == 0 {
			g.DefaultDuration = min(Duration(DefaultDefaultDuration), g.MaxDuration)
		}
	}
}

// validator collects problems with their lines.
type validator struct {
	lines lineIndex
	errs  []*Error
}

// errorf records a problem about the key at path (e.g. "grants[1].access").
func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, &Error{Line: v.lines.line(path), Msg: fmt.Sprintf(format, args...)})
}

// Validate checks the cross-field rules and returns every problem found,
// joined, each an *[Error] with its line when the Config came from a file.
// Parse calls it; call it yourself on a Config built in code (with the
// defaults filled in) — policy.Compile does.
func (c *Config) Validate() error {
	v := &validator{lines: c.lines}
	v.top(c)
	for _, name := range slices.Sorted(maps.Keys(c.Providers)) {
		v.provider(name, c.Providers[name])
	}
	v.grants(c)
	return joinErrors(v.errs)
}

func (v *validator) top(c *Config) {
	if msg := checkHostPort(c.Listen); msg != "" {
		v.errorf("listen", "listen %q: %s", c.Listen, msg)
	}
	if c.MetricsListen != "" {
		if msg := checkHostPort(c.MetricsListen); msg != "" {
			v.errorf("metrics_listen", "metrics_listen %q: %s", c.MetricsListen, msg)
		} else if c.MetricsListen == c.Listen {
			v.errorf("metrics_listen", "metrics_listen must differ from listen (leave it out to serve /metrics on listen)")
		}
	}
	if msg := checkBasePath(c.BasePath); msg != "" {
		v.errorf("base_path", "base_path %q: %s", c.BasePath, msg)
	}
	if c.Hub.APIURL == "" {
		v.errorf("hub.api_url", "hub.api_url is required (the hub's REST API, e.g. http://127.0.0.1:8081/hub/api)")
	} else if msg := checkURL(c.Hub.APIURL); msg != "" {
		v.errorf("hub.api_url", "hub.api_url: %s", msg)
	}
	if ttl := time.Duration(c.Hub.CacheTTL); ttl < 0 || ttl > maxCacheTTL {
		v.errorf("hub.cache_ttl", "hub.cache_ttl %s must be between 0s and %s (a revoked hub token keeps working for this long)", c.Hub.CacheTTL, Duration(maxCacheTTL))
	}
	if t := time.Duration(c.Hub.Timeout); t != 0 && (t < 100*time.Millisecond || t > time.Minute) {
		v.errorf("hub.timeout", "hub.timeout %s must be between 100ms and 1m", c.Hub.Timeout)
	}
	if t := time.Duration(c.RequestTimeout); t != 0 && (t < time.Second || t > 5*time.Minute) {
		v.errorf("request_timeout", "request_timeout %s must be between 1s and 5m", c.RequestTimeout)
	}
	if c.AuditLog != "" && strings.ContainsFunc(c.AuditLog, unicode.IsControl) {
		v.errorf("audit_log", "audit_log %q must be a file path (or - for standard output)", c.AuditLog)
	}
	for _, r := range []struct {
		key   string
		rate  float64
		burst int
	}{
		{"limits.user_rate", c.Limits.UserRate, c.Limits.UserBurst},
		{"limits.auth_failure_rate", c.Limits.AuthFailureRate, c.Limits.AuthFailureBurst},
	} {
		if math.IsNaN(r.rate) || math.IsInf(r.rate, 0) {
			v.errorf(r.key, "%s must be a number (negative turns the limit off)", r.key)
		}
		if r.burst < 0 {
			v.errorf(strings.Replace(r.key, "_rate", "_burst", 1), "%s must not be negative", strings.Replace(r.key, "_rate", "_burst", 1))
		}
	}
	for i, s := range c.Hub.RequireScopes {
		if s == "" || strings.ContainsFunc(s, isSpaceOrControl) {
			v.errorf(fmt.Sprintf("hub.require_scopes[%d]", i), "hub.require_scopes[%d] %q is not a scope name", i, s)
		}
	}
	if c.Hub.ServiceName != "" && !serviceNameRE.MatchString(c.Hub.ServiceName) {
		v.errorf("hub.service_name", "hub.service_name %q must be the service's name at the hub (letters, digits, '-', '_', '.')", c.Hub.ServiceName)
	}
	if c.Hub.APITokenFile != "" && strings.ContainsFunc(c.Hub.APITokenFile, unicode.IsControl) {
		v.errorf("hub.api_token_file", "hub.api_token_file %q must be a file path", c.Hub.APITokenFile)
	}
	if c.Web.On(c.Hub) {
		if c.Hub.APITokenFile == "" {
			v.errorf("web.enabled", "web.enabled needs hub.api_token_file (the page logs users in with the hub's OAuth, whose client secret is the service's api_token)")
		}
		if c.Web.SessionKeyFile == "" {
			v.errorf("web.session_key_file", "web.session_key_file is required when the web page is on (set web.enabled: false to turn it off)")
		}
		if !strings.HasPrefix(c.Web.OAuthRedirectURI, "/") && checkURL(c.Web.OAuthRedirectURI) != "" {
			v.errorf("web.oauth_redirect_uri", "web.oauth_redirect_uri %q must be a path or an absolute http(s) URL", c.Web.OAuthRedirectURI)
		}
		if c.Web.HubPublicURL != "" {
			if msg := checkURL(c.Web.HubPublicURL); msg != "" {
				v.errorf("web.hub_public_url", "web.hub_public_url: %s", msg)
			}
		}
	}
	if c.Delegation.On(c.Hub) && c.Hub.APITokenFile == "" {
		v.errorf("delegation.enabled", "delegation.enabled needs hub.api_token_file (delegation tokens read their owner's groups with the service's own token)")
	}
	if l := time.Duration(c.Delegation.MaxLifetime); l != 0 && (l < time.Hour || l > 366*24*time.Hour) {
		v.errorf("delegation.max_lifetime", "delegation.max_lifetime %s must be between 1h and 8784h", c.Delegation.MaxLifetime)
	}
	switch c.Store.Driver {
	case "sqlite":
		if c.Store.PasswordFile != "" {
			v.errorf("store.password_file", "store.password_file applies only to driver postgres")
		}
	case "postgres":
		if c.Store.DSN == "" {
			v.errorf("store.dsn", "store.dsn is required with driver postgres")
		} else if where := dsnPassword(c.Store.DSN); where != "" {
			// Never quote the DSN: the point is that it holds a secret.
			v.errorf("store.dsn", "store.dsn holds a password (%s), and secrets never sit in the config file: remove it and put the password in the file that store.password_file names (or in PGPASSWORD, or a passfile named by PGPASSFILE)", where)
		}
		if c.Store.PasswordFile != "" && strings.ContainsFunc(c.Store.PasswordFile, unicode.IsControl) {
			v.errorf("store.password_file", "store.password_file %q must be a file path", c.Store.PasswordFile)
		}
	default:
		v.errorf("store.driver", "store.driver %q must be sqlite or postgres", c.Store.Driver)
	}
}
