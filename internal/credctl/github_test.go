package credctl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
)

// ghServer is a fake credserver for the GitHub commands: whoami with a user
// and an installation grant, the login endpoints, and credentials of the
// user grant (409 until linked).
type ghServer struct {
	t   *testing.T
	srv *httptest.Server
	web string // the GitHub web URL the grants point at

	mu       sync.Mutex
	linked   bool
	outcome  string // how the login ends: complete, expired, denied
	polls    int
	requests []string // "METHOD path?query"
}

func newGHServer(t *testing.T) *ghServer {
	g := &ghServer{t: t, web: "https://git.example.test:8443", outcome: "complete"}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *ghServer) URL() string { return g.srv.URL + basePath }

func (g *ghServer) seen() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.requests...)
}

func (g *ghServer) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	route := r.Method + " " + strings.TrimPrefix(r.URL.Path, basePath)
	g.requests = append(g.requests, route+"?"+r.URL.RawQuery)
	if r.Header.Get("Authorization") != "token "+testToken {
		writeReply(w, reply{status: 401, body: `{"error":{"code":"invalid_token","message":"the hub did not accept this token"}}`})
		return
	}
	js := func(status int, v any) {
		b, _ := json.Marshal(v)
		writeReply(w, reply{status: status, body: string(b)})
	}
	switch {
	case route == "GET /v1/whoami":
		js(200, map[string]any{"user": "alice", "groups": []string{}, "grants": []map[string]any{
			{"name": "scratch", "provider": "aws", "access": "readwrite", "location": "s3://b/alice/", "max_duration": "12h"},
			{"name": "course", "provider": "github", "access": "readwrite", "location": g.web + "/my-org", "max_duration": "12h"},
			{"name": "github", "provider": "github", "access": "readwrite", "location": g.web, "max_duration": "12h"},
		}, "github": map[string]any{"linked": g.linked, "login": "octocat"}})
	case route == "POST /v1/github/login":
		js(200, map[string]any{"login_id": "L1", "user_code": "WDJB-MJHT", "verification_uri": "https://git.example.test:8443/login/device",
			"expires_at": "2099-01-01T00:00:00Z", "interval": 1, "grant": r.URL.Query().Get("grant"), "web_url": g.web,
			"app_url": "https://git.example.test:8443/apps/hub-app"})
	case route == "GET /v1/github/login/L1":
		g.polls++
		if g.polls < 2 {
			js(200, map[string]any{"status": "pending", "interval": 1})
			return
		}
		g.linked = g.outcome == "complete"
		js(200, map[string]any{"status": g.outcome, "login": "octocat", "interval": 1})
	case route == "DELETE /v1/github/link":
		was := g.linked
		g.linked = false
		js(200, map[string]any{"linked": false, "was_linked": was, "revoked": was})
	case route == "GET /v1/credentials/github" && !g.linked:
		js(409, map[string]any{"error": map[string]string{"code": "github_not_linked", "message": "run 'credctl github login'"}})
	case route == "GET /v1/credentials/github":
		js(200, map[string]any{"grant": "github", "provider": "github", "expires_at": "2030-01-01T08:00:00Z",
			"token": "ghu_FAKETOKEN", "username": "x-access-token", "kind": "user", "url": g.web, "host": "git.example.test:8443"})
	default:
		g.t.Errorf("fake credserver: unhandled %s", route)
		http.Error(w, "not implemented", http.StatusNotImplemented)
	}
}

func ghHarness(t *testing.T, g *ghServer) *harness {
	t.Helper()
	h := newHarness(t, nil)
	h.env["CREDSERVER_URL"] = g.URL()
	if git, err := exec.LookPath("git"); err == nil {
		h.path["git"] = git
	}
	return h
}

