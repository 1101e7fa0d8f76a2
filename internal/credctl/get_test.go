package credctl

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Canned credential answers in the server's shapes.
const (
	awsBody = `{"grant":"scratch","provider":"aws","expires_at":"2030-01-02T03:04:05Z",` +
		`"credentials":{"access_key_id":"ASIAFAKE1","secret_access_key":"sec/ret+Key1","session_token":"sessTOKEN1","expiration":"2030-01-02T03:04:05Z"},` +
		`"bucket":"hub-scratch","prefix":"alice/","url":"s3://hub-scratch/alice/","region":"us-west-2"}`
	// An S3-compatible store; expiration with an offset and fractions.
	minioBody = `{"grant":"team-data","provider":"aws","expires_at":"2030-01-02T05:04:05.750+02:00",` +
		`"credentials":{"access_key_id":"MINIOKEY","secret_access_key":"miniosecret","session_token":"miniotoken","expiration":"2030-01-02T05:04:05.750+02:00"},` +
		`"bucket":"data","prefix":"team/","url":"s3://data/team/","region":"us-east-1","endpoint_url":"http://127.0.0.1:9000"}`
	gcsBody = `{"grant":"gcs-data","provider":"gcs","expires_at":"2030-01-02T03:04:05Z",` +
		`"access_token":"ya29.fake","bucket":"b","prefix":"alice/","url":"gs://b/alice/"}`
	// hostile is a value that runs a command if it is not quoted properly.
	hostile     = `'; rm -rf ~; '`
	hostileBody = `{"grant":"scratch","provider":"aws","expires_at":"2030-01-02T03:04:05Z",` +
		`"credentials":{"access_key_id":"AKID","secret_access_key":"s$(id)` + "`id`" + `\\x","session_token":"'; rm -rf ~; '","expiration":"2030-01-02T03:04:05Z"},` +
		`"url":"s3://b/it's/","region":"us-west-2"}`
)

func credentialFake(t *testing.T) *fakeCredserver {
	f := newFakeCredserver(t)
	f.grants["scratch"] = reply{status: 200, body: awsBody}
	f.grants["team-data"] = reply{status: 200, body: minioBody}
	f.grants["gcs-data"] = reply{status: 200, body: gcsBody}
	return f
}

