package credctl

import (
	"os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGetEnvQuoting feeds values built to break out of quotes and checks
// the exact text, then lets a real shell evaluate it.
func TestGetEnvQuoting(t *testing.T) {
	f := newFakeCredserver(t)
	f.grants["scratch"] = reply{status: 200, body: hostileBody}
	r := newHarness(t, f).run("get", "scratch", "--format", "env")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	want := `# credserver grant scratch (aws), expires 2030-01-02T03:04:05Z
export AWS_ACCESS_KEY_ID='AKID'
export AWS_SECRET_ACCESS_KEY='s$(id)` + "`id`" + `\x'
export AWS_SESSION_TOKEN=''\''; rm -rf ~; '\'''
export AWS_DEFAULT_REGION='us-west-2'
export AWS_REGION='us-west-2'
export SCRATCH_URL='s3://b/it'\''s/'
export SCRATCH_BUCKET='s3://b/it'\''s'
export SCRATCH_EXPIRES_AT='2030-01-02T03:04:05Z'
unset AWS_ENDPOINT_URL
`
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}

	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to evaluate the output with")
	}
	script := r.stdout + `printf '%s\n' "$AWS_SESSION_TOKEN" "$AWS_SECRET_ACCESS_KEY" "$SCRATCH_BUCKET"`
	cmd := exec.Command(sh, "-c", script)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/nonexistent"} // nothing to run even if quoting failed
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, out)
	}
	wantOut := hostile + "\n" + "s$(id)`id`\\x\n" + "s3://b/it's\n"
	if diff := cmp.Diff(wantOut, string(out)); diff != "" {
		t.Errorf("values after eval (-want +got):\n%s", diff)
	}
}

func TestEnvName(t *testing.T) {
	for grant, want := range map[string]string{
		"scratch":    "SCRATCH",
		"team-data":  "TEAM_DATA",
		"a.b/c d":    "A_B_C_D",
		"2024-runs":  "_2024_RUNS",
		"données":    "DONN_ES",
		"Mixed_Case": "MIXED_CASE",
	} {
		if got := envName(grant); got != want {
			t.Errorf("envName(%q) = %q, want %q", grant, got, want)
		}
	}
}