func (h *harness) gitConfig(args ...string) string {
	h.t.Helper()
	cmd := exec.Command("git", append([]string{"config", "--global"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+h.home)
	out, err := cmd.Output()
	if err != nil && len(args) > 0 && args[0] != "--get-all" {
		h.t.Fatalf("git config %v: %v", args, err)
	}
	return string(out)
}

func TestGitHubLogin(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	g := newGHServer(t)
	h := ghHarness(t, g)
	key := "credential." + g.web + ".helper"
	// Helpers the user has already: kept.
	h.gitConfig("credential.helper", "cache")
	h.gitConfig("--add", key, "other-helper")

	r := h.run("github", "login")
	if r.code != 0 {
		t.Fatalf("github login: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"https://git.example.test:8443/login/device", "WDJB-MJHT", "Linked to GitHub as octocat",
		"Install it on yours (or ask their owner to) at\n\n    https://git.example.test:8443/apps/hub-app\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	ours := "!" + h.exe + " git-credential --grant github"
	if got := h.gitConfig("--get-all", key); got != "other-helper\n"+ours+"\n" {
		t.Errorf("%s = %q, want the other helper, then ours", key, got)
	}
	if got := h.gitConfig("--get-all", "credential.helper"); got != "cache\n" {
		t.Errorf("credential.helper = %q, want cache untouched", got)
	}
	if got := strings.Join(g.seen(), " "); !strings.Contains(got, "POST /v1/github/login?grant=github") {
		t.Errorf("requests: %s", got)
	}

	// Already linked: no new device flow, git checked again.
	before := len(g.seen())
	r = h.run("github", "login")
	if r.code != 0 || !strings.Contains(r.stdout, "Already linked") {
		t.Errorf("second login: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	for _, req := range g.seen()[before:] {
		if strings.HasPrefix(req, "POST") {
			t.Errorf("already linked, yet: %s", req)
		}
	}
	// --force logs in again and still leaves one credctl entry.
	g.mu.Lock()
	g.polls = 0
	g.mu.Unlock()
	if r = h.run("github", "login", "--force", "--server", g.URL()); r.code != 0 {
		t.Fatalf("login --force: %d %s", r.code, r.stderr)
	}
	want := "other-helper\n!" + h.exe + " git-credential --grant github --server " + g.URL() + "\n"
	if got := h.gitConfig("--get-all", key); got != want {
		t.Errorf("after --force with --server: %q, want %q", got, want)
	}
}

func TestGitHubLoginEnds(t *testing.T) {
	for _, tt := range []struct{ outcome, want string }{
		{"expired", "the code expired before it was approved"},
		{"denied", "the login was cancelled at GitHub"},
	} {
		t.Run(tt.outcome, func(t *testing.T) {
			g := newGHServer(t)
			g.outcome = tt.outcome
			r := ghHarness(t, g).run("github", "login")
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d stderr %q, want 1 and %q", r.code, r.stderr, tt.want)
			}
		})
	}
}

func TestGitCredential(t *testing.T) {
	tests := []struct {
		name   string
		linked bool
		args   []string
		stdin  string
		code   int
		stdout string
		stderr string
	}{
		{name: "get", linked: true, args: []string{"get", "--grant", "github"},
			stdin:  "protocol=https\nhost=git.example.test:8443\npath=o/r.git\n\n",
			stdout: "username=x-access-token\npassword=ghu_FAKETOKEN\npassword_expiry_utc=1893484800\n"},
		{name: "flags before the action, as git calls it", linked: true, args: []string{"--grant", "github", "get"},
			stdin:  "protocol=https\nhost=git.example.test:8443\n",
			stdout: "username=x-access-token\npassword=ghu_FAKETOKEN\npassword_expiry_utc=1893484800\n"},
		{name: "get with the default grant", linked: true, args: []string{"get"},
			stdin:  "protocol=https\nhost=git.example.test:8443\n",
			stdout: "username=x-access-token\npassword=ghu_FAKETOKEN\npassword_expiry_utc=1893484800\n"},
		{name: "another host gets nothing", linked: true, args: []string{"get", "--grant", "github"},
			stdin: "protocol=https\nhost=evil.example\n"},
		{name: "another protocol gets nothing", linked: true, args: []string{"get", "--grant", "github"},
			stdin: "protocol=http\nhost=git.example.test:8443\n"},
		{name: "not linked", args: []string{"get", "--grant", "github"}, stdin: "protocol=https\nhost=git.example.test:8443\n", code: 1,
			stderr: "credctl: your hub account is not linked to GitHub (or the link expired): run 'credctl github login'\n"},
		{name: "store", linked: true, args: []string{"store"}, stdin: "protocol=https\nhost=h\nusername=x\npassword=y\n"},
		{name: "erase", linked: true, args: []string{"erase"}, stdin: "protocol=https\nhost=h\n"},
		{name: "unknown action", linked: true, args: []string{"approve"}, stdin: "host=h\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGHServer(t)
			g.linked = tt.linked
			h := ghHarness(t, g)
			r := h.runStdin(tt.stdin, append([]string{"git-credential"}, tt.args...)...)
			if r.code != tt.code || r.stdout != tt.stdout || r.stderr != tt.stderr {
				t.Errorf("got exit %d stdout %q stderr %q\nwant exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
			}
			if !slices.Contains(tt.args, "get") && len(g.seen()) > 0 {
				t.Errorf("%s called the server: %v", tt.args[0], g.seen())
			}
		})
	}
}

func TestGitHubLogout(t *testing.T) {
	g := newGHServer(t)
	g.linked = true
	h := ghHarness(t, g)
	if r := h.run("github", "logout"); r.code != 0 || !strings.Contains(r.stdout, "revoked at GitHub") {
		t.Errorf("logout: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := h.run("github", "logout"); r.code != 0 || !strings.Contains(r.stdout, "was not linked") {
		t.Errorf("second logout: %d %q", r.code, r.stdout)
	}
}

// runStdin is harness.run with git's request on stdin.
func (h *harness) runStdin(stdin string, args ...string) result {
	h.t.Helper()
	var out, errb bytes.Buffer
	c := &CLI{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv:     func(k string) string { return h.env[k] },
		HTTPClient: h.http,
		Executable: func() (string, error) { return h.exe, nil },
		LookPath: func(name string) (string, error) {
			if p, ok := h.path[name]; ok {
				return p, nil
			}
			return "", fmt.Errorf("%s: not in PATH", name)
		},
		UserHomeDir: func() (string, error) { return h.home, nil },
	}
	r := result{code: c.Run(context.Background(), args)}
	r.stdout, r.stderr = out.String(), errb.String()
	if strings.Contains(r.stderr, testToken) || strings.Contains(r.stderr, "ghu_") {
		h.t.Errorf("credctl %q: a token on stderr: %q", args, r.stderr)
	}
	return r
}
