package credctl

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/testenv/peers"
)

// runAsCredctl makes the test binary behave as credctl, so a real consumer
// (botocore) can run it as its credential_process.
const runAsCredctl = "CREDCTL_TEST_RUN_AS_CREDCTL"

func TestMain(m *testing.M) {
	if os.Getenv(runAsCredctl) == "1" {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
	}
	os.Exit(m.Run())
}

// TestBotocoreCredentialProcess has the real botocore read the profile that
// aws configure writes, run credctl as its credential_process and load the
// key, the refresh time and the region from it.
func TestBotocoreCredentialProcess(t *testing.T) {
	peers.Require(t, "python3")
	py, err := peers.Bin("python3")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(py, "-c", "import boto3").CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("boto3 is required under CI: %v\n%s", err, out)
		}
		t.Skipf("boto3 not installed for %s (run scripts/install-peers.sh)", py)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f := credentialFake(t)
	h := newHarness(t, f)
	h.exe = exe
	cfg := filepath.Join(t.TempDir(), "config")
	h.env["AWS_CONFIG_FILE"] = cfg
	if r := h.run("aws", "configure"); r.code != 0 {
		t.Fatalf("aws configure: exit %d, stderr %q", r.code, r.stderr)
	}

	const script = `
import boto3, json
s = boto3.Session(profile_name="scratch")
c = s.get_credentials()
f = c.get_frozen_credentials()
print(json.dumps({"method": c.method, "key": f.access_key, "secret": f.secret_key,
                  "token": f.token, "expiry": c._expiry_time.isoformat(), "region": s.region_name}))
`
	cmd := exec.Command(py, "-c", script)
	cmd.Env = []string{
		"HOME=" + h.home,
		"PATH=" + os.Getenv("PATH"),
		"AWS_CONFIG_FILE=" + cfg,
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(h.home, "no-credentials"),
		"CREDSERVER_URL=" + f.URL(),
		"JUPYTERHUB_API_TOKEN=" + testToken,
		runAsCredctl + "=1",
	}
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("boto3: %v\n%s", err, stderr)
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("boto3 output %q: %v", out, err)
	}
	want := map[string]string{
		"method": "custom-process", "key": "ASIAFAKE1", "secret": "sec/ret+Key1", "token": "sessTOKEN1",
		"expiry": "2030-01-02T03:04:05+00:00", "region": "us-west-2",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("what botocore loaded (-want +got):\n%s", diff)
	}
}