func TestGetFormats(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{{
		name: "json is the body pretty-printed",
		args: []string{"get", "scratch"},
		want: `{
  "grant": "scratch",
  "provider": "aws",
  "expires_at": "2030-01-02T03:04:05Z",
  "credentials": {
    "access_key_id": "ASIAFAKE1",
    "secret_access_key": "sec/ret+Key1",
    "session_token": "sessTOKEN1",
    "expiration": "2030-01-02T03:04:05Z"
  },
  "bucket": "hub-scratch",
  "prefix": "alice/",
  "url": "s3://hub-scratch/alice/",
  "region": "us-west-2"
}
`,
	}, {
		name: "env for the scratch grant",
		args: []string{"get", "scratch", "--format", "env"},
		want: `# credserver grant scratch (aws), expires 2030-01-02T03:04:05Z
export AWS_ACCESS_KEY_ID='ASIAFAKE1'
export AWS_SECRET_ACCESS_KEY='sec/ret+Key1'
export AWS_SESSION_TOKEN='sessTOKEN1'
export AWS_DEFAULT_REGION='us-west-2'
export AWS_REGION='us-west-2'
export CPL_VSIL_USE_TEMP_FILE_FOR_RANDOM_WRITE='YES'
export SCRATCH_URL='s3://hub-scratch/alice/'
export SCRATCH_BUCKET='s3://hub-scratch/alice'
export SCRATCH_EXPIRES_AT='2030-01-02T03:04:05Z'
unset AWS_ENDPOINT_URL
unset AWS_S3_ENDPOINT
unset AWS_HTTPS
unset AWS_VIRTUAL_HOSTING
`,
	}, {
		name: "env for an S3-compatible grant",
		args: []string{"get", "--format=env", "team-data"},
		want: `# credserver grant team-data (aws), expires 2030-01-02T03:04:05Z
export AWS_ACCESS_KEY_ID='MINIOKEY'
export AWS_SECRET_ACCESS_KEY='miniosecret'
export AWS_SESSION_TOKEN='miniotoken'
export AWS_DEFAULT_REGION='us-east-1'
export AWS_REGION='us-east-1'
export AWS_ENDPOINT_URL='http://127.0.0.1:9000'
export AWS_S3_ENDPOINT='127.0.0.1:9000'
export AWS_HTTPS='NO'
export AWS_VIRTUAL_HOSTING='FALSE'
export CPL_VSIL_USE_TEMP_FILE_FOR_RANDOM_WRITE='YES'
export TEAM_DATA_URL='s3://data/team/'
export TEAM_DATA_EXPIRES_AT='2030-01-02T03:04:05Z'
`,
	}, {
		name: "env for gcs",
		args: []string{"get", "gcs-data", "--format", "env"},
		want: `# credserver grant gcs-data (gcs), expires 2030-01-02T03:04:05Z
export GOOGLE_OAUTH_ACCESS_TOKEN='ya29.fake'
export GCS_DATA_URL='gs://b/alice/'
export GCS_DATA_EXPIRES_AT='2030-01-02T03:04:05Z'
`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, credentialFake(t))
			r := h.run(tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if diff := cmp.Diff(tt.want, r.stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetCredentialProcess(t *testing.T) {
	tests := []struct {
		grant, body string
		want        map[string]any
	}{{
		grant: "scratch", body: awsBody,
		want: map[string]any{"Version": 1.0, "AccessKeyId": "ASIAFAKE1", "SecretAccessKey": "sec/ret+Key1",
			"SessionToken": "sessTOKEN1", "Expiration": "2030-01-02T03:04:05Z"},
	}, {
		// An offset and fractional seconds come out as whole-second UTC.
		grant: "team-data", body: minioBody,
		want: map[string]any{"Version": 1.0, "AccessKeyId": "MINIOKEY", "SecretAccessKey": "miniosecret",
			"SessionToken": "miniotoken", "Expiration": "2030-01-02T03:04:05Z"},
	}, {
		// No expiration in credentials: expires_at is used.
		grant: "no-expiration",
		body: `{"grant":"no-expiration","provider":"aws","expires_at":"2031-05-06T07:08:09Z",` +
			`"credentials":{"access_key_id":"K","secret_access_key":"S","session_token":"T"}}`,
		want: map[string]any{"Version": 1.0, "AccessKeyId": "K", "SecretAccessKey": "S",
			"SessionToken": "T", "Expiration": "2031-05-06T07:08:09Z"},
	}}
	for _, tt := range tests {
		t.Run(tt.grant, func(t *testing.T) {
			f := newFakeCredserver(t)
			f.grants[tt.grant] = reply{status: 200, body: tt.body}
			r := newHarness(t, f).run("get", tt.grant, "--format", "credential-process")
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, r.stdout)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("credential_process JSON (-want +got):\n%s", diff)
			}
			keys := make([]string, 0, len(got))
			for k := range got {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			want := []string{"AccessKeyId", "Expiration", "SecretAccessKey", "SessionToken", "Version"}
			if diff := cmp.Diff(want, keys); diff != "" {
				t.Errorf("key set (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetCredentialProcessRefusals(t *testing.T) {
	tests := []struct {
		name, body string
		code       int
		stderr     string
	}{{
		name: "not aws", body: gcsBody, code: 2,
		stderr: "credctl: grant \"g\" is a \"gcs\" grant, not aws; use --format json\n",
	}, {
		name: "no expiry", code: 1,
		body:   `{"grant":"g","provider":"aws","credentials":{"access_key_id":"K","secret_access_key":"S"}}`,
		stderr: "credctl: the server's answer for grant \"g\" has no expiry\n",
	}, {
		name: "no key", code: 1,
		body:   `{"grant":"g","provider":"aws","expires_at":"2030-01-02T03:04:05Z","credentials":{}}`,
		stderr: "credctl: the server's answer for grant \"g\" has no AWS access key\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCredserver(t)
			f.grants["g"] = reply{status: 200, body: tt.body}
			r := newHarness(t, f).run("get", "g", "--format", "credential-process")
			if r.code != tt.code || r.stderr != tt.stderr || r.stdout != "" {
				t.Errorf("got exit %d stderr %q stdout %q; want exit %d stderr %q", r.code, r.stderr, r.stdout, tt.code, tt.stderr)
			}
		})
	}
}

func TestGetRequest(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		grant     string // as the server unescapes it
		path      string // as sent on the wire
		wantQuery string
	}{{
		name:  "flags after the grant",
		args:  []string{"get", "scratch", "--access", "read", "--duration", "1h", "--format", "env"},
		grant: "scratch", path: basePath + "/v1/credentials/scratch", wantQuery: "access=read&duration=1h",
	}, {
		name:  "flags before the grant, seconds",
		args:  []string{"get", "--duration=3600", "--access=readwrite", "scratch"},
		grant: "scratch", path: basePath + "/v1/credentials/scratch", wantQuery: "access=readwrite&duration=3600",
	}, {
		name:  "no parameters",
		args:  []string{"get", "scratch"},
		grant: "scratch", path: basePath + "/v1/credentials/scratch", wantQuery: "",
	}, {
		name:  "slash, space and percent are escaped",
		args:  []string{"get", "a/b c%d"},
		grant: "a/b c%d", path: basePath + "/v1/credentials/a%2Fb%20c%25d",
	}, {
		name:  "dot-dot cannot climb",
		args:  []string{"get", ".."},
		grant: "..", path: basePath + "/v1/credentials/%2E%2E",
	}, {
		name:  "after --, a dash is a grant name",
		args:  []string{"get", "--format", "json", "--", "-weird"},
		grant: "-weird", path: basePath + "/v1/credentials/-weird",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCredserver(t)
			f.grants[tt.grant] = reply{status: 200, body: awsBody}
			r := newHarness(t, f).run(tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			got := f.seen()
			if len(got) != 1 {
				t.Fatalf("server saw %d credential requests, want 1", len(got))
			}
			if got[0].grant != tt.grant || got[0].escapedPath != tt.path || got[0].query.Encode() != tt.wantQuery {
				t.Errorf("server saw grant %q path %q query %q; want %q %q %q",
					got[0].grant, got[0].escapedPath, got[0].query.Encode(), tt.grant, tt.path, tt.wantQuery)
			}
		})
	}
}

func TestGetStdoutOnlyOnSuccess(t *testing.T) {
	h := newHarness(t, credentialFake(t))
	r := h.run("get", "nope", "--format", "env")
	if r.code != 1 || r.stdout != "" {
		t.Errorf("exit %d stdout %q, want 1 and nothing", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, `there is no grant named "nope"`) {
		t.Errorf("stderr %q lacks the server's message", r.stderr)
	}
}
