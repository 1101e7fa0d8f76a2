package credctl

import (
	"os/exec"
	"strconv"
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
export CPL_VSIL_USE_TEMP_FILE_FOR_RANDOM_WRITE='YES'
export SCRATCH_URL='s3://b/it'\''s/'
export SCRATCH_BUCKET='s3://b/it'\''s'
export SCRATCH_EXPIRES_AT='2030-01-02T03:04:05Z'
unset AWS_ENDPOINT_URL
unset AWS_S3_ENDPOINT
unset AWS_HTTPS
unset AWS_VIRTUAL_HOSTING
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

func TestGetEnvStorage(t *testing.T) {
	const azureBody = `{"grant":"blob-scratch","provider":"azure","expires_at":"2030-01-02T03:04:05Z",` +
		`"sas_token":"sv=2026-12-06&sr=c&sp=racwdl&sig=a%2Bb'$(id)","account_name":"hubdata",` +
		`"account_url":"https://hubdata.blob.core.windows.net","container":"scratch-alice","prefix":"","url":"abfs://scratch-alice/"}`
	tests := []struct {
		name, grant, body string
		code              int
		stdout, stderr    string
	}{{
		name: "azure", grant: "blob-scratch", body: azureBody,
		stdout: `# credserver grant blob-scratch (azure), expires 2030-01-02T03:04:05Z
export AZURE_STORAGE_SAS_TOKEN='sv=2026-12-06&sr=c&sp=racwdl&sig=a%2Bb'\''$(id)'
export AZURE_STORAGE_ACCOUNT_NAME='hubdata'
export AZURE_STORAGE_ACCOUNT='hubdata'
export AZURE_STORAGE_ACCOUNT_URL='https://hubdata.blob.core.windows.net'
export BLOB_SCRATCH_URL='abfs://scratch-alice/'
export BLOB_SCRATCH_EXPIRES_AT='2030-01-02T03:04:05Z'
unset AZURE_STORAGE_CONNECTION_STRING
unset AZURE_STORAGE_ACCOUNT_KEY
unset AZURE_STORAGE_KEY
`,
	}, {
		name: "gcs scratch keeps the hub convention", grant: "scratch",
		body: `{"grant":"scratch","provider":"gcs","expires_at":"2030-01-02T03:04:05Z","access_token":"ya29.x",` +
			`"bucket":"b","prefix":"alice/","url":"gs://b/alice/"}`,
		stdout: `# credserver grant scratch (gcs), expires 2030-01-02T03:04:05Z
export GOOGLE_OAUTH_ACCESS_TOKEN='ya29.x'
export SCRATCH_URL='gs://b/alice/'
export SCRATCH_BUCKET='gs://b/alice'
export SCRATCH_EXPIRES_AT='2030-01-02T03:04:05Z'
`,
	}, {
		name: "gcs without a token", grant: "g", code: 1,
		body:   `{"grant":"g","provider":"gcs","expires_at":"2030-01-02T03:04:05Z","url":"gs://b/"}`,
		stderr: "credctl: the server's answer for grant \"g\" has no access token\n",
	}, {
		name: "azure without a SAS", grant: "g", code: 1,
		body:   `{"grant":"g","provider":"azure","expires_at":"2030-01-02T03:04:05Z","account_name":"a"}`,
		stderr: "credctl: the server's answer for grant \"g\" has no SAS token\n",
	}, {
		name: "a provider credctl does not know", grant: "g",
		body: `{"grant":"g","provider":"dropbox","expires_at":"2030-01-02T03:04:05Z"}`,
		stdout: `# credserver grant g (dropbox), expires 2030-01-02T03:04:05Z
# credctl cannot export dropbox credentials as environment variables yet; use --format json
export G_EXPIRES_AT='2030-01-02T03:04:05Z'
`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCredserver(t)
			f.grants[tt.grant] = reply{status: 200, body: tt.body}
			r := newHarness(t, f).run("get", tt.grant, "--format", "env")
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			if diff := cmp.Diff(tt.stdout, r.stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.stderr, r.stderr); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGetEnvAzureEval: after eval, the variables adlfs reads hold the
// server's values exactly, and stale account keys are gone.
func TestGetEnvAzureEval(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to evaluate the output with")
	}
	sas := `sv=2026-12-06&sig=` + hostile
	body := `{"grant":"blob","provider":"azure","expires_at":"2030-01-02T03:04:05Z","sas_token":` +
		strconv.Quote(sas) + `,"account_name":"hubdata","url":"abfs://c/"}`
	f := newFakeCredserver(t)
	f.grants["blob"] = reply{status: 200, body: body}
	r := newHarness(t, f).run("get", "blob", "--format", "env")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	script := r.stdout + `printf '%s\n' "$AZURE_STORAGE_SAS_TOKEN" "$AZURE_STORAGE_ACCOUNT_NAME" "${AZURE_STORAGE_ACCOUNT_KEY-unset}"`
	cmd := exec.Command(sh, "-c", script)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/nonexistent", "AZURE_STORAGE_ACCOUNT_KEY=stale"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, out)
	}
	if diff := cmp.Diff(sas+"\nhubdata\nunset\n", string(out)); diff != "" {
		t.Errorf("values after eval (-want +got):\n%s", diff)
	}
}

// TestGDALEnv: what GDAL's /vsis3/ needs for each kind of endpoint.
func TestGDALEnv(t *testing.T) {
	all := []string{"AWS_S3_ENDPOINT", "AWS_HTTPS", "AWS_VIRTUAL_HOSTING"}
	w := [2]string{"CPL_VSIL_USE_TEMP_FILE_FOR_RANDOM_WRITE", "YES"}
	tests := []struct {
		endpoint string
		set      [][2]string
		unset    []string
	}{
		{"", [][2]string{w}, all},
		{"http://127.0.0.1:9000", [][2]string{{"AWS_S3_ENDPOINT", "127.0.0.1:9000"}, {"AWS_HTTPS", "NO"}, {"AWS_VIRTUAL_HOSTING", "FALSE"}, w}, nil},
		{"https://s3.hub.example.org/", [][2]string{{"AWS_S3_ENDPOINT", "s3.hub.example.org"}, {"AWS_HTTPS", "YES"}, {"AWS_VIRTUAL_HOSTING", "FALSE"}, w}, nil},
		{"https://[::1]:9443", [][2]string{{"AWS_S3_ENDPOINT", "[::1]:9443"}, {"AWS_HTTPS", "YES"}, {"AWS_VIRTUAL_HOSTING", "FALSE"}, w}, nil},
		{"https://gw.example.org/s3", [][2]string{w}, all},
		{"ftp://x", [][2]string{w}, all},
	}
	for _, tt := range tests {
		set, unset := gdalEnv(tt.endpoint)
		if diff := cmp.Diff(tt.set, set); diff != "" {
			t.Errorf("%q set (-want +got):\n%s", tt.endpoint, diff)
		}
		if diff := cmp.Diff(tt.unset, unset); diff != "" {
			t.Errorf("%q unset (-want +got):\n%s", tt.endpoint, diff)
		}
	}
}
