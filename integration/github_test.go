package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/testenv/fakegithub"
)

// TestGitHubUserTokens is the gh-scoped-creds replacement end to end, with
// the real git client: log in once, push; push again after the 8-hour
// token expired (refresh, no new login); restart credserver (the link is on
// disk, encrypted); 50 concurrent refreshes cost one refresh at GitHub;
// unlink, and git fails saying what to do.
func TestGitHubUserTokens(t *testing.T) {
	e := newGHEnv(t)
	if err := e.git.CreateRepo(t.Context(), "alice-gh", "notebooks"); err != nil {
		t.Fatal(err)
	}
	repoURL := e.web + "/alice-gh/notebooks.git"
	alice := e.user("alice")

	var errorBodies strings.Builder
	// Before login: a 409 telling the user what to do.
	code, body := e.call(t, "GET", "/v1/credentials/github", "alice")
	errorBodies.Write(body)
	if code != http.StatusConflict || !strings.Contains(string(body), "credctl github login") {
		t.Fatalf("credentials before login: %d %s", code, body)
	}

	t.Run("login then clone and push", func(t *testing.T) {
		out := alice.login(t, "alice-gh")
		if !strings.Contains(out, "Linked to GitHub as alice-gh") || !strings.Contains(out, e.fake.LastUserCode()) ||
			!strings.Contains(out, "\n    https://github.example/apps/hub-app\n") {
			t.Errorf("credctl github login printed:\n%s", out)
		}
		helper := alice.git(t, "", "config", "--global", "--get-all", "credential."+e.web+".helper")
		if !strings.Contains(helper, "git-credential --grant github") {
			t.Errorf("git helper = %q", helper)
		}
		who := e.callJSON(t, "GET", "/v1/whoami", "alice", 200)
		if gh, _ := who["github"].(map[string]any); gh["linked"] != true || gh["login"] != "alice-gh" {
			t.Errorf("whoami github = %v", who["github"])
		}
		alice.git(t, "", "clone", "--quiet", repoURL, "nb")
		if out, err := alice.commitAndPush(t, "nb", "a.txt", "first push"); err != nil {
			t.Fatalf("push: %v\n%s", err, out)
		}
		log, _ := e.git.Log(t.Context(), "alice-gh", "notebooks", "main")
		if log[0] != "first push" {
			t.Errorf("server has %v", log)
		}
	})

	tokenNow := func() string {
		m := e.callJSON(t, "GET", "/v1/credentials/github", "alice", 200)
		return m["token"].(string)
	}
	first := tokenNow()

	t.Run("push after the user token expired", func(t *testing.T) {
		e.clock.Advance(8*time.Hour + time.Minute)
		if _, err := e.fake.Check(first); err == nil {
			t.Fatal("the first token is still valid at GitHub 8 hours on")
		}
		if out, err := alice.commitAndPush(t, "nb", "b.txt", "after expiry"); err != nil {
			t.Fatalf("push after expiry: %v\n%s", err, out)
		}
		if n := e.fake.Count(fakegithub.EndpointRefresh); n != 1 {
			t.Errorf("%d refreshes at GitHub, want 1", n)
		}
		if n := e.fake.Count(fakegithub.EndpointDeviceCode); n != 1 {
			t.Errorf("%d device flows, want 1: the user logged in again", n)
		}
	})

	t.Run("link survives a restart, encrypted on disk", func(t *testing.T) {
		before := tokenNow()
		e.restart(t)
		if got := tokenNow(); got != before {
			t.Error("after restart a different token: the stored one was not kept")
		}
		if out, err := alice.commitAndPush(t, "nb", "c.txt", "after restart"); err != nil {
			t.Fatalf("push after restart: %v\n%s", err, out)
		}
		if n := e.fake.Count(fakegithub.EndpointDeviceCode); n != 1 {
			t.Errorf("restart needed a new login")
		}
		files := []string{e.dbPath, e.dbPath + "-wal", e.dbPath + "-shm"}
		var all []byte
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err == nil {
				all = append(all, b...)
			}
		}
		if len(all) == 0 {
			t.Fatal("no database on disk")
		}
		for _, s := range e.fake.Secrets() {
			if strings.Contains(string(all), s) {
				t.Errorf("the database files hold a secret in clear (%.8s…)", s)
			}
		}
	})

	t.Run("50 concurrent refreshes", func(t *testing.T) {
		e.clock.Advance(8*time.Hour + time.Minute)
		refreshes := e.fake.Count(fakegithub.EndpointRefresh)
		const n = 50
		tokens := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				// Distinct durations share one credential-cache key, so
				// they cost one refresh between them (ghapp's own
				// coalescing is tested in TestConcurrentRefresh).
				code, body := e.call(t, "GET", fmt.Sprintf("/v1/credentials/github?duration=%d", 1800+60*i), "alice")
				if code != 200 {
					t.Errorf("request %d: %d %s", i, code, body)
					return
				}
				var b struct{ Token string }
				if err := json.Unmarshal(body, &b); err != nil || b.Token == "" {
					t.Errorf("request %d: no token in %d bytes", i, len(body))
				}
				tokens[i] = b.Token
			})
		}
		wg.Wait()
		if got := e.fake.Count(fakegithub.EndpointRefresh) - refreshes; got != 1 {
			t.Errorf("%d concurrent requests made %d refreshes at GitHub, want 1", n, got)
		}
		for i := range tokens {
			if tokens[i] != tokens[0] {
				t.Fatalf("request %d got another token", i)
			}
		}
		if _, err := e.fake.Check(tokenNow()); err != nil {
			t.Errorf("the shared token is not valid: %v", err)
		}
	})

	t.Run("unlink", func(t *testing.T) {
		last := tokenNow()
		un := e.callJSON(t, "DELETE", "/v1/github/link", "alice", 200)
		if un["was_linked"] != true || un["revoked"] != true {
			t.Errorf("unlink = %v", un)
		}
		if _, err := e.fake.Check(last); err == nil {
			t.Error("the token still works at GitHub after unlink")
		}
		out, err := alice.commitAndPush(t, "nb", "d.txt", "after unlink")
		if err == nil {
			t.Fatal("push succeeded after unlink")
		}
		t.Logf("git push after unlink says:\n%s", out)
		if !strings.Contains(out, "run 'credctl github login'") {
			t.Errorf("git's output does not say what to do:\n%s", out)
		}
		code, body := e.call(t, "GET", "/v1/credentials/github", "alice")
		errorBodies.Write(body)
		if code != http.StatusConflict {
			t.Errorf("credentials after unlink: %d %s", code, body)
		}
	})

	e.checkNoSecrets(t, "error bodies", errorBodies.String())
	e.checkNoSecrets(t, "logs", e.logs.String())
	e.checkNoSecrets(t, "audit", e.audit.String())
}

