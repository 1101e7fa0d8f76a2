package awssts

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/credserver/credserver/internal/policy"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/vend"
)

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestProvider(t *testing.T, endpoint, s3Endpoint string) *Provider {
	t.Helper()
	p, err := New(t.Context(), Config{
		RoleARN:     "arn:aws:iam::123456789012:role/scratch",
		STSEndpoint: endpoint,
		S3Endpoint:  s3Endpoint,
		Credentials: credentials.NewStaticCredentialsProvider("AKIASIGNER", "signer-secret", ""),
		HTTPClient:  &http.Client{Timeout: 5 * time.Second},
		Now:         func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func aliceRequest() policy.Decision {
	return policy.Decision{
		User: "alice", Grant: "scratch", Access: policy.AccessReadWrite, Duration: time.Hour,
		Bucket: "scratch", Prefixes: []string{"alice/"}, Location: "s3://scratch/alice/",
	}
}

func TestIssue(t *testing.T) {
	expiry := testNow.Add(time.Hour)
	tests := []struct {
		name       string
		s3Endpoint string
		mutate     func(*policy.Decision)
		wantBody   string
	}{
		{
			name: "aws",
			wantBody: `{"grant":"scratch","provider":"aws","expires_at":"2025-03-01T13:00:00Z",
				"credentials":{"access_key_id":"ASIAFAKEKEYID0000001","secret_access_key":"fake-secret-access-key",
				"session_token":"fake-session-token","expiration":"2025-03-01T13:00:00Z"},
				"bucket":"scratch","prefix":"alice/","url":"s3://scratch/alice/","region":"us-east-1"}`,
		},
		{
			name: "s3-compatible, two prefixes", s3Endpoint: "http://minio.example:9000",
			mutate: func(r *policy.Decision) {
				r.User, r.Access = "josé", policy.AccessRead
				r.Prefixes, r.Location = []string{"groups/geo/", "groups/ocean/"}, ""
			},
			wantBody: `{"grant":"scratch","provider":"aws","expires_at":"2025-03-01T13:00:00Z",
				"credentials":{"access_key_id":"ASIAFAKEKEYID0000001","secret_access_key":"fake-secret-access-key",
				"session_token":"fake-session-token","expiration":"2025-03-01T13:00:00Z"},
				"bucket":"scratch","prefix":"groups/geo/","prefixes":["groups/geo/","groups/ocean/"],
				"url":"s3://scratch/groups/geo/","region":"us-east-1","endpoint_url":"http://minio.example:9000"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts := newFakeSTS(t, expiry)
			p := newTestProvider(t, sts.srv.URL, tt.s3Endpoint)
			req := aliceRequest()
			if tt.mutate != nil {
				tt.mutate(&req)
			}
			cred, err := p.Issue(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}

			calls := sts.calls()
			if len(calls) != 1 {
				t.Fatalf("STS calls = %d, want 1", len(calls))
			}
			form := calls[0]
			wantPolicy, err := SessionPolicy(req.Bucket, req.Prefixes, req.Access)
			if err != nil {
				t.Fatal(err)
			}
			wantForm := map[string]string{
				"RoleArn":         "arn:aws:iam::123456789012:role/scratch",
				"RoleSessionName": SessionName(req.User),
				"SourceIdentity":  SessionName(req.User),
				"DurationSeconds": "3600",
				"Policy":          string(wantPolicy),
			}
			gotForm := map[string]string{}
			for k := range wantForm {
				gotForm[k] = form.Get(k)
			}
			if diff := cmp.Diff(wantForm, gotForm); diff != "" {
				t.Errorf("AssumeRole parameters (-want +got):\n%s", diff)
			}
			if auth := sts.auth[0]; !strings.Contains(auth, "Credential=AKIASIGNER/") || !strings.Contains(auth, "/sts/aws4_request") {
				t.Errorf("Authorization = %q, want a SigV4 signature for sts by the configured key", auth)
			}

			if !cred.Expires.Equal(expiry) || cred.KeyID != fakeKeyID {
				t.Errorf("Expires, KeyID = %v, %q; want %v, %q", cred.Expires, cred.KeyID, expiry, fakeKeyID)
			}
			got, err := json.Marshal(cred.Body)
			if err != nil {
				t.Fatal(err)
			}
			var gotBody, wantBody any
			if err := json.Unmarshal(got, &gotBody); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.wantBody), &wantBody); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantBody, gotBody); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIssueRefusesBeforeCallingSTS(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*policy.Decision)
		wantErr error
	}{
		{"policy too large", func(r *policy.Decision) {
			r.Prefixes = nil
			for i := range 60 {
				r.Prefixes = append(r.Prefixes, fmt.Sprintf("groups/group-%03d/", i))
			}
		}, vend.ErrPolicyTooLarge},
		{"wildcard prefix", func(r *policy.Decision) { r.Prefixes = []string{"*/"} }, nil},
		{"no prefixes", func(r *policy.Decision) { r.Prefixes = nil }, nil},
		{"duration under the STS minimum", func(r *policy.Decision) { r.Duration = 10 * time.Minute }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts := newFakeSTS(t, testNow.Add(time.Hour))
			p := newTestProvider(t, sts.srv.URL, "")
			req := aliceRequest()
			tt.mutate(&req)
			_, err := p.Issue(t.Context(), req)
			if err == nil {
				t.Fatal("Issue succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if n := len(sts.calls()); n != 0 {
				t.Errorf("STS was called %d times", n)
			}
		})
	}
}

func TestNewRequiresRole(t *testing.T) {
	_, err := New(t.Context(), Config{Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	if err == nil {
		t.Fatal("New without RoleARN succeeded")
	}
}

// TestNewDefaultChainWithCABundle: hub admins behind a corporate CA set
// AWS_CA_BUNDLE; the SDK can only apply it to its own buildable client, so
// New must not hand the default chain a plain *http.Client.
func TestNewDefaultChainWithCABundle(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err != nil {
		t.Skip("no system CA bundle on this machine")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "example-secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	if _, err := New(t.Context(), Config{RoleARN: "arn:aws:iam::000000000000:role/x"}); err != nil {
		t.Fatalf("New with the default chain and AWS_CA_BUNDLE: %v", err)
	}
}
