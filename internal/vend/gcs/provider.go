package gcs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/credserver/credserver/internal/policy"
	"net/http"
	"os"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/google/downscope"

	"github.com/credserver/credserver/internal/vend"
)

const (
	// scope is what the root token needs for STS to downscope it.
	scope = "https://www.googleapis.com/auth/cloud-platform"
	// rootEarlyExpiry makes a service-account root token count as expired
	// while it still has this long to live. A downscoped token lives no
	// longer than its root token, so this keeps every issued token good for
	// at least 40 of a service-account token's 60 minutes.
	rootEarlyExpiry = 40 * time.Minute
	// defaultHTTPTimeout bounds one call to Google when Config.HTTPClient
	// is nil.
	defaultHTTPTimeout = 10 * time.Second
)

// Config configures a [Provider].
type Config struct {
	// CredentialsFile is a service-account JSON key. "" means Application
	// Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's
	// well-known file, or the metadata server on Google Cloud).
	CredentialsFile string
	// RootSource, when set, replaces CredentialsFile and Application
	// Default Credentials as the source of root tokens: an embedding
	// program's own source, or a static one in tests.
	RootSource oauth2.TokenSource
	// HTTPClient carries the token exchange with Google's STS and the
	// service account's own token requests; nil means a client with a 10 s
	// timeout. Tests point its transport at a fake STS.
	HTTPClient *http.Client
	// Now is the clock, used to turn expires_in into an expiry; nil means
	// time.Now.
	Now func() time.Time
}

// Provider issues downscoped GCS access tokens. It is safe for concurrent
// use.
type Provider struct {
	root   oauth2.TokenSource
	client *http.Client
	now    func() time.Time
}

var _ vend.Provider = (*Provider)(nil)

// New returns a Provider. It reads the key file (or finds Application
// Default Credentials) but fetches no token: a key Google refuses shows up
// as an error from the first Issue. The key never appears in an error.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	root := cfg.RootSource
	if root == nil {
		// Root token requests run detached from ctx (which may be a start-up
		// context) but through our client.
		rctx := context.WithValue(context.Background(), oauth2.HTTPClient, cfg.HTTPClient)
		var err error
		if root, err = rootSource(ctx, rctx, cfg.CredentialsFile); err != nil {
			return nil, err
		}
	}
	return &Provider{root: root, client: cfg.HTTPClient, now: cfg.Now}, nil
}

// rootSource builds the token source of the identity being downscoped.
func rootSource(ctx, rctx context.Context, file string) (oauth2.TokenSource, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("gcs: credentials_file: %w", err)
		}
		return serviceAccountSource(rctx, data)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	creds, err := google.FindDefaultCredentials(rctx, scope)
	if err != nil {
		return nil, fmt.Errorf("gcs: no credentials_file and no Application Default Credentials: %w", err)
	}
	var kind struct {
		Type string `json:"type"`
	}
	if len(creds.JSON) > 0 && json.Unmarshal(creds.JSON, &kind) == nil && kind.Type == "service_account" {
		return serviceAccountSource(rctx, creds.JSON)
	}
	// The metadata server and other sources decide their tokens' lifetimes.
	return creds.TokenSource, nil
}

// serviceAccountSource returns a source of the key's tokens, renewed early
// (see rootEarlyExpiry).
func serviceAccountSource(rctx context.Context, key []byte) (oauth2.TokenSource, error) {
	cfg, err := google.JWTConfigFromJSON(key, scope)
	if err != nil {
		// Neither error form quotes the key: a type mismatch names the
		// type, a JSON syntax error an offset.
		return nil, fmt.Errorf("gcs: credentials_file is not a service account key: %w", err)
	}
	return oauth2.ReuseTokenSourceWithExpiry(nil, cfg.TokenSource(rctx), rootEarlyExpiry), nil
}

// Issue exchanges a root token for one downscoped to req's bucket and
// prefixes. The token lives as long as Google's STS says (at most the root
// token's remaining life, so d.Duration is not honoured beyond that and
// a shorter Duration cannot shorten it). Boundary problems wrap
// [vend.ErrPolicyTooLarge] or report invalid input; failures of Google's
// STS or of the root token are *[vend.UpstreamError].
func (p *Provider) Issue(ctx context.Context, d policy.Decision) (*vend.Credentials, error) {
	rules, err := Boundary(d.Bucket, d.Prefixes, d.Access)
	if err != nil {
		return nil, fmt.Errorf("gcs: grant %q: %w", d.Grant, err)
	}
	x := &exchange{ctx: ctx, base: p.client.Transport}
	root := &rootRecorder{src: p.root}
	client := &http.Client{Transport: x, Timeout: p.client.Timeout, CheckRedirect: p.client.CheckRedirect, Jar: p.client.Jar}
	ts, err := downscope.NewTokenSource(context.WithValue(ctx, oauth2.HTTPClient, client),
		downscope.DownscopingConfig{RootSource: root, Rules: rules})
	if err != nil {
		return nil, fmt.Errorf("gcs: grant %q: %w", d.Grant, err)
	}
	tok, err := ts.Token()
	if err != nil {
		return nil, mapError(ctx, x, root, err)
	}
	now := p.now()
	expires, err := x.expiry(now, root.expiry())
	if err != nil {
		return nil, err
	}
	if tok.AccessToken == "" {
		return nil, &vend.UpstreamError{Upstream: upstreamSTS, Status: http.StatusOK, Reason: "Google STS returned no access token",
			Err: errors.New("token exchange answer without access_token")}
	}
	if !expires.After(now.Add(time.Minute)) {
		return nil, &vend.UpstreamError{Upstream: upstreamSTS, Reason: "Google STS returned a token that is already expired (clock skew?)",
			Err: fmt.Errorf("expiry %v, local time %v", expires, now.UTC())}
	}
	return &vend.Credentials{Expires: expires, KeyID: TokenID(tok.AccessToken), Body: body(d, expires, tok.AccessToken)}, nil
}
