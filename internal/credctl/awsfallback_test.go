package credctl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAWSConfigureSharedFile: AWS_CONFIG_FILE names the hub admin's file
// (read-only, or owned by someone else). aws configure leaves it as it was,
// writes ~/.aws/config seeded with the admin's profiles, and says how to
// select that file and the profile.
func TestAWSConfigureSharedFile(t *testing.T) {
	const shared = "[default]\ncredential_process = credctl get scratch --format credential-process\n"
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		why   string
	}{
		{"read-only", func(t *testing.T, path string) {
			if err := os.Chmod(path, 0o444); err != nil {
				t.Fatal(err)
			}
		}, "read-only"},
		{"owned by another user", func(t *testing.T, path string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give the file away")
			}
			if err := os.Chown(path, 4242, 4242); err != nil {
				t.Fatal(err)
			}
		}, "owned by uid 4242, not you"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := configureHarness(t)
			path := filepath.Join(t.TempDir(), "aws-config")
			writeFile(t, path, shared, 0o644)
			tt.setup(t, path)
			h.env["AWS_CONFIG_FILE"] = path
			r := h.run("aws", "configure", "--grant", "scratch", "--profile", "mine")
			if r.code != 0 {
				t.Fatalf("exit %d stderr %q", r.code, r.stderr)
			}
			if got := readFile(t, path); got != shared {
				t.Errorf("the shared file changed:\n%s", got)
			}
			personal := filepath.Join(h.home, ".aws", "config")
			got := readFile(t, personal)
			if !strings.HasPrefix(got, shared) || !strings.Contains(got, "[profile mine]\ncredential_process = credctl get scratch") {
				t.Errorf("~/.aws/config =\n%s\nwant the shared profiles and [profile mine]", got)
			}
			for _, want := range []string{
				"AWS_CONFIG_FILE is " + path + ", which is " + tt.why + ", so the profile went to " + personal,
				"export AWS_CONFIG_FILE=" + personal + " AWS_PROFILE=mine\n",
				`os.environ["AWS_CONFIG_FILE"] = '` + personal + "'",
			} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
				}
			}
			// A second run keeps ~/.aws/config (no re-seeding over the user's edits).
			writeFile(t, personal, got+"# mine\n", 0o600)
			if r := h.run("aws", "configure", "--profile", "mine"); r.code != 0 || !strings.HasSuffix(readFile(t, personal), "# mine\n") {
				t.Errorf("second run: exit %d, file\n%s", r.code, readFile(t, personal))
			}
		})
	}
}
