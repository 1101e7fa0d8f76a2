package ghapp_test

import (
	"errors"
	"github.com/credserver/credserver/internal/policy"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/ghapp"
	"github.com/credserver/credserver/internal/testenv/fakegithub"
	"github.com/credserver/credserver/internal/vend"
)

func installationRequest(owner string, repos []string, perms map[string]string) policy.Decision {
	return policy.Decision{
		User: "ian", Grant: "course-repos", Duration: time.Hour, Location: "https://github.example/" + owner,
		GitHub: &policy.GitHubScope{Mode: policy.GitHubInstallation, Owner: owner, Repositories: repos, Permissions: perms},
	}
}

func TestInstallationToken(t *testing.T) {
	write := map[string]string{"contents": "write"}
	tests := []struct {
		name      string
		owner     string
		repos     []string
		perms     map[string]string
		wantSent  *fakegithub.TokenRequest // the narrowed request GitHub got
		wantRepos []string                 // in the body
		wantCode  string                   // upstream error code, "" for success
		wantMsg   string
	}{
		{name: "pattern", owner: "my-org", repos: []string{"course-*"}, perms: write,
			wantSent:  &fakegithub.TokenRequest{Repositories: []string{"course-1", "course-10", "Course-2"}, Permissions: write},
			wantRepos: []string{"my-org/Course-2", "my-org/course-1", "my-org/course-10"}},
		{name: "names and patterns", owner: "my-org", repos: []string{"other", "course-?", "course-1"}, perms: map[string]string{"contents": "read", "issues": "write"},
			wantSent:  &fakegithub.TokenRequest{Repositories: []string{"course-1", "Course-2", "other"}, Permissions: map[string]string{"contents": "read", "issues": "write"}},
			wantRepos: []string{"my-org/Course-2", "my-org/course-1", "my-org/other"}},
		{name: "user account", owner: "prof", repos: []string{"notes"}, perms: write,
			wantSent: &fakegithub.TokenRequest{Repositories: []string{"notes"}, Permissions: write}, wantRepos: []string{"prof/notes"}},
		{name: "not installed", owner: "elsewhere", repos: []string{"x"}, perms: write, wantCode: "not_installed", wantMsg: "not installed on \"elsewhere\""},
		{name: "pattern matches nothing", owner: "my-org", repos: []string{"nope-*"}, perms: write, wantCode: "no_repositories"},
		{name: "repository not in installation", owner: "my-org", repos: []string{"secret"}, perms: write, wantMsg: "not accessible"},
		{name: "permission beyond the app", owner: "my-org", repos: []string{"other"}, perms: map[string]string{"administration": "write"}, wantMsg: "permissions requested"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			org := e.fake.AddInstallation(fakegithub.Installation{Account: "my-org", Org: true, Repositories: []string{"course-1", "Course-2", "other", "course-10"}})
			user := e.fake.AddInstallation(fakegithub.Installation{Account: "prof", Repositories: []string{"notes"}})
			b, err := e.issue(installationRequest(tt.owner, tt.repos, tt.perms))
			if tt.wantSent == nil {
				var ue *vend.UpstreamError
				if !errors.As(err, &ue) || ue.Code != tt.wantCode || !strings.Contains(ue.Reason, tt.wantMsg) {
					t.Fatalf("Issue: %v, want an upstream error %q containing %q", err, tt.wantCode, tt.wantMsg)
				}
				e.checkNoSecrets("error", err.Error())
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			reqs := e.fake.TokenRequests()
			last := reqs[len(reqs)-1]
			tt.wantSent.InstallationID = org
			if tt.owner == "prof" {
				tt.wantSent.InstallationID = user
			}
			if diff := cmp.Diff(*tt.wantSent, last); diff != "" {
				t.Errorf("token request at GitHub (-want +got):\n%s", diff)
			}
			info, err := e.fake.Check(b.Token)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantRepos, b.Repositories); diff != "" {
				t.Errorf("body repositories (-want +got):\n%s", diff)
			}
			if b.Kind != "installation" || b.Username != "x-access-token" || b.Host != "github.example" ||
				b.ExpiresAt != t0.Add(time.Hour).Format(time.RFC3339) || !cmp.Equal(info.Permissions, tt.perms) {
				t.Errorf("body = %+v, token info %+v", b, info)
			}
			jwt := e.fake.LastJWT()
			if !jwt.IssuedAt.Equal(t0.Add(-time.Minute)) || jwt.ExpiresAt.Sub(jwt.IssuedAt) != 10*time.Minute || jwt.Issuer != "4242" {
				t.Errorf("App JWT claims %+v: want iat 60 s back, exp 10 min after iat, iss the app id", jwt)
			}
		})
	}
}

// TestInstallationCaching: the installation id, the listing and its
// metadata-only token are reused; each credential is a new token request.
func TestInstallationCaching(t *testing.T) {
	e := newEnv(t)
	e.fake.AddInstallation(fakegithub.Installation{Account: "my-org", Org: true, Repositories: []string{"course-1", "course-2"}})
	req := installationRequest("my-org", []string{"course-*"}, map[string]string{"contents": "write"})
	for range 3 {
		if _, err := e.issue(req); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int{
		"lookup": e.fake.Count(fakegithub.EndpointInstallationLookup),
		"tokens": e.fake.Count(fakegithub.EndpointInstallationToken),
		"lists":  e.fake.Count(fakegithub.EndpointInstallationRepos),
	}
	// 1 listing token + 3 narrowed tokens.
	if diff := cmp.Diff(map[string]int{"lookup": 1, "tokens": 4, "lists": 1}, got); diff != "" {
		t.Errorf("GitHub calls for 3 credentials (-want +got):\n%s", diff)
	}
	// 55 minutes on, the listing token has under 10 minutes left and the
	// listing is stale: both are fetched again.
	e.clock.Advance(55 * time.Minute)
	if _, err := e.issue(req); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Count(fakegithub.EndpointInstallationToken); n != 6 {
		t.Errorf("token requests = %d, want 6 (a new listing token and the credential)", n)
	}
	for _, r := range e.fake.TokenRequests() {
		if r.Repositories == nil && !cmp.Equal(r.Permissions, map[string]string{"metadata": "read"}) {
			t.Errorf("an unnarrowed token was requested with %v", r.Permissions)
		}
	}
}

func TestAppWithoutKey(t *testing.T) {
	e := newEnv(t, func(c *ghapp.Config) { c.PrivateKey, c.AppID = nil, 0 })
	e.fake.AddInstallation(fakegithub.Installation{Account: "my-org", Org: true, Repositories: []string{"a"}})
	if _, err := e.issue(installationRequest("my-org", []string{"a"}, nil)); err == nil || !strings.Contains(err.Error(), "app_id") {
		t.Errorf("installation grant without a key: %v", err)
	}
}

func TestParsePrivateKey(t *testing.T) {
	if _, err := ghapp.ParsePrivateKey([]byte("-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----\n")); err == nil || strings.Contains(err.Error(), "MIIB") {
		t.Errorf("ParsePrivateKey(garbage) = %v", err)
	}
}
