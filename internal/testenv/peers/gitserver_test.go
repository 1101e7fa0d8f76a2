package peers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/credserver/credserver/internal/testenv/peers"
)

func TestGitServer(t *testing.T) {
	peers.Require(t, "git")
	g, err := peers.NewGitServer(t.TempDir(), func(user, pass, owner, repo string, write bool) (string, int) {
		switch {
		case pass == "reader" && !write:
			return "reader", 0
		case pass == "reader" && write:
			return "", http.StatusForbidden
		case pass == "writer":
			return "writer", 0
		}
		return "", http.StatusUnauthorized
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := g.CreateRepo(ctx, "o", "r"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	home := t.TempDir()
	git := func(args ...string) error {
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "HOME="+home, "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e")
		cmd.Dir = home
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("git %v: %s", args, out)
		}
		return err
	}
	url := func(pass string) string {
		return strings.Replace(srv.URL, "http://", "http://x-access-token:"+pass+"@", 1) + "/o/r.git"
	}
	if err := git("ls-remote", url("wrong")); err == nil {
		t.Error("a wrong password was let in")
	}
	if err := git("clone", "--quiet", url("reader"), "w"); err != nil {
		t.Fatal("clone with a read token failed")
	}
	os.WriteFile(home+"/w/f", []byte("x"), 0o644)
	git("-C", "w", "add", "f")
	git("-C", "w", "commit", "--quiet", "-m", "pushed over http")
	if err := git("-C", "w", "push", "--quiet", url("reader"), "main"); err == nil {
		t.Error("a read-only token pushed")
	}
	if err := git("-C", "w", "push", "--quiet", url("writer"), "main"); err != nil {
		t.Fatal("push with a write token failed")
	}
	log, err := g.Log(ctx, "o", "r", "main")
	if err != nil || log[0] != "pushed over http" {
		t.Errorf("server log = %v, %v", log, err)
	}
}
