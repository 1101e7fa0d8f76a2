package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/ghapp"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/store"
)

// fakeGitHub is the account-link service for the conformance scenarios.
type fakeGitHub struct {
	poll     ghapp.LoginStatus
	pollErr  error
	linkErr  error
	loginErr error
}

func (g *fakeGitHub) StartLogin(_ context.Context, provider, _ string) (ghapp.Login, error) {
	if g.loginErr != nil {
		return ghapp.Login{}, g.loginErr
	}
	return ghapp.Login{ID: "login-1", UserCode: "ABCD-1234", VerificationURI: "https://github.com/login/device",
		ExpiresAt: time.Now().Add(15 * time.Minute), Interval: 5 * time.Second}, nil
}

func (g *fakeGitHub) PollLogin(context.Context, string, string) (ghapp.LoginStatus, error) {
	if g.pollErr != nil {
		return ghapp.LoginStatus{}, g.pollErr
	}
	return g.poll, nil
}

func (g *fakeGitHub) Unlink(context.Context, string, string) (ghapp.Unlinked, error) {
	return ghapp.Unlinked{WasLinked: true}, nil
}

func (g *fakeGitHub) Link(_ context.Context, provider, _ string) (ghapp.LinkInfo, error) {
	if g.linkErr != nil {
		return ghapp.LinkInfo{}, g.linkErr
	}
	return ghapp.LinkInfo{Provider: provider, Linked: true, Login: "ada",
		ExpiresAt: time.Now().Add(180 * 24 * time.Hour), WebURL: "https://github.com"}, nil
}

// withGitHub gives the fixture's server testConfig plus a GitHub provider
// "gh" with a user grant "github", the fake link service, and a provider
// for "gh" that fails with err.
func withGitHub(t *testing.T, gh *fakeGitHub, err error) func(*Deps) {
	text := strings.Replace(testConfig, "providers:\n",
		"store:\n  encryption_key_file: /nonexistent/store.key\nproviders:\n  gh:\n    type: github\n    client_id: Iv1.0123456789abcdef\n", 1) +
		"  - name: github\n    provider: gh\n    mode: user\n    allow: {users: [\"*\"]}\n"
	cfg, cerr := config.Parse([]byte(text))
	if cerr != nil {
		t.Fatalf("config: %v", cerr)
	}
	pol, cerr := policy.Compile(cfg)
	if cerr != nil {
		t.Fatalf("policy: %v", cerr)
	}
	return func(d *Deps) {
		d.Policy, d.GitHub = pol, gh
		d.Providers["gh"] = &fakeProvider{err: err}
	}
}

// githubScenarios cover the account-link endpoints and GitHub errors.
func githubScenarios(t *testing.T) []specScenario {
	const b = specBase
	alice := "token tok-alice"
	notLinked := fmt.Errorf("%w: no GitHub authorization stored for this user", ghapp.ErrNotLinked)
	gh := func(g *fakeGitHub) func(*Deps) { return withGitHub(t, g, notLinked) }
	storeDown := fmt.Errorf("ghapp: reading the github link: %w: dial tcp: connection refused", store.ErrUnavailable)
	return []specScenario{
		{name: "whoami with a GitHub link", target: b + "/v1/whoami", authz: alice, status: 200, deps: gh(&fakeGitHub{})},
		{name: "github login", method: "POST", target: b + "/v1/github/login", authz: alice, status: 200, deps: gh(&fakeGitHub{})},
		{name: "github login, grant named", method: "POST", target: b + "/v1/github/login?grant=github", authz: alice, status: 200, deps: gh(&fakeGitHub{})},
		{name: "github login, not a github grant", method: "POST", target: b + "/v1/github/login?grant=scratch", authz: alice, status: 400, code: "bad_request", deps: gh(&fakeGitHub{})},
		{name: "github poll pending", target: b + "/v1/github/login/login-1", authz: alice, status: 200,
			deps: gh(&fakeGitHub{poll: ghapp.LoginStatus{Provider: "gh", Status: "pending", Interval: 5 * time.Second}})},
		{name: "github poll complete", target: b + "/v1/github/login/login-1", authz: alice, status: 200,
			deps: gh(&fakeGitHub{poll: ghapp.LoginStatus{Provider: "gh", Status: "complete", Login: "ada", Interval: 5 * time.Second}})},
		{name: "github login not found", target: b + "/v1/github/login/nope", authz: alice, status: 404, code: "login_not_found",
			deps: gh(&fakeGitHub{pollErr: fmt.Errorf("%w: nope", ghapp.ErrLoginNotFound)})},
		{name: "github unlink", method: "DELETE", target: b + "/v1/github/link", authz: alice, status: 200, deps: gh(&fakeGitHub{})},
		{name: "github not linked", target: b + "/v1/credentials/github", authz: alice, status: 409, code: "github_not_linked", deps: gh(&fakeGitHub{})},
		{name: "whoami, store down", target: b + "/v1/whoami", authz: alice, status: 200, deps: gh(&fakeGitHub{linkErr: storeDown})},
		{name: "github store unavailable", target: b + "/v1/credentials/github", authz: alice, status: 503, code: "store_unavailable",
			deps: func(d *Deps) { withGitHub(t, &fakeGitHub{}, storeDown)(d) }},
		{name: "github calls rate limited", method: "POST", target: b + "/v1/github/login", authz: alice, status: 429, code: "rate_limited",
			deps: gh(&fakeGitHub{loginErr: &ghapp.RateLimitError{Wait: 3 * time.Second}})},
		{name: "github unlink without a token", method: "DELETE", target: b + "/v1/github/link", status: 401, code: "missing_token", deps: gh(&fakeGitHub{})},
	}
}
