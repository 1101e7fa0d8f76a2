package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// user is a notebook user's environment: their own HOME (and so their own
// ~/.gitconfig), credctl on PATH, the hub token, no terminal prompts.
type ghUser struct {
	e    *ghEnv
	name string
	home string
}

func (e *ghEnv) user(name string) *ghUser {
	return &ghUser{e: e, name: name, home: e.t.TempDir()}
}

func (u *ghUser) env() []string {
	return append(os.Environ(),
		"HOME="+u.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=",
		"PATH="+filepath.Dir(u.e.credctl)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"CREDSERVER_URL="+u.e.URL(), "JUPYTERHUB_API_TOKEN="+u.e.hub.Tokens[u.name],
		"GIT_AUTHOR_NAME="+u.name, "GIT_AUTHOR_EMAIL="+u.name+"@hub.example",
		"GIT_COMMITTER_NAME="+u.name, "GIT_COMMITTER_EMAIL="+u.name+"@hub.example")
}

// run runs a program in dir (relative to HOME) and returns its output.
func (u *ghUser) run(dir, prog string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(prog, args...)
	cmd.Env = u.env()
	cmd.Dir = filepath.Join(u.home, dir)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// git runs git and fails the test if it fails.
func (u *ghUser) git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, errOut, err := u.run(dir, "git", args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// login runs `credctl github login` while "the user" approves at the fake
// GitHub as login, moving the fake clock on so the server's polls fall due.
func (u *ghUser) login(t *testing.T, login string, args ...string) string {
	t.Helper()
	before := u.e.fake.LastUserCode()
	done := make(chan struct{})
	go func() {
		approved := false
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if code := u.e.fake.LastUserCode(); !approved && code != "" && code != before {
				approved = u.e.fake.Approve(code, login) == nil
			}
			u.e.clock.Advance(time.Second)
		}
	}()
	out, errOut, err := u.run("", u.e.credctl, append([]string{"github", "login"}, args...)...)
	close(done)
	if err != nil {
		t.Fatalf("credctl github login: %v\n%s%s", err, out, errOut)
	}
	return out
}

// commitAndPush adds a file in the clone dir and pushes it.
func (u *ghUser) commitAndPush(t *testing.T, dir, file, msg string) (string, error) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(u.home, dir, file), []byte(msg+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	u.git(t, dir, "add", file)
	u.git(t, dir, "commit", "--quiet", "-m", msg)
	out, errOut, err := u.run(dir, "git", "push", "--quiet", "origin", "main")
	return out + errOut, err
}
