package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/credserver/credserver/internal/config"
)

var ignoreLines = cmpopts.IgnoreUnexported(config.Config{})

func hours(h float64) config.Duration { return config.Duration(h * float64(time.Hour)) }

// TestLoadSample loads the example of DESIGN §7 and checks every field,
// defaults and lines included.
func TestLoadSample(t *testing.T) {
	cfg, err := config.Load("testdata/sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	all := config.Allow{Users: []string{"*"}}
	want := &config.Config{
		Listen:   "127.0.0.1:8080",
		BasePath: "/services/credserver",
		Hub: config.Hub{
			APIURL:        "http://127.0.0.1:8081/hub/api",
			CacheTTL:      config.Duration(time.Minute),
			RequireScopes: []string{},
			Timeout:       config.Duration(config.DefaultHubTimeout),
			ServiceName:   config.DefaultServiceName,
		},
		Web:            config.Web{OAuthRedirectURI: "/services/credserver" + config.DefaultOAuthCallback},
		Delegation:     config.Delegation{MaxLifetime: config.Duration(config.DefaultDelegationMaxLifetime)},
		RequestTimeout: config.Duration(config.DefaultRequestTimeout),
		Limits: config.Limits{UserRate: config.DefaultUserRate, UserBurst: config.DefaultUserBurst,
			AuthFailureRate: config.DefaultAuthFailureRate, AuthFailureBurst: config.DefaultAuthFailureBurst},
		Store: config.Store{Driver: "sqlite", DSN: "/var/lib/credserver/credserver.db", EncryptionKeyFile: "/etc/credserver/store.key"},
		Providers: map[string]config.Provider{
			"s3": {Type: "aws", Region: "us-east-1", RoleARN: "arn:aws:iam::123456789012:role/hub-users",
				STSEndpoint: "http://127.0.0.1:9000", S3Endpoint: "http://127.0.0.1:9000", Line: 12},
			"gcs": {Type: "gcs", CredentialsFile: "/etc/credserver/gcp-sa.json", Line: 18},
			"azure": {Type: "azure", AccountName: "hubdata", AccountKeyFile: "/etc/credserver/azure-account-key",
				BlobEndpoint: "https://hubdata.blob.core.windows.net", Line: 21},
			"github": {Type: "github", AppID: 123456, ClientID: "Iv1.0123456789abcdef",
				PrivateKeyFile: "/etc/credserver/github-app.pem", ClientSecretFile: "/etc/credserver/github-client-secret",
				APIURL: "https://api.github.com", WebURL: "https://github.com", Line: 27},
		},
		Grants: []config.Grant{
			{Name: "scratch", Provider: "s3", Bucket: "hub-scratch", Prefix: "{user}/", Access: "readwrite",
				DefaultDuration: hours(1), MaxDuration: hours(12), Allow: all, Line: 36},
			{Name: "shared", Provider: "s3", Bucket: "hub-shared", Access: "read",
				DefaultDuration: hours(1), MaxDuration: hours(12), Allow: config.Allow{Groups: []string{"staff"}}, Line: 44},
			{Name: "blob-scratch", Provider: "azure", Container: "scratch-{user}", Create: true, Access: "readwrite",
				DefaultDuration: hours(1), MaxDuration: hours(12), Allow: all, Line: 50},
			{Name: "github", Provider: "github", Mode: "user",
				DefaultDuration: hours(1), MaxDuration: hours(12), Allow: all, Line: 57},
			{Name: "course-repos", Provider: "github", Mode: "installation", Owner: "my-org",
				Repositories: []string{"course-*"}, Permissions: map[string]string{"contents": "write"},
				Allow: config.Allow{Groups: []string{"instructors"}}, When: `request.duration <= duration("1h")`,
				DefaultDuration: hours(1), MaxDuration: hours(12), Line: 61},
		},
	}
	if diff := cmp.Diff(want, cfg, ignoreLines); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}
}

// TestLoadValidFiles loads every config under testdata/valid: each is an
// example the project relies on and must keep loading.
func TestLoadValidFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no files in testdata/valid")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := config.Load(f); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := config.Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("hub: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(path)
	if err == nil || !strings.Contains(err.Error(), path+": line 1: hub.api_url is required") {
		t.Errorf("Load() error = %v, want the path and line", err)
	}
}

// TestDefaults checks what a minimal file gets.
func TestDefaults(t *testing.T) {
	in := `
hub: {api_url: "http://hub:8081/hub/api/"}
base_path: /
providers:
  gh: {type: github, client_id: abc}
  az: {type: azure, account_name: acct, account_key_file: /k, blob_endpoint: "http://127.0.0.1:10000/devstoreaccount1/"}
store: {encryption_key_file: /k}
grants:
  - {name: a, provider: az, container: 'c-{user}', allow: {users: [x]}}
  - {name: b, provider: az, container: shared, max_duration: 30m, allow: {users: [x]}}
  - {name: c, provider: gh, mode: user, allow: {users: [x]}}
`
	cfg, err := config.Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	got := struct {
		Listen, BasePath, APIURL, Driver string
		CacheTTL                         config.Duration
		Blob, GHAPI, GHWeb               string
		Access                           []string
		Default, Max                     []config.Duration
	}{
		Listen: cfg.Listen, BasePath: cfg.BasePath, APIURL: cfg.Hub.APIURL, Driver: cfg.Store.Driver,
		CacheTTL: cfg.Hub.CacheTTL, Blob: cfg.Providers["az"].BlobEndpoint,
		GHAPI: cfg.Providers["gh"].APIURL, GHWeb: cfg.Providers["gh"].WebURL,
	}
	for _, g := range cfg.Grants {
		got.Access = append(got.Access, g.Access)
		got.Default = append(got.Default, g.DefaultDuration)
		got.Max = append(got.Max, g.MaxDuration)
	}
	want := got
	want.Listen, want.BasePath, want.APIURL, want.Driver = "127.0.0.1:8080", "", "http://hub:8081/hub/api", "sqlite"
	want.CacheTTL = config.Duration(time.Minute)
	want.Blob = "http://127.0.0.1:10000/devstoreaccount1"
	want.GHAPI, want.GHWeb = "https://api.github.com", "https://github.com"
	want.Access = []string{"read", "read", ""}
	want.Default = []config.Duration{hours(1), hours(0.5), hours(1)}
	want.Max = []config.Duration{hours(12), hours(0.5), hours(12)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults mismatch (-want +got):\n%s", diff)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"1h", time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"3600", time.Hour, ""},
		{"0", 0, ""},
		{" 60s ", time.Minute, ""},
		{"-1", 0, "negative"},
		{"-1h", 0, "negative"},
		{"1.5", 0, "invalid duration"},
		{"1d", 0, "invalid duration"},
		{"", 0, "empty"},
		{"99999999999999999999", 0, "too long"},
		{"9223372037", 0, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := config.ParseDuration(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDuration(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDurationYAML(t *testing.T) {
	in := "hub: {api_url: 'http://h/', cache_ttl: 90}\n"
	cfg, err := config.Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(cfg.Hub.CacheTTL); got != 90*time.Second {
		t.Errorf("cache_ttl: 90 = %v, want 90s", got)
	}
}

func TestDurationString(t *testing.T) {
	for d, want := range map[time.Duration]string{
		12 * time.Hour: "12h", 90 * time.Minute: "1h30m", 15 * time.Minute: "15m",
		90 * time.Second: "1m30s", time.Hour + time.Second: "1h0m1s", 0: "0s",
	} {
		if got := config.Duration(d).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", time.Duration(d), got, want)
		}
	}
}
