package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const explainConfig = `hub:
  api_url: http://127.0.0.1:8081/hub/api
providers:
  s3: {type: aws}
  blob: {type: azure, account_name: acct, account_key_file: /k}
  gh: {type: github, app_id: 1, private_key_file: /k}
grants:
  - name: scratch
    provider: s3
    bucket: hub-scratch
    prefix: "{user}/"
    access: readwrite
    allow: {users: ["*"]}
  - name: projects
    provider: s3
    bucket: hub-projects
    prefix: "projects/{group}/"
    access: readwrite
    max_duration: 4h
    allow: {groups: ["proj-*"]}
  - name: shared
    provider: s3
    bucket: hub-shared
    allow: {groups: [staff]}
  - name: blob
    provider: blob
    container: "scratch-{user}"
    access: readwrite
    allow: {users: ["*"]}
  - name: course-repos
    provider: gh
    mode: installation
    owner: my-org
    repositories: ["course-*"]
    permissions: {contents: write}
    allow: {groups: [instructors]}
    when: 'request.duration <= duration("1h")'
  - name: admins
    provider: s3
    bucket: hub-admin
    allow: {users: ["*"]}
    when: user.admin
`

const explainGolden = `user "alice", groups ["proj-b" "proj-a" "instructors"], admin false

scratch: ALLOW
  provider: s3 (aws)
  rule:     allow.users "*" matched user "alice"
  access:   readwrite for 1h (grant: up to readwrite, default 1h, max 12h)
  location: s3://hub-scratch/alice/

projects: ALLOW
  provider: s3 (aws)
  rule:     allow.groups "proj-*" matched group "proj-b"
  access:   readwrite for 1h (grant: up to readwrite, default 1h, max 4h)
  location: s3://hub-projects/projects/proj-a/
  location: s3://hub-projects/projects/proj-b/

shared: DENY
  provider: s3 (aws)
  rule:     no allow rule matched

blob: ALLOW
  provider: blob (azure)
  rule:     allow.users "*" matched user "alice"
  access:   readwrite for 1h (grant: up to readwrite, default 1h, max 12h)
  location: abfs://scratch-alice/

course-repos: ALLOW
  provider: gh (github)
  rule:     allow.groups "instructors" matched group "instructors"; when: condition true
  when:     request.duration <= duration("1h")
  token:        installation token of the App's installation on my-org, lives 1h (fixed by GitHub)
  repositories: course-* (of my-org, where the App is installed)
  permissions:  contents: write
  location:     https://github.com/my-org

admins: DENY
  provider: s3 (aws)
  rule:     when: condition false
  when:     user.admin
  matched:  allow.users "*" matched user "alice"

4 of 6 grants allowed
`

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "credserver.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runExplain(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	rc := run(append([]string{"explain"}, args...), &out, &errOut)
	return rc, out.String(), errOut.String()
}

func TestExplainGolden(t *testing.T) {
	path := writeConfig(t, explainConfig)
	rc, out, errOut := runExplain("-config", path, "-user", "alice", "-groups", "proj-b, proj-a,,instructors")
	if rc != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", rc, errOut)
	}
	if diff := cmp.Diff(explainGolden, out); diff != "" {
		t.Errorf("output mismatch (-want +got):\n%s", diff)
	}
}

func TestExplainOneGrant(t *testing.T) {
	path := writeConfig(t, explainConfig)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"condition on duration", []string{"-user", "ian", "-groups", "instructors", "-grant", "course-repos", "-duration", "2h"}, `user "ian", groups ["instructors"], admin false

course-repos: DENY
  provider: gh (github)
  rule:     when: condition false
  when:     request.duration <= duration("1h")
  matched:  allow.groups "instructors" matched group "instructors"

0 of 1 grants allowed
`},
		{"admin flag", []string{"-user", "root", "-admin", "-grant", "admins", "-access", "read"}, `user "root", groups [], admin true

admins: ALLOW
  provider: s3 (aws)
  rule:     allow.users "*" matched user "root"; when: condition true
  when:     user.admin
  access:   read for 1h (grant: up to read, default 1h, max 12h)
  location: s3://hub-admin/
`},
		{"bounds", []string{"-user", "pat", "-groups", "proj-x", "-grant", "projects", "-duration", "5h"}, `user "pat", groups ["proj-x"], admin false

projects: DENY
  provider: s3 (aws)
  rule:     duration 5h exceeds this grant's maximum of 4h
  matched:  allow.groups "proj-*" matched group "proj-x"

0 of 1 grants allowed
`},
		{"encoded container", []string{"-user", "Émile Zola", "-grant", "blob"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, out, errOut := runExplain(append([]string{"-config", path}, tt.args...)...)
			if rc != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", rc, errOut)
			}
			if tt.want == "" {
				if !strings.Contains(out, "location: abfs://scratch-mile-zola-") {
					t.Errorf("output lacks the encoded container:\n%s", out)
				}
				return
			}
			if !strings.HasPrefix(out, tt.want) {
				t.Errorf("output mismatch (-want +got):\n%s", cmp.Diff(tt.want, out))
			}
		})
	}
}

func TestExplainConfigErrors(t *testing.T) {
	path := writeConfig(t, `hub: {}
providers:
  s3: {type: aws}
grants:
  - {name: a, provider: s3, bucket: hub-a, allow: {users: ["*"]}, when: "user.nam == 'x'"}
  - {name: a, provider: s4, bucket: hub-a, allow: {users: ["*"]}}
`)
	rc, out, errOut := runExplain("-config", path, "-user", "alice")
	if rc != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q; want 1 and nothing", rc, out)
	}
	want := []string{
		path + `: line 1: hub.api_url is required`,
		path + `: line 5: grants[0] "a": when: 1:5: undeclared reference to 'user.nam' (did you mean 'user.name'?)`,
		path + `: line 6: grants[1] "a": name is already used by grants[0]`,
		path + `: line 6: grants[1] "a": provider "s4" is not defined under providers (defined: s3)`,
	}
	lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("stderr has %d lines, want %d:\n%s", len(lines), len(want), errOut)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
	if rc, _, errOut := runExplain("-config", filepath.Join(t.TempDir(), "missing.yaml"), "-user", "a"); rc != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: exit %d, stderr %q", rc, errOut)
	}
}

func TestExplainUsage(t *testing.T) {
	path := writeConfig(t, explainConfig)
	t.Setenv("CREDSERVER_CONFIG", "")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no config", []string{"-user", "a"}, "-config is required"},
		{"no user", []string{"-config", path}, "-user is required"},
		{"unknown grant", []string{"-config", path, "-user", "a", "-grant", "nope"}, `no grant named "nope"`},
		{"bad access", []string{"-config", path, "-user", "a", "-access", "write"}, `-access: access "write" must be read or readwrite`},
		{"bad duration", []string{"-config", path, "-user", "a", "-duration", "1d"}, "-duration: invalid duration"},
		{"extra argument", []string{"-config", path, "-user", "a", "scratch"}, `unexpected argument "scratch"`},
		{"unknown flag", []string{"-config", path, "-usr", "a"}, "flag provided but not defined: -usr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, out, errOut := runExplain(tt.args...)
			if rc != 2 || out != "" || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", rc, out, errOut, tt.wantErr)
			}
		})
	}
}
