package azure

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"github.com/credserver/credserver/internal/policy"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/vend"
)

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 500_000_000, time.UTC)

// testKey is a made-up account key (base64 of 64 bytes).
var testKey = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("credserver-test-key-", 4)[:64]))

// writeKey writes key to a file the way admins do: with a trailing newline.
func writeKey(t *testing.T, key string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "account-key")
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newTestProvider(t *testing.T, cfg Config) *Provider {
	t.Helper()
	if cfg.AccountName == "" {
		cfg.AccountName = "hubdata"
	}
	if cfg.AccountKeyFile == "" {
		cfg.AccountKeyFile = writeKey(t, testKey)
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// documentedSignature computes a service SAS signature from the
// string-to-sign Microsoft documents for versions 2020-12-06 and later
// ("Create a service SAS"), independently of the SDK: permissions, start,
// expiry, canonicalized resource, identifier, IP, protocol, version,
// resource, snapshot time, encryption scope and the five response headers.
func documentedSignature(t *testing.T, key, resource string, q url.Values) string {
	t.Helper()
	stringToSign := strings.Join([]string{
		q.Get("sp"), q.Get("st"), q.Get("se"), resource, q.Get("si"), q.Get("sip"), q.Get("spr"),
		q.Get("sv"), q.Get("sr"), "", q.Get("ses"),
		q.Get("rscc"), q.Get("rscd"), q.Get("rsce"), q.Get("rscl"), q.Get("rsct"),
	}, "\n")
	k, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, k)
	mac.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestIssueSignsDocumentedSAS(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		req      policy.Decision
		resource string            // the canonicalized resource Azure will check
		want     map[string]string // SAS parameters other than sig, st, se, sv
		wantURL  string
	}{
		{
			name:     "per-user container, readwrite",
			req:      policy.Decision{Grant: "blob-scratch", Access: policy.AccessReadWrite, Bucket: "scratch-alice", Prefixes: []string{""}},
			resource: "/blob/hubdata/scratch-alice",
			want:     map[string]string{"sr": "c", "sp": "racwdl", "spr": "https"},
			wantURL:  "abfs://scratch-alice/",
		},
		{
			name:     "per-user container, read",
			req:      policy.Decision{Grant: "blob-scratch", Access: policy.AccessRead, Bucket: "scratch-alice", Prefixes: []string{""}},
			resource: "/blob/hubdata/scratch-alice",
			want:     map[string]string{"sr": "c", "sp": "rl", "spr": "https"},
			wantURL:  "abfs://scratch-alice/",
		},
		{
			name:     "directory on a hierarchical namespace",
			cfg:      Config{HierarchicalNamespace: true},
			req:      policy.Decision{Grant: "lake", Access: policy.AccessReadWrite, Bucket: "shared", Prefixes: []string{"star%2Auser/"}, Location: "abfs://shared/star%2Auser/"},
			resource: "/blob/hubdata/shared/star%2Auser",
			want:     map[string]string{"sr": "d", "sdd": "1", "sp": "racwdl", "spr": "https"},
			wantURL:  "abfs://shared/star%2Auser/",
		},
		{
			name:     "nested directory, read",
			cfg:      Config{HierarchicalNamespace: true},
			req:      policy.Decision{Grant: "lake", Access: policy.AccessRead, Bucket: "shared", Prefixes: []string{"groups/geo/"}},
			resource: "/blob/hubdata/shared/groups/geo",
			want:     map[string]string{"sr": "d", "sdd": "2", "sp": "rl", "spr": "https"},
			wantURL:  "abfs://shared/groups/geo/",
		},
		{
			name:     "plain HTTP endpoint (Azurite)",
			cfg:      Config{BlobEndpoint: "http://127.0.0.1:10000/hubdata/"},
			req:      policy.Decision{Grant: "blob-scratch", Access: policy.AccessRead, Bucket: "scratch-alice", Prefixes: []string{""}},
			resource: "/blob/hubdata/scratch-alice",
			want:     map[string]string{"sr": "c", "sp": "rl", "spr": "https,http"},
			wantURL:  "abfs://scratch-alice/",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProvider(t, tt.cfg)
			tt.req.Duration = time.Hour
			cred, err := p.Issue(t.Context(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			b := cred.Body.(*Body)
			q, err := url.ParseQuery(b.SASToken)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := q.Get("sig"), documentedSignature(t, testKey, tt.resource, q); got != want {
				t.Errorf("sig = %s, want %s from the documented string-to-sign over %s", got, want, tt.resource)
			}
			got := map[string]string{}
			for k := range q {
				switch k {
				case "sig", "sv":
				default:
					got[k] = q.Get(k)
				}
			}
			want := map[string]string{"st": "2025-03-01T11:55:00Z", "se": "2025-03-01T13:00:00Z"}
			for k, v := range tt.want {
				want[k] = v
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("SAS parameters (-want +got):\n%s", diff)
			}
			if q.Get("sv") < "2020-12-06" {
				t.Errorf("sv = %q, older than the documented string-to-sign", q.Get("sv"))
			}
			wantEndpoint := "https://hubdata.blob.core.windows.net"
			if tt.cfg.BlobEndpoint != "" {
				wantEndpoint = strings.TrimRight(tt.cfg.BlobEndpoint, "/")
			}
			wantBody := &Body{
				Grant: tt.req.Grant, Provider: "azure", ExpiresAt: "2025-03-01T13:00:00Z", SASToken: b.SASToken,
				AccountName: "hubdata", AccountURL: wantEndpoint, Container: tt.req.Bucket, Prefix: tt.req.Prefixes[0], URL: tt.wantURL,
			}
			if diff := cmp.Diff(wantBody, b); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			sum := sha256.Sum256([]byte(q.Get("sig")))
			if want := "sha256:" + hex.EncodeToString(sum[:8]); cred.KeyID != want {
				t.Errorf("KeyID = %q, want %q (a hash prefix of the signature)", cred.KeyID, want)
			}
			if want := time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC); !cred.Expires.Equal(want) {
				t.Errorf("Expires = %v, want %v (the SAS's se)", cred.Expires, want)
			}
		})
	}
}

func TestIssueRefuses(t *testing.T) {
	ok := policy.Decision{Grant: "g", Access: policy.AccessRead, Duration: time.Hour, Bucket: "scratch-alice", Prefixes: []string{"alice/"}}
	tests := []struct {
		name    string
		hns     bool
		mutate  func(*policy.Decision)
		wantErr error
	}{
		{"prefix on a flat namespace", false, func(*policy.Decision) {}, errInvalidScope},
		{"several prefixes", true, func(r *policy.Decision) { r.Prefixes = []string{"groups/a/", "groups/b/"} }, vend.ErrPolicyTooLarge},
		{"no prefix", true, func(r *policy.Decision) { r.Prefixes = nil }, errInvalidScope},
		{"dot-dot segment", true, func(r *policy.Decision) { r.Prefixes = []string{"alice/../bob/"} }, errInvalidScope},
		{"empty segment", true, func(r *policy.Decision) { r.Prefixes = []string{"alice//"} }, errInvalidScope},
		{"backslash", true, func(r *policy.Decision) { r.Prefixes = []string{`alice\bob/`} }, errInvalidScope},
		{"no trailing slash", true, func(r *policy.Decision) { r.Prefixes = []string{"alice"} }, errInvalidScope},
		{"uppercase container", true, func(r *policy.Decision) { r.Bucket = "Scratch-alice" }, errInvalidScope},
		{"double hyphen", true, func(r *policy.Decision) { r.Bucket = "scratch--alice" }, errInvalidScope},
		{"trailing hyphen", true, func(r *policy.Decision) { r.Bucket = "scratch-" }, errInvalidScope},
		{"short container", true, func(r *policy.Decision) { r.Bucket = "ab" }, errInvalidScope},
		{"unknown access", true, func(r *policy.Decision) { r.Access = policy.Access(9) }, errInvalidScope},
		{"no duration", true, func(r *policy.Decision) { r.Duration = 0 }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			azure := newFakeAzure(t)
			p := newTestProvider(t, Config{HierarchicalNamespace: tt.hns, BlobEndpoint: azure.srv.URL + "/hubdata"})
			req := ok
			req.Create = true
			tt.mutate(&req)
			cred, err := p.Issue(t.Context(), req)
			if err == nil {
				t.Fatalf("Issue = %+v, want an error", cred.Body)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if n := azure.count(); n != 0 {
				t.Errorf("Azure was called %d times", n)
			}
		})
	}
}

func TestNewKeyFile(t *testing.T) {
	const notBase64 = "this is not base64 but a secret!"
	tests := []struct {
		name, keyFile string
	}{
		{"missing file", filepath.Join(t.TempDir(), "missing")},
		{"not base64", writeKey(t, notBase64)},
		{"empty", writeKey(t, "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{AccountName: "hubdata", AccountKeyFile: tt.keyFile})
			if err == nil {
				t.Fatal("New succeeded")
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error quotes the key file: %v", err)
			}
		})
	}
}
