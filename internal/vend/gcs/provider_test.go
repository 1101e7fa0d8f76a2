package gcs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/credserver/credserver/internal/policy"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/vend"
)

func aliceRequest() policy.Decision {
	return policy.Decision{
		User: "alice", Grant: "scratch", Access: policy.AccessReadWrite, Duration: time.Hour,
		Bucket: "hub-scratch", Prefixes: []string{"alice/"}, Location: "gs://hub-scratch/alice/",
	}
}

// TestIssue checks the exact token-exchange request Google's STS receives,
// boundary JSON included, and the body handed to the client.
func TestIssue(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*policy.Decision)
		// options is the exact "options" form value.
		options  string
		wantBody string
	}{
		{
			name: "readwrite",
			options: `{"accessBoundary":{"accessBoundaryRules":[{"availableResource":"//storage.googleapis.com/projects/_/buckets/hub-scratch",` +
				`"availablePermissions":["inRole:roles/storage.objectUser"],` +
				`"availabilityCondition":{"expression":"resource.name.startsWith('projects/_/buckets/hub-scratch/objects/alice/') || ` +
				`api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith('alice/')"}}]}}`,
			wantBody: `{"grant":"scratch","provider":"gcs","expires_at":"2025-03-01T13:00:00Z","access_token":"downscoped-1",
				"bucket":"hub-scratch","prefix":"alice/","url":"gs://hub-scratch/alice/"}`,
		},
		{
			name:   "read",
			mutate: func(r *policy.Decision) { r.Access = policy.AccessRead },
			options: `{"accessBoundary":{"accessBoundaryRules":[{"availableResource":"//storage.googleapis.com/projects/_/buckets/hub-scratch",` +
				`"availablePermissions":["inRole:roles/storage.objectViewer"],` +
				`"availabilityCondition":{"expression":"resource.name.startsWith('projects/_/buckets/hub-scratch/objects/alice/') || ` +
				`api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith('alice/')"}}]}}`,
			wantBody: `{"grant":"scratch","provider":"gcs","expires_at":"2025-03-01T13:00:00Z","access_token":"downscoped-1",
				"bucket":"hub-scratch","prefix":"alice/","url":"gs://hub-scratch/alice/"}`,
		},
		{
			name: "encoded username",
			mutate: func(r *policy.Decision) {
				r.User, r.Prefixes, r.Location = "star*user", []string{"star%2Auser/"}, "gs://hub-scratch/star%2Auser/"
			},
			options: `{"accessBoundary":{"accessBoundaryRules":[{"availableResource":"//storage.googleapis.com/projects/_/buckets/hub-scratch",` +
				`"availablePermissions":["inRole:roles/storage.objectUser"],` +
				`"availabilityCondition":{"expression":"resource.name.startsWith('projects/_/buckets/hub-scratch/objects/star%2Auser/') || ` +
				`api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith('star%2Auser/')"}}]}}`,
			wantBody: `{"grant":"scratch","provider":"gcs","expires_at":"2025-03-01T13:00:00Z","access_token":"downscoped-1",
				"bucket":"hub-scratch","prefix":"star%2Auser/","url":"gs://hub-scratch/star%2Auser/"}`,
		},
		{
			name: "multi-group grant, read",
			mutate: func(r *policy.Decision) {
				r.Grant, r.Access, r.Bucket = "team", policy.AccessRead, "hub-shared"
				r.Prefixes, r.Location = []string{"groups/geo/", "groups/ocean/"}, ""
			},
			options: `{"accessBoundary":{"accessBoundaryRules":[{"availableResource":"//storage.googleapis.com/projects/_/buckets/hub-shared",` +
				`"availablePermissions":["inRole:roles/storage.objectViewer"],` +
				`"availabilityCondition":{"expression":"resource.name.startsWith('projects/_/buckets/hub-shared/objects/groups/geo/') || ` +
				`api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith('groups/geo/') || ` +
				`resource.name.startsWith('projects/_/buckets/hub-shared/objects/groups/ocean/') || ` +
				`api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith('groups/ocean/')"}}]}}`,
			wantBody: `{"grant":"team","provider":"gcs","expires_at":"2025-03-01T13:00:00Z","access_token":"downscoped-1",
				"bucket":"hub-shared","prefix":"groups/geo/","prefixes":["groups/geo/","groups/ocean/"],"url":"gs://hub-shared/groups/geo/"}`,
		},
		{
			name: "whole bucket",
			mutate: func(r *policy.Decision) {
				r.Access, r.Prefixes, r.Location = policy.AccessRead, []string{""}, "gs://hub-scratch/"
			},
			options: `{"accessBoundary":{"accessBoundaryRules":[{"availableResource":"//storage.googleapis.com/projects/_/buckets/hub-scratch",` +
				`"availablePermissions":["inRole:roles/storage.objectViewer"]}]}}`,
			wantBody: `{"grant":"scratch","provider":"gcs","expires_at":"2025-03-01T13:00:00Z","access_token":"downscoped-1",
				"bucket":"hub-scratch","prefix":"","url":"gs://hub-scratch/"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts := newFakeSTS(t)
			p := newTestProvider(t, sts)
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
			want := url.Values{
				"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
				"subject_token":        {rootToken},
				"subject_token_type":   {"urn:ietf:params:oauth:token-type:access_token"},
				"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
				"options":              {tt.options},
			}
			if diff := cmp.Diff(want, calls[0]); diff != "" {
				t.Errorf("token exchange form (-want +got):\n%s", diff)
			}
			if !json.Valid([]byte(tt.options)) {
				t.Fatalf("test case options are not JSON: %s", tt.options)
			}
			if want := testNow.Add(time.Hour); !cred.Expires.Equal(want) {
				t.Errorf("Expires = %v, want %v (now + expires_in)", cred.Expires, want)
			}
			assertJSON(t, tt.wantBody, cred.Body)
			sum := sha256.Sum256([]byte("downscoped-1"))
			if want := "sha256:" + hex.EncodeToString(sum[:])[:16]; cred.KeyID != want {
				t.Errorf("KeyID = %q, want %q (a hash prefix, never the token)", cred.KeyID, want)
			}
		})
	}
}

func assertJSON(t *testing.T, want string, got any) {
	t.Helper()
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

// TestIssueExpiryFromRootToken: an exchange answer without expires_in
// (tokens derived from a user's token) lasts as long as the root token.
func TestIssueExpiryFromRootToken(t *testing.T) {
	sts := newFakeSTS(t)
	sts.reply = func(w http.ResponseWriter, _ url.Values) {
		writeJSON(w, http.StatusOK, map[string]any{"access_token": "no-lifetime", "token_type": "Bearer"})
	}
	cred, err := newTestProvider(t, sts).Issue(t.Context(), aliceRequest())
	if err != nil {
		t.Fatal(err)
	}
	if want := testNow.Add(50 * time.Minute); !cred.Expires.Equal(want) {
		t.Errorf("Expires = %v, want the root token's %v", cred.Expires, want)
	}
}

// TestCacheCoalesces: a hundred notebooks asking at once cost one exchange.
func TestCacheCoalesces(t *testing.T) {
	sts := newFakeSTS(t)
	sts.delay = 100 * time.Millisecond
	p := newTestProvider(t, sts)
	cache := vend.NewCache(vend.CacheConfig{Now: func() time.Time { return testNow }})
	req := aliceRequest()
	const n = 100
	var wg sync.WaitGroup
	tokens := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			cred, _, err := cache.Issue(t.Context(), p, req)
			if err != nil {
				errs[i] = err
				return
			}
			var body Body
			errs[i] = json.Unmarshal(cred.Body.(json.RawMessage), &body)
			tokens[i] = body.AccessToken
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if got := len(sts.calls()); got != 1 {
		t.Errorf("STS exchanges = %d, want 1", got)
	}
	for i, tok := range tokens {
		if tok != "downscoped-1" {
			t.Fatalf("caller %d got token %q, want the one exchanged", i, tok)
		}
	}
}

func TestIssueRefusesBeforeCallingSTS(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*policy.Decision)
	}{
		{"quote in prefix", func(r *policy.Decision) { r.Prefixes = []string{"a') || true || ('/"} }},
		{"backslash in prefix", func(r *policy.Decision) { r.Prefixes = []string{`a\'/`} }},
		{"no prefixes", func(r *policy.Decision) { r.Prefixes = nil }},
		{"bad access", func(r *policy.Decision) { r.Access = policy.Access(9) }},
		{"bucket with a quote", func(r *policy.Decision) { r.Bucket = "b'ucket" }},
		{"too many prefixes", func(r *policy.Decision) {
			r.Prefixes = nil
			for i := range 30 {
				r.Prefixes = append(r.Prefixes, fmt.Sprintf("groups/group-%03d/", i))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts := newFakeSTS(t)
			req := aliceRequest()
			tt.mutate(&req)
			if _, err := newTestProvider(t, sts).Issue(t.Context(), req); err == nil {
				t.Fatal("Issue succeeded")
			}
			if n := len(sts.calls()); n != 0 {
				t.Errorf("STS was called %d times", n)
			}
		})
	}
}
