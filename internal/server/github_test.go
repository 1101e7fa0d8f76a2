package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/ghapp"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/store"
	"github.com/credserver/credserver/internal/testenv/fakegithub"
	"github.com/credserver/credserver/internal/vend"
)

const githubConfig = `
base_path: /services/credserver
hub:
  api_url: http://127.0.0.1:1/hub/api
store:
  dsn: /unused
  encryption_key_file: /unused
providers:
  gh:
    type: github
    app_id: 4242
    client_id: Iv1.fakeclientid
    private_key_file: /unused
    web_url: https://ghe.example
grants:
  - name: course
    provider: gh
    mode: installation
    owner: my-org
    repositories: ["course-*"]
    permissions: {contents: write}
    allow: {groups: [staff]}
  - name: github
    provider: gh
    mode: user
    allow: {users: ["*"]}
`

type githubFixture struct {
	*fixture
	fake  *fakegithub.Server
	clock *fakegithub.Clock
	// bodies collects every response body but those of issued credentials,
	// which hold a token on purpose.
	bodies bytes.Buffer
}

func newGitHubFixture(t *testing.T) *githubFixture {
	t.Helper()
	clock := fakegithub.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	fake := fakegithub.Start(t, fakegithub.Options{Clock: clock})
	fake.AddInstallation(fakegithub.Installation{Account: "my-org", Org: true, Repositories: []string{"course-1", "other"}})
	st, err := store.OpenSQLite(context.Background(), store.SQLiteConfig{
		Path: filepath.Join(t.TempDir(), "db"), Key: bytes.Repeat([]byte{7}, 32), Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := ghapp.ParsePrivateKey(fake.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	app, err := ghapp.New(ghapp.Config{
		Name: "gh", AppID: fake.AppID(), PrivateKey: key, ClientID: fake.ClientID(), ClientSecret: fake.ClientSecret(),
		APIURL: fake.URL(), WebURL: fake.URL(), AppURL: "https://ghe.example/github-apps/hub-app", Store: st, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(githubConfig))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, defaultAuth(), func(d *Deps) {
		d.Policy = pol
		d.Providers = map[string]vend.Provider{"gh": app}
		d.Cache = vend.NewCache(vend.CacheConfig{Now: clock.Now})
		d.GitHub = ghapp.NewLinks(st, app)
		d.Now = clock.Now
	})
	return &githubFixture{fixture: f, fake: fake, clock: clock}
}

// call sends a request as user and decodes the JSON answer.
func (g *githubFixture) call(t *testing.T, method, path, user string, wantStatus int) map[string]any {
	t.Helper()
	rec := g.do(method, "/services/credserver"+path, map[string]string{"Authorization": "token tok-" + user})
	if rec.Code != wantStatus {
		t.Fatalf("%s %s as %s: HTTP %d, want %d: %s", method, path, user, rec.Code, wantStatus, rec.Body)
	}
	if !strings.HasPrefix(path, "/v1/credentials/") || rec.Code != 200 {
		g.bodies.Write(rec.Body.Bytes())
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, rec.Body)
	}
	return m
}

func ghErrorCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestGitHubLinkLifecycle(t *testing.T) {
	g := newGitHubFixture(t)
	m := g.call(t, "GET", "/v1/credentials/github", "alice", http.StatusConflict)
	if ghErrorCode(m) != "github_not_linked" || !strings.Contains(m["error"].(map[string]any)["message"].(string), "credctl github login") {
		t.Errorf("before login: %v", m)
	}
	if who := g.call(t, "GET", "/v1/whoami", "alice", 200); !jsonEqual(who["github"], map[string]any{"linked": false, "status": "unlinked"}) {
		t.Errorf("whoami github before login: %v", who["github"])
	}

	login := g.call(t, "POST", "/v1/github/login", "alice", 200)
	for _, k := range []string{"login_id", "user_code", "verification_uri", "expires_at"} {
		if s, _ := login[k].(string); s == "" {
			t.Errorf("login answer lacks %s: %v", k, login)
		}
	}
	if login["interval"] != float64(5) || login["grant"] != "github" || login["web_url"] != "https://ghe.example" ||
		login["app_url"] != "https://ghe.example/github-apps/hub-app" {
		t.Errorf("login answer = %v", login)
	}
	id := login["login_id"].(string)
	if st := g.call(t, "GET", "/v1/github/login/"+id, "alice", 200); st["status"] != "pending" {
		t.Errorf("status before approval: %v", st)
	}
	g.call(t, "GET", "/v1/github/login/"+id, "bob", 404)
	g.call(t, "GET", "/v1/github/login/no-such-id", "alice", 404)
	if err := g.fake.Approve(login["user_code"].(string), "octocat"); err != nil {
		t.Fatal(err)
	}
	g.clock.Advance(5 * time.Second)
	if st := g.call(t, "GET", "/v1/github/login/"+id, "alice", 200); st["status"] != "complete" || st["login"] != "octocat" {
		t.Errorf("status after approval: %v", st)
	}
	cred := g.call(t, "GET", "/v1/credentials/github", "alice", 200)
	if cred["kind"] != "user" || cred["username"] != "x-access-token" || cred["provider"] != "github" {
		t.Errorf("credentials = %v", cred)
	}
	if _, err := g.fake.Check(cred["token"].(string)); err != nil {
		t.Errorf("issued token not valid at GitHub: %v", err)
	}
	who := g.call(t, "GET", "/v1/whoami", "alice", 200)
	if gh := who["github"].(map[string]any); gh["linked"] != true || gh["login"] != "octocat" || gh["expires_at"] == nil {
		t.Errorf("whoami github after login: %v", gh)
	}

	// Unlink: the cached token must not be served again.
	if un := g.call(t, "DELETE", "/v1/github/link", "alice", 200); un["was_linked"] != true || un["revoked"] != true {
		t.Errorf("unlink = %v", un)
	}
	if m := g.call(t, "GET", "/v1/credentials/github", "alice", http.StatusConflict); ghErrorCode(m) != "github_not_linked" {
		t.Errorf("after unlink: %v", m)
	}
	if _, err := g.fake.Check(cred["token"].(string)); err == nil {
		t.Error("token still valid at GitHub after unlink")
	}
	if un := g.call(t, "DELETE", "/v1/github/link", "alice", 200); un["was_linked"] != false {
		t.Errorf("second unlink = %v", un)
	}

	// The link's life is in the audit trail: started, linked (as whom),
	// unlinked once (the second unlink changed nothing).
	audit := g.audit.String()
	for event, want := range map[string]int{
		`"event":"github_login_started","request_id"`: 1,
		`"event":"github_linked"`:                     1,
		`"github_login":"octocat"`:                    1,
		`"event":"github_unlinked"`:                   1,
	} {
		if got := strings.Count(audit, event); got != want {
			t.Errorf("audit trail has %s %d times, want %d:\n%s", event, got, want, audit)
		}
	}

	for _, s := range g.fake.Secrets() {
		for what, text := range map[string]string{"response bodies": g.bodies.String(), "logs": g.logs.String(), "audit": g.audit.String()} {
			if strings.Contains(text, s) {
				t.Errorf("%s hold a secret (%.8s…)", what, s)
			}
		}
	}
}

func TestGitHubEndpointErrors(t *testing.T) {
	g := newGitHubFixture(t)
	tests := []struct {
		method, path, user string
		status             int
		code               string
	}{
		{"POST", "/v1/github/login?grant=course", "alice", 400, "bad_request"},
		{"POST", "/v1/github/login?grant=nope", "alice", 404, "unknown_grant"},
		{"POST", "/v1/github/login?grant=github&grant=github", "alice", 400, "bad_request"},
		{"DELETE", "/v1/github/link?grant=course", "alice", 400, "bad_request"},
		{"GET", "/v1/credentials/course", "bob", 403, "not_allowed"},
		{"POST", "/v1/github/login", "nobody", 401, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.user, func(t *testing.T) {
			if m := g.call(t, tt.method, tt.path, tt.user, tt.status); ghErrorCode(m) != tt.code {
				t.Errorf("code = %q, want %q", ghErrorCode(m), tt.code)
			}
		})
	}
	g.fake.SetDeviceFlowDisabled(true)
	m := g.call(t, "POST", "/v1/github/login", "alice", 502)
	if msg := m["error"].(map[string]any)["message"].(string); ghErrorCode(m) != "upstream_error" || !strings.Contains(msg, "device flow") {
		t.Errorf("device flow disabled: %v", m)
	}
}

func TestGitHubInstallationGrant(t *testing.T) {
	g := newGitHubFixture(t)
	cred := g.call(t, "GET", "/v1/credentials/course", "alice", 200)
	if cred["kind"] != "installation" || !jsonEqual(cred["repositories"], []any{"my-org/course-1"}) {
		t.Errorf("installation credentials = %v", cred)
	}
	reqs := g.fake.TokenRequests()
	last := reqs[len(reqs)-1]
	if strings.Join(last.Repositories, ",") != "course-1" || len(last.Permissions) != 1 || last.Permissions["contents"] != "write" {
		t.Errorf("GitHub was asked for %+v", last)
	}
}

// TestGitHubRoutesOff: without a GitHub dependency the endpoints do not exist.
func TestGitHubRoutesOff(t *testing.T) {
	f := newFixture(t, defaultAuth())
	rec := f.do("POST", "/services/credserver/v1/github/login", map[string]string{"Authorization": "token tok-alice"})
	if rec.Code != http.StatusNotFound {
		t.Errorf("POST /v1/github/login without GitHub: HTTP %d", rec.Code)
	}
	rec = f.do("GET", "/services/credserver/v1/whoami", map[string]string{"Authorization": "token tok-alice"})
	if strings.Contains(rec.Body.String(), `"github"`) {
		t.Errorf("whoami without GitHub mentions github: %s", rec.Body)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
