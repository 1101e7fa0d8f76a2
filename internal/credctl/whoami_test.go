package credctl

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWhoami(t *testing.T) {
	const full = `{"user":"alice","groups":["staff","students"],"admin":false,"grants":[` +
		`{"name":"scratch","provider":"aws","access":"readwrite","location":"s3://hub-scratch/alice/","max_duration":"12h"},` +
		`{"name":"shared-read","provider":"gcs","access":["read"],"location":"gs://shared/","max_duration":3600},` +
		`{"name":"evil\u001b[31m","provider":"aws","access":"read","location":"","max_duration":null}],` +
		`"github":{"linked":true,"login":"alice-gh","expires_at":"2030-01-02T03:04:05Z"}}`
	tests := []struct {
		name, body string
		args       []string
		want       string
	}{{
		name: "table",
		body: full,
		args: []string{"whoami"},
		want: `user:    alice
groups:  staff, students
github:  linked as alice-gh (until 2030-01-02T03:04:05Z)
grants:
  NAME         PROVIDER  ACCESS     LOCATION                 MAX DURATION
  scratch      aws       readwrite  s3://hub-scratch/alice/  12h
  shared-read  gcs       read       gs://shared/             3600
  evil [31m    aws       read       -                        -
`,
	}, {
		name: "no grants, no github block",
		body: `{"user":"bob","groups":[],"admin":true,"grants":[]}`,
		args: []string{"whoami"},
		want: `user:    bob
groups:  -
admin:   yes
grants:  none; ask your hub admin
`,
	}, {
		name: "github status unknown (the server's store is down)",
		body: `{"user":"bob","groups":[],"grants":[],"github":{"status":"unknown"}}`,
		args: []string{"whoami"},
		want: `user:    bob
groups:  -
github:  unknown (the server cannot read links right now; try again shortly)
grants:  none; ask your hub admin
`,
	}, {
		name: "json",
		body: `{"user":"bob","groups":[],"grants":[]}`,
		args: []string{"whoami", "--json"},
		want: "{\n  \"user\": \"bob\",\n  \"groups\": [],\n  \"grants\": []\n}\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCredserver(t)
			f.whoami = tt.body
			r := newHarness(t, f).run(tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if diff := cmp.Diff(tt.want, r.stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWhoamiRejectedToken(t *testing.T) {
	f := newFakeCredserver(t)
	h := newHarness(t, f)
	h.env["JUPYTERHUB_API_TOKEN"] = "not-the-token"
	r := h.run("whoami")
	if r.code != 1 || r.stderr != "credctl: invalid_token: the hub did not accept this token\n" {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
}
