package main

import (
	"bytes"
	"strings"
	"testing"
)

const overlapConfig = `hub:
  api_url: http://127.0.0.1:8081/hub/api
providers:
  s3: {type: aws}
grants:
  - name: scratch
    provider: s3
    bucket: hub-scratch
    prefix: "{user}/"
    access: readwrite
    allow: {users: ["*"]}
  - name: teams
    provider: s3
    bucket: hub-scratch
    prefix: "teams/{group}/"
    allow: {groups: ["team-*"]}
`

// TestCheckRefusesSquatting: check names both grants and their lines,
// and the fix; with overlaps declared it passes and explain shows the
// declaration on both grants, allowed or not.
func TestCheckRefusesSquatting(t *testing.T) {
	var out, errOut bytes.Buffer
	rc := run([]string{"check", "-config", writeConfig(t, overlapConfig)}, &out, &errOut)
	want := `line 12: grants[0] "scratch" (line 6) and grants[1] "teams" (line 12) can reach the same data: their prefixes "{user}/" and "teams/{group}/" meet when a user is named "teams"`
	if rc != 1 || !strings.Contains(errOut.String(), want) || !strings.Contains(errOut.String(), `add overlaps: [scratch] to grants[1] "teams"`) {
		t.Fatalf("check: exit %d, stderr %q", rc, errOut.String())
	}

	path := writeConfig(t, overlapConfig+"    overlaps: [scratch]\n")
	out.Reset()
	if rc := run([]string{"check", "-config", path}, &out, &errOut); rc != 0 {
		t.Fatalf("check with overlaps: exit %d", rc)
	}
	rc, got, stderr := runExplain("-config", path, "-user", "alice")
	wantOut := `user "alice", groups [], admin false

scratch: ALLOW
  provider: s3 (aws)
  rule:     allow.users "*" matched user "alice"
  overlaps: teams (declared in the config: their locations may meet this one's)
  access:   readwrite for 1h (grant: up to readwrite, default 1h, max 12h)
  location: s3://hub-scratch/alice/

teams: DENY
  provider: s3 (aws)
  rule:     no allow rule matched
  overlaps: scratch (declared in the config: their locations may meet this one's)

1 of 2 grants allowed
`
	if rc != 0 || stderr != "" || got != wantOut {
		t.Errorf("explain: exit %d, stderr %q, stdout:\n%s\nwant:\n%s", rc, stderr, got, wantOut)
	}
}

// TestServeRefusesSquatting: the server does not start on a config
// check refuses, and says why.
func TestServeRefusesSquatting(t *testing.T) {
	var out, errOut bytes.Buffer
	rc := run([]string{"serve", "-config", writeConfig(t, strings.Replace(overlapConfig, "hub:\n", "listen: 127.0.0.1:0\nhub:\n", 1))}, &out, &errOut)
	if rc != 1 || !strings.Contains(errOut.String(), `grants[0] \"scratch\" (line 7) and grants[1] \"teams\" (line 13) can reach the same data`) {
		t.Errorf("serve: exit %d, stderr %q", rc, errOut.String())
	}
}
