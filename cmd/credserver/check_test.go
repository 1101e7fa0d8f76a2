package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// githubFilesConfig names five files through *_file keys; %s is the
// directory they are in.
const githubFilesConfig = `hub:
  api_url: http://127.0.0.1:8081/hub/api
  api_token_file: %[1]s/hub-token
web:
  session_key_file: %[1]s/session.key
store:
  encryption_key_file: %[1]s/store.key
providers:
  gh:
    type: github
    app_id: 1
    client_id: Iv1.abc
    private_key_file: %[1]s/app.pem
    client_secret_file: %[1]s/secret
grants:
  - name: github
    provider: gh
    mode: user
    allow: {users: ["*"]}
`

func runCheck(path string) (int, string, string) {
	var out, errOut bytes.Buffer
	rc := run([]string{"check", "-config", path}, &out, &errOut)
	return rc, out.String(), errOut.String()
}

// TestCheckReportsUnusableFiles: a config that parses but names key and
// token files that are missing, empty or directories is not ok; each is
// named by its key.
func TestCheckReportsUnusableFiles(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, strings.ReplaceAll(githubFilesConfig, "%[1]s", dir))
	for _, f := range []string{"hub-token", "session.key"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("tok\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "secret"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "app.pem"), 0o700); err != nil {
		t.Fatal(err)
	}
	rc, out, errOut := runCheck(path)
	want := path + ": store.encryption_key_file: " + dir + "/store.key: no such file\n" +
		path + ": providers.gh.private_key_file: " + dir + "/app.pem: is a directory\n" +
		path + ": providers.gh.client_secret_file: " + dir + "/secret: is empty\n" +
		path + ": 3 file(s) credserver could not use (check runs as, and where, credserver runs)\n"
	if rc != 1 || out != "" {
		t.Errorf("exit %d stdout %q, want 1 and nothing", rc, out)
	}
	if diff := cmp.Diff(want, errOut); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}

	for _, f := range []string{"store.key", "secret"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(dir, "app.pem")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.pem"), []byte("pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if rc, out, errOut := runCheck(path); rc != 0 || errOut != "" || !strings.HasSuffix(out, ": ok (1 providers, 1 grants)\n") {
		t.Errorf("all files present: exit %d stdout %q stderr %q", rc, out, errOut)
	}

	if os.Geteuid() != 0 {
		if err := os.Chmod(filepath.Join(dir, "app.pem"), 0); err != nil {
			t.Fatal(err)
		}
		if _, _, errOut := runCheck(path); !strings.Contains(errOut, "providers.gh.private_key_file: "+dir+"/app.pem: not readable by this user\n") {
			t.Errorf("unreadable key: stderr %q", errOut)
		}
	}
}

// TestExplainGitHubUserGrant: a user-mode grant is told in GitHub's terms,
// not as an access and a duration the grant cannot change.
func TestExplainGitHubUserGrant(t *testing.T) {
	path := writeConfig(t, strings.ReplaceAll(githubFilesConfig, "%[1]s", "/nonexistent"))
	rc, out, errOut := runExplain("-config", path, "-user", "alice")
	if rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut)
	}
	want := `
github: ALLOW
  provider: gh (github)
  rule:     allow.users "*" matched user "alice"
  token:        user token of the GitHub account the user linked (credctl github login), lives 8h (fixed by GitHub), refreshed by credserver
  repositories: those the user's GitHub account can reach where the App is installed
  permissions:  the App's, narrowed to the user's own on each repository
  location:     https://github.com
`
	if !strings.Contains(out, want) || strings.Contains(out, "max 12h") {
		t.Errorf("explain output:\n%s\nwant it to contain:%s", out, want)
	}
}
