package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/app"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/testenv/fakegithub"
	"github.com/credserver/credserver/internal/testenv/peers"
	"github.com/credserver/credserver/internal/testenv/stack"
)

// ghEnv is a GitHub world for one test: the fake GitHub (API and device
// flow) on its own clock, a real git smart-HTTP server standing in for
// github.com's git side, and an in-process credserver against the real
// JupyterHub of the shared stack with its store in a temp dir.
type ghEnv struct {
	t     *testing.T
	hub   *stack.Stack
	clock *fakegithub.Clock
	fake  *fakegithub.Server
	git   *peers.GitServer
	// web is the GitHub web URL (device flow and git), api the API URL.
	web, api string
	dir      string
	cfgPath  string
	dbPath   string
	credctl  string

	logs, audit *syncBuf
	addr        string // credserver's listen address, kept across restarts
	stop        func()
}

// syncBuf is a bytes.Buffer safe for a server's concurrent writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const ghConfig = `listen: 127.0.0.1:0
base_path: ` + stack.BasePath + `
hub:
  api_url: %s
store:
  driver: sqlite
  dsn: %s
  encryption_key_file: %s
providers:
  github:
    type: github
    app_id: %d
    client_id: %s
    private_key_file: %s
    client_secret_file: %s
    api_url: %s
    web_url: %s
    app_url: https://github.example/apps/hub-app
grants:
  - name: github
    provider: github
    mode: user
    allow: {users: ["*"]}
  - name: course-repos
    provider: github
    mode: installation
    owner: my-org
    repositories: ["course-*"]
    permissions: {contents: write}
    allow: {groups: [staff]}
`

func newGHEnv(t *testing.T) *ghEnv {
	t.Helper()
	return newGHEnvWith(t, nil)
}

// newGHEnvWith is newGHEnv with the config text edited by edit (nil: as is).
func newGHEnvWith(t *testing.T, edit func(string) string) *ghEnv {
	t.Helper()
	s := sharedStack(t)
	peers.Require(t, "git")
	e := &ghEnv{t: t, hub: s, dir: t.TempDir(), logs: &syncBuf{}, audit: &syncBuf{}, credctl: credctlPath(t)}
	e.clock = fakegithub.NewClock(time.Now().UTC().Truncate(time.Second))
	e.fake = fakegithub.Start(t, fakegithub.Options{Clock: e.clock, Interval: time.Second})
	e.api = e.fake.URL()
	var err error
	e.git, err = peers.NewGitServer(filepath.Join(e.dir, "repos"), e.authorizeGit)
	if err != nil {
		t.Fatal(err)
	}
	// github.com serves the device flow and git on one host; so does this.
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/login/") {
			e.fake.ServeHTTP(w, r)
			return
		}
		e.git.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	e.web = front.URL

	e.dbPath = filepath.Join(e.dir, "credserver.db")
	key, pem, secret := filepath.Join(e.dir, "store.key"), filepath.Join(e.dir, "app.pem"), filepath.Join(e.dir, "client-secret")
	rnd := make([]byte, 32)
	if _, err := rand.Read(rnd); err != nil {
		t.Fatal(err)
	}
	for path, content := range map[string][]byte{
		key: []byte(hex.EncodeToString(rnd) + "\n"), pem: e.fake.PrivateKeyPEM(), secret: []byte(e.fake.ClientSecret() + "\n"),
	} {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e.cfgPath = filepath.Join(e.dir, "credserver.yaml")
	text := fmt.Sprintf(ghConfig, s.Hub.APIURL, e.dbPath, key, e.fake.AppID(), e.fake.ClientID(), pem, secret, e.api, e.web)
	if edit != nil {
		text = edit(text)
	}
	if err := os.WriteFile(e.cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	e.start(t)
	t.Cleanup(func() { e.stop() })
	return e
}

// authorizeGit is the git server's check: a token GitHub (the fake)
// accepts now, and for an installation token one that covers the
// repository, with contents write to push.
func (e *ghEnv) authorizeGit(user, pass, owner, repo string, write bool) (string, int) {
	info, err := e.fake.Check(pass)
	if user != "x-access-token" || err != nil {
		return "", http.StatusUnauthorized
	}
	if info.Kind == "user" {
		return info.Login, 0
	}
	full := owner + "/" + repo
	covered := false
	for _, r := range info.Repositories {
		covered = covered || strings.EqualFold(r, full)
	}
	if !covered || (write && info.Permissions["contents"] != "write") {
		return "", http.StatusForbidden
	}
	return "installation", 0
}

// start builds credserver from the config (as cmd/credserver would) and
// serves it, on the same address after a restart.
func (e *ghEnv) start(t *testing.T) {
	t.Helper()
	cfg, err := config.Load(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := app.Build(context.Background(), cfg, app.Options{Logger: log, Audit: e.audit, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	addr := e.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	for try := 0; ; try++ {
		if ln, err = net.Listen("tcp", addr); err == nil || try == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond) // the old listener is closing
	}
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln, recorded.wrap(srv.Handler()), log, 5*time.Second) }()
	e.stop = func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			e.t.Errorf("credserver stopped: %v", err)
		}
		e.stop = func() {}
	}
}

// restart stops credserver and builds a new one on the same files.
func (e *ghEnv) restart(t *testing.T) {
	t.Helper()
	e.stop()
	e.start(t)
}

// URL is credserver's API root.
func (e *ghEnv) URL() string { return "http://" + e.addr + stack.BasePath }

// call sends an API request as user; it returns the status and body.
func (e *ghEnv) call(t *testing.T, method, path, user string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+e.hub.Tokens[user])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (e *ghEnv) callJSON(t *testing.T, method, path, user string, want int) map[string]any {
	t.Helper()
	code, b := e.call(t, method, path, user)
	if code != want {
		t.Fatalf("%s %s as %s: HTTP %d, want %d: %s", method, path, user, code, want, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return m
}

// checkNoSecrets fails if a secret the fake handed out, or its private key,
// appears in text.
func (e *ghEnv) checkNoSecrets(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range e.fake.Secrets() {
		if strings.Contains(text, s) {
			t.Errorf("%s holds a secret (%.8s…)", what, s)
		}
	}
}
