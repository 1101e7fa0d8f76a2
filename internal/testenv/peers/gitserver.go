package peers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// GitServer serves bare repositories under Root over git's smart HTTP
// protocol through the real `git http-backend` (as CGI), behind HTTP basic
// authentication that Authorize decides, as a forge such as GitHub does.
type GitServer struct {
	// Root holds the repositories as OWNER/NAME.git.
	Root string
	// Authorize decides a request for owner/repo with the basic-auth
	// username and password; write is true for a push. It returns the
	// user to record and 0, or http.StatusUnauthorized (git then asks its
	// credential helpers) or http.StatusForbidden.
	Authorize func(username, password, owner, repo string, write bool) (user string, status int)

	git     string
	backend string
}

// NewGitServer returns a server for root, finding git and its http-backend.
func NewGitServer(root string, authorize func(username, password, owner, repo string, write bool) (string, int)) (*GitServer, error) {
	git, err := Bin("git")
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(git, "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("peers: git --exec-path: %w", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if !isExecutable(backend) {
		return nil, fmt.Errorf("peers: %s: %w", backend, ErrNotFound)
	}
	return &GitServer{Root: root, Authorize: authorize, git: git, backend: backend}, nil
}

// repoPath is /OWNER/NAME.git/..., git's smart HTTP paths.
var repoPath = regexp.MustCompile(`^/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)\.git(/.*)?$`)

// ServeHTTP authenticates the request and hands it to git http-backend.
func (g *GitServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := repoPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		http.NotFound(w, r)
		return
	}
	owner, repo := m[1], m[2]
	write := r.URL.Query().Get("service") == "git-receive-pack" || strings.HasSuffix(r.URL.Path, "/git-receive-pack")
	username, password, ok := r.BasicAuth()
	status := http.StatusUnauthorized
	user := ""
	if ok {
		user, status = g.Authorize(username, password, owner, repo, write)
	}
	switch status {
	case 0:
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
		http.Error(w, "authentication required", status)
		return
	default:
		http.Error(w, "forbidden", status)
		return
	}
	h := &cgi.Handler{
		Path: g.backend,
		Dir:  g.Root,
		Env:  []string{"GIT_PROJECT_ROOT=" + g.Root, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=" + user},
	}
	h.ServeHTTP(w, r)
}

// CreateRepo makes the bare repository OWNER/NAME.git with one commit on
// main holding README.md.
func (g *GitServer) CreateRepo(ctx context.Context, owner, name string) error {
	bare := filepath.Join(g.Root, owner, name+".git")
	work, err := os.MkdirTemp("", "gitseed-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	env := append(os.Environ(), "HOME="+work, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=seed", "GIT_AUTHOR_EMAIL=seed@example.test", "GIT_COMMITTER_NAME=seed", "GIT_COMMITTER_EMAIL=seed@example.test")
	steps := [][]string{
		{"init", "--quiet", "--bare", "--initial-branch=main", bare},
		{"-C", work, "init", "--quiet", "--initial-branch=main"},
	}
	for _, args := range steps {
		if err := g.run(ctx, env, args...); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte("# "+name+"\n"), 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"-C", work, "add", "README.md"},
		{"-C", work, "commit", "--quiet", "-m", "seed"},
		{"-C", work, "push", "--quiet", bare, "main"},
	} {
		if err := g.run(ctx, env, args...); err != nil {
			return err
		}
	}
	return nil
}

// Log returns the commit subjects of branch in OWNER/NAME.git, newest first.
func (g *GitServer) Log(ctx context.Context, owner, name, branch string) ([]string, error) {
	cmd := exec.CommandContext(ctx, g.git, "--git-dir", filepath.Join(g.Root, owner, name+".git"), "log", "--format=%s", branch)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("peers: git log: %w", err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n"), nil
}

func (g *GitServer) run(ctx context.Context, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, g.git, args...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("peers: git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}
