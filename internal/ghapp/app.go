package ghapp

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/vend"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/sync/singleflight"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/store"
)

// Defaults.
const (
	DefaultAPIURL = config.DefaultGitHubAPIURL
	DefaultWebURL = config.DefaultGitHubWebURL
	// DefaultRefreshBefore is how much life a stored user token must have
	// left to be handed out; with less, it is refreshed first. It is the
	// credential cache's least remaining life on purpose: a refresh ends
	// the old token at GitHub, so it must only happen once no cache would
	// still hand that token out.
	DefaultRefreshBefore = vend.DefaultMinRemaining
	// callTimeout bounds one call to GitHub.
	callTimeout = 10 * time.Second
)

// Config configures an [App].
type Config struct {
	// Name is the provider's name in the credserver config; links are
	// stored under it.
	Name string
	// AppID and PrivateKey sign App JWTs; required for installation
	// grants.
	AppID      int64
	PrivateKey *rsa.PrivateKey
	// ClientID is the App's OAuth client id; required for user grants.
	ClientID string
	// ClientSecret is optional: device-flow tokens refresh without it. With
	// it, unlinking also revokes the authorization at GitHub.
	ClientSecret string
	// APIURL and WebURL are GitHub's REST API and web bases; empty means
	// github.com. For GitHub Enterprise Server: https://HOST/api/v3 and
	// https://HOST.
	APIURL, WebURL string
	// AppURL is where users install the App on repositories (its public
	// page); empty when the admin did not configure it.
	AppURL string
	// Store keeps links and device logins; required for user grants.
	Store store.Store
	// HTTPClient calls GitHub; nil means a client with a 10 s timeout that
	// follows no redirects.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives operational logs (never a secret); nil discards.
	Logger *slog.Logger
	// RefreshBefore: see DefaultRefreshBefore; 0 means the default. It must
	// not exceed the credential cache's MinRemaining.
	RefreshBefore time.Duration
	// Directory tells hub accounts apart (account.go): links and device
	// logins belong to the account that made them. nil binds them to the
	// user name only (no hub.api_token_file).
	Directory auth.Directory
}

// App is one GitHub App: the vend.Provider for its grants, and the device
// flow and link management for its users. Safe for concurrent use.
type App struct {
	name          string
	appID         int64
	key           *rsa.PrivateKey
	clientID      string
	clientSecret  string
	apiURL        string
	webURL        string
	appURL        string
	store         store.Store
	http          *http.Client
	now           func() time.Time
	log           *slog.Logger
	refreshBefore time.Duration

	refreshes singleflight.Group // per hub user
	rescue    rescuer
	dir       auth.Directory
	starts    singleflight.Group // device-flow starts, per hub user
	calls     *userLimiter       // GitHub calls per hub user

	instMu        sync.Mutex
	installations map[string]cachedInstallation // by lower-case owner
	listTokens    map[int64]cachedToken         // metadata-only tokens for listing
	listings      map[int64]cachedListing
	mints         singleflight.Group // installation lookups and listings
}

// New validates cfg and returns the App.
func New(cfg Config) (*App, error) {
	if cfg.Name == "" {
		return nil, errors.New("ghapp: Name is required")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.WebURL == "" {
		cfg.WebURL = DefaultWebURL
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
			Timeout:       callTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RefreshBefore <= 0 {
		cfg.RefreshBefore = DefaultRefreshBefore
	}
	a := &App{
		name: cfg.Name, appID: cfg.AppID, key: cfg.PrivateKey, clientID: cfg.ClientID, clientSecret: cfg.ClientSecret,
		apiURL: strings.TrimRight(cfg.APIURL, "/"), webURL: strings.TrimRight(cfg.WebURL, "/"),
		appURL: cfg.AppURL,
		store:  cfg.Store, http: cfg.HTTPClient, now: cfg.Now, log: cfg.Logger.With("provider", cfg.Name),
		refreshBefore: cfg.RefreshBefore, dir: cfg.Directory, calls: newUserLimiter(cfg.Now),
		installations: map[string]cachedInstallation{},
		listTokens:    map[int64]cachedToken{},
		listings:      map[int64]cachedListing{},
	}
	a.rescue.links = map[string]rescuedLink{}
	return a, nil
}

// ParsePrivateKey reads a GitHub App private key (PKCS#1 or PKCS#8 PEM, as
// GitHub hands it out). The error never quotes the key.
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	k, err := jwt.ParseRSAPrivateKeyFromPEM(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("not an RSA private key in PEM form (PKCS#1 or PKCS#8)")
	}
	return k, nil
}

func (a *App) canUserMode() error {
	if a.clientID == "" || a.store == nil {
		return fmt.Errorf("ghapp: provider %q has no client_id or no store: user grants cannot work", a.name)
	}
	return nil
}
