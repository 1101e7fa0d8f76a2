package ghapp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/credserver/credserver/internal/policy"
	"net/url"
	"slices"
	"time"

	"github.com/credserver/credserver/internal/vend"
)

// ProviderName is the "provider" field of every body this package returns.
const ProviderName = "github"

// Username is what git must send with a GitHub App token.
const Username = "x-access-token"

// nominalLife is the expires_at reported for user tokens of an App with
// token expiration turned off: the token itself lasts until revoked, but
// clients are told to come back, so an unlink reaches them.
const nominalLife = 8 * time.Hour

// Body is the JSON response for a GitHub credential (the public API's
// github credential body). It holds a secret: never log it.
type Body struct {
	Grant     string `json:"grant"`
	Provider  string `json:"provider"`
	ExpiresAt string `json:"expires_at"`
	Token     string `json:"token"`
	Username  string `json:"username"`
	// Kind is "user" or "installation".
	Kind string `json:"kind"`
	// Login is the GitHub account of a user token, when known.
	Login string `json:"login,omitempty"`
	// Repositories (installation) are the full names the token reaches.
	Repositories []string `json:"repositories,omitempty"`
	// Permissions (installation) are what the token may do there.
	Permissions map[string]string `json:"permissions,omitempty"`
	// URL is where the token works: the GitHub web URL, or the owner's
	// page for an installation token. Host is its host, what git's
	// credential protocol names.
	URL  string `json:"url"`
	Host string `json:"host"`
}

// Issue implements vend.Provider for github grants: a user token from the
// user's stored link (ErrNotLinked when there is none), or an installation
// token narrowed to the grant's repositories and permissions.
func (a *App) Issue(ctx context.Context, d policy.Decision) (*vend.Credentials, error) {
	if d.GitHub == nil {
		return nil, errors.New("ghapp: a github grant without its scope reached the provider")
	}
	switch d.GitHub.Mode {
	case policy.GitHubUser:
		return a.issueUser(ctx, d)
	case policy.GitHubInstallation:
		return a.issueInstallation(ctx, d)
	}
	return nil, fmt.Errorf("ghapp: unknown grant mode %q", d.GitHub.Mode)
}

func (a *App) issueUser(ctx context.Context, d policy.Decision) (*vend.Credentials, error) {
	l, err := a.userToken(ctx, d.User)
	if err != nil {
		return nil, err
	}
	expires := l.AccessExpires
	if expires.IsZero() {
		expires = a.now().Add(nominalLife)
	}
	b := a.body(d, expires, l.AccessToken, "user")
	b.Login = l.Login
	return &vend.Credentials{Expires: expires, KeyID: tokenID(l.AccessToken), Body: b}, nil
}

func (a *App) issueInstallation(ctx context.Context, d policy.Decision) (*vend.Credentials, error) {
	gh := d.GitHub
	id, err := a.installationID(ctx, gh.Owner)
	if err != nil {
		return nil, err
	}
	repos, err := a.expandRepositories(ctx, id, gh.Owner, gh.Repositories)
	if err != nil {
		return nil, err
	}
	tr, err := a.mintInstallationToken(ctx, id, repos, gh.Permissions)
	var ue *vend.UpstreamError
	if errors.As(err, &ue) && ue.Status == 404 {
		a.forgetInstallation(gh.Owner) // uninstalled since: look it up afresh next time
	}
	if err != nil {
		return nil, err
	}
	b := a.body(d, tr.ExpiresAt, tr.Token, "installation")
	for _, r := range tr.Repositories {
		b.Repositories = append(b.Repositories, r.FullName)
	}
	if b.Repositories == nil {
		for _, r := range repos {
			b.Repositories = append(b.Repositories, gh.Owner+"/"+r)
		}
	}
	slices.Sort(b.Repositories)
	b.Permissions = tr.Permissions
	return &vend.Credentials{Expires: tr.ExpiresAt, KeyID: tokenID(tr.Token), Body: b}, nil
}

func (a *App) body(d policy.Decision, expires time.Time, token, kind string) *Body {
	loc := d.Location
	if loc == "" {
		loc = a.webURL
	}
	host := ""
	if u, err := url.Parse(loc); err == nil {
		host = u.Host
	}
	return &Body{
		Grant: d.Grant, Provider: ProviderName, ExpiresAt: expires.UTC().Format(time.RFC3339),
		Token: token, Username: Username, Kind: kind, URL: loc, Host: host,
	}
}

// tokenID is the audit trail's name for a token: a SHA-256 prefix, which
// identifies it in GitHub's audit log search without revealing it.
func tokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:8])
}