// TestGitHubInstallationTokens: a group member gets a token whose request
// at GitHub named only the grant's repositories and permissions, and real
// git can push to those repositories and nowhere else; a non-member gets
// 403.
func TestGitHubInstallationTokens(t *testing.T) {
	e := newGHEnv(t)
	e.fake.AddInstallation(fakegithub.Installation{Account: "my-org", Org: true,
		Repositories: []string{"course-intro", "course-stats", "grading"}})
	for _, r := range []string{"course-intro", "grading"} {
		if err := e.git.CreateRepo(t.Context(), "my-org", r); err != nil {
			t.Fatal(err)
		}
	}
	cred := e.callJSON(t, "GET", "/v1/credentials/course-repos", "alice", 200)
	reqs := e.fake.TokenRequests()
	last := reqs[len(reqs)-1]
	want := fakegithub.TokenRequest{InstallationID: last.InstallationID,
		Repositories: []string{"course-intro", "course-stats"}, Permissions: map[string]string{"contents": "write"}}
	if diff := cmp.Diff(want, last); diff != "" {
		t.Errorf("token request at GitHub (-want +got):\n%s", diff)
	}
	for _, r := range reqs {
		if r.Repositories == nil && !cmp.Equal(r.Permissions, map[string]string{"metadata": "read"}) {
			t.Errorf("an unnarrowed token was asked for: %+v", r)
		}
	}
	if cred["kind"] != "installation" || !cmp.Equal(cred["repositories"], []any{"my-org/course-intro", "my-org/course-stats"}) {
		t.Errorf("credentials = %v", cred)
	}

	code, body := e.call(t, "GET", "/v1/credentials/course-repos", "bob")
	if code != http.StatusForbidden {
		t.Errorf("non-member: %d %s", code, body)
	}
	e.checkNoSecrets(t, "403 body", string(body))

	// Real git with the installation token: the grant's repositories
	// only.
	alice := e.user("alice")
	helper := []string{"-c", "credential.helper=", "-c", "credential.helper=!credctl git-credential --grant course-repos"}
	alice.git(t, "", append(helper, "clone", "--quiet", e.web+"/my-org/course-intro.git", "intro")...)
	alice.git(t, "intro", "config", "credential.helper", "")
	alice.git(t, "intro", "config", "--add", "credential.helper", "!credctl git-credential --grant course-repos")
	if out, err := alice.commitAndPush(t, "intro", "hw.md", "homework 1"); err != nil {
		t.Fatalf("push to course-intro: %v\n%s", err, out)
	}
	if _, errOut, err := alice.run("", "git", append(helper, "clone", "--quiet", e.web+"/my-org/grading.git", "grading")...); err == nil {
		t.Error("cloned grading, outside the grant, with the installation token")
	} else if !strings.Contains(errOut, "403") {
		t.Errorf("clone of grading failed without a 403:\n%s", errOut)
	}
	e.checkNoSecrets(t, "logs", e.logs.String())
	e.checkNoSecrets(t, "audit", e.audit.String())
}
