package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/vend"
)

const testConfig = `
listen: 127.0.0.1:0
base_path: /services/credserver
hub:
  api_url: http://127.0.0.1:1/hub/api
providers:
  s3:
    type: aws
    region: us-east-1
    role_arn: arn:aws:iam::123456789012:role/hub-users
grants:
  - name: scratch
    provider: s3
    bucket: hub-scratch
    prefix: "{user}/"
    access: readwrite
    max_duration: 12h
    allow: {users: ["*"]}
  - name: shared
    provider: s3
    bucket: hub-shared
    prefix: ""
    access: read
    allow: {groups: [staff]}
`

// Authenticator is auth.Authenticator, named here for the fixture.
type Authenticator = auth.Authenticator

// fakeAuth maps tokens to identities or errors.
type fakeAuth map[string]any

func (f fakeAuth) Authenticate(_ context.Context, tok string) (auth.Identity, error) {
	switch v := f[tok].(type) {
	case auth.Identity:
		return v, nil
	case error:
		return auth.Identity{}, v
	}
	return auth.Identity{}, auth.ErrInvalidToken
}

// fakeProvider issues credentials that name the request, or fails with err.
type fakeProvider struct {
	mu   sync.Mutex
	reqs []vend.Request
	err  error
}

const fakeSecret = "SECRET-wJalrXUtnFEMI-K7MDENG"

func (p *fakeProvider) Issue(_ context.Context, req vend.Request) (*vend.Credentials, error) {
	p.mu.Lock()
	p.reqs = append(p.reqs, req)
	p.mu.Unlock()
	if p.err != nil {
		return nil, p.err
	}
	exp := time.Now().Add(req.Duration).UTC()
	return &vend.Credentials{Expires: exp, KeyID: "AKIAFAKE", Body: map[string]any{
		"grant": req.Grant, "provider": "aws", "expires_at": exp.Format(time.RFC3339),
		"url": req.Location, "credentials": map[string]string{"access_key_id": "AKIAFAKE", "secret_access_key": fakeSecret},
	}}, nil
}

type fixture struct {
	srv   *Server
	prov  *fakeProvider
	audit *bytes.Buffer
	logs  *bytes.Buffer
}

func newFixture(t testing.TB, a Authenticator, opts ...func(*Deps)) *fixture {
	return newFixtureOpts(t, a, Options{ServeMetrics: true}, opts...)
}

func newFixtureOpts(t testing.TB, a Authenticator, sopts Options, opts ...func(*Deps)) *fixture {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	pol, err := policy.Compile(cfg)
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	f := &fixture{prov: &fakeProvider{}, audit: &bytes.Buffer{}, logs: &bytes.Buffer{}}
	deps := Deps{
		Auth: a, Policy: pol,
		Providers: map[string]vend.Provider{"s3": f.prov},
		Cache:     vend.NewCache(vend.CacheConfig{}),
		Audit:     &lockedBuffer{b: f.audit},
		Logger:    newTestLogger(f.logs),
	}
	for _, o := range opts {
		o(&deps)
	}
	sopts.BasePath, sopts.Version = cfg.BasePath, "test"
	f.srv, err = New(sopts, deps)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) do(method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec
}

var (
	alice = auth.Identity{Name: "alice", Groups: []string{"staff"}}
	bob   = auth.Identity{Name: "bob"}
)

func defaultAuth() fakeAuth {
	return fakeAuth{
		"tok-alice": alice,
		"tok-bob":   bob,
		"tok-svc":   fmt.Errorf("%w: the token belongs to a service, not a user", auth.ErrForbidden),
		"tok-other": fmt.Errorf("%w: the token lacks the scope access:services!service=credserver", auth.ErrNotForService),
		"tok-down":  fmt.Errorf("%w: dial tcp: connection refused", auth.ErrHubUnavailable),
		"tok-404":   fmt.Errorf("%w: hub answered 404", auth.ErrHubMisconfigured),
	}
}

func TestErrorMapping(t *testing.T) {
	const base = "/services/credserver"
	tests := []struct {
		name       string
		target     string
		authz      string
		wantStatus int
		wantCode   string
	}{
		{"no header", base + "/v1/credentials/scratch", "", 401, "missing_token"},
		{"garbage header", base + "/v1/credentials/scratch", "Basic Zm9vOmJhcg==", 401, "missing_token"},
		{"token in query only", base + "/v1/credentials/scratch?token=tok-alice", "", 401, "missing_token"},
		{"bad token", base + "/v1/credentials/scratch", "token nope", 401, "invalid_token"},
		{"service token", base + "/v1/credentials/scratch", "token tok-svc", 403, "forbidden"},
		{"token for another client", base + "/v1/credentials/scratch", "token tok-other", 403, "token_not_for_credserver"},
		{"hub down", base + "/v1/credentials/scratch", "token tok-down", 503, "hub_unavailable"},
		{"hub misconfigured", base + "/v1/whoami", "token tok-404", 502, "hub_misconfigured"},
		{"unknown grant", base + "/v1/credentials/nope", "token tok-alice", 404, "unknown_grant"},
		{"group not allowed", base + "/v1/credentials/shared", "token tok-bob", 403, "not_allowed"},
		{"access above grant", base + "/v1/credentials/shared?access=readwrite", "token tok-alice", 400, "bad_request"},
		{"access garbage", base + "/v1/credentials/scratch?access=write", "token tok-alice", 400, "bad_request"},
		{"duration over max", base + "/v1/credentials/scratch?duration=13h", "token tok-alice", 400, "bad_request"},
		{"duration garbage", base + "/v1/credentials/scratch?duration=soon", "token tok-alice", 400, "bad_request"},
		{"duration negative", base + "/v1/credentials/scratch?duration=-5", "token tok-alice", 400, "bad_request"},
		{"duration twice", base + "/v1/credentials/scratch?duration=1h&duration=2h", "token tok-alice", 400, "bad_request"},
		{"no such route", base + "/v2/nothing", "", 404, "not_found"},
		{"outside base path", "/v1/credentials/scratch", "token tok-alice", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, defaultAuth())
			hdr := map[string]string{}
			if tt.authz != "" {
				hdr["Authorization"] = tt.authz
			}
			rec := f.do("GET", tt.target, hdr)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			var body errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("error body is not JSON: %v: %s", err, rec.Body)
			}
			if body.Error.Code != tt.wantCode || body.Error.Message == "" {
				t.Errorf("error = %+v, want code %q and a message", body.Error, tt.wantCode)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
			if tt.wantStatus == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if tt.wantStatus == 503 && rec.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if n := len(f.prov.reqs); n != 0 {
				t.Errorf("bad request reached the provider %d times", n)
			}
		})
	}
}

func TestUpstreamErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantInMsg  string
		notInMsg   string
	}{
		{"sts refused", &vend.UpstreamError{Upstream: "sts", Status: 403, Code: "AccessDenied", Reason: "not authorized to perform sts:AssumeRole", Err: errors.New("arn:aws:iam::123456789012:role/x")},
			502, "upstream_error", "not authorized to perform sts:AssumeRole", "123456789012"},
		{"policy too large", fmt.Errorf("%w: 2300 bytes, the limit is 2048", vend.ErrPolicyTooLarge), 400, "policy_too_large", "2048", ""},
		{"unexpected", errors.New("secret internal detail " + fakeSecret), 500, "internal", "internal error", fakeSecret},
		{"upstream past the deadline", fmt.Errorf("waiting for sts: %w", context.DeadlineExceeded), 504, "upstream_timeout", "did not answer in time", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, defaultAuth())
			f.prov.err = tt.err
			rec := f.do("GET", "/services/credserver/v1/credentials/scratch", map[string]string{"Authorization": "token tok-alice"})
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			var body errorBody
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if body.Error.Code != tt.wantCode || !strings.Contains(body.Error.Message, tt.wantInMsg) {
				t.Errorf("error = %+v", body.Error)
			}
			if tt.notInMsg != "" && strings.Contains(rec.Body.String(), tt.notInMsg) {
				t.Errorf("body leaks %q: %s", tt.notInMsg, rec.Body)
			}
			// Failures are never cached: a second call reaches the provider again.
			f.do("GET", "/services/credserver/v1/credentials/scratch", map[string]string{"Authorization": "token tok-alice"})
			if n := len(f.prov.reqs); n != 2 {
				t.Errorf("provider called %d times for two failing requests, want 2", n)
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	f := newFixture(t, defaultAuth())
	hdr := map[string]string{"Authorization": "Bearer tok-alice"}
	rec := f.do("GET", "/services/credserver/v1/credentials/scratch?access=read&duration=7200", hdr)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	want := vend.Request{User: "alice", Grant: "scratch", Access: "read", Duration: 2 * time.Hour,
		Bucket: "hub-scratch", Prefixes: []string{"alice/"}, Location: "s3://hub-scratch/alice/"}
	if diff := cmp.Diff([]vend.Request{want}, f.prov.reqs); diff != "" {
		t.Errorf("provider request (-want +got):\n%s", diff)
	}
	// The same request again is served from the cache.
	f.do("GET", "/services/credserver/v1/credentials/scratch?access=read&duration=2h", hdr)
	if n := len(f.prov.reqs); n != 1 {
		t.Errorf("provider called %d times, want 1 (second request cached)", n)
	}
	// Defaults: the grant's access and default duration.
	f.do("GET", "/services/credserver/v1/credentials/scratch", hdr)
	if got := f.prov.reqs[len(f.prov.reqs)-1]; got.Access != "readwrite" || got.Duration != time.Hour {
		t.Errorf("defaults: access %q duration %v, want readwrite 1h", got.Access, got.Duration)
	}

	lines := strings.Split(strings.TrimSpace(f.audit.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("audit lines = %d, want 3:\n%s", len(lines), f.audit)
	}
	var ev auditEvent
	if err := json.Unmarshal([]byte(lines[1]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Event != "issued" || ev.User != "alice" || ev.Grant != "scratch" || !ev.CacheHit ||
		ev.AccessKeyID != "AKIAFAKE" || ev.Location != "s3://hub-scratch/alice/" || ev.RequestID == "" {
		t.Errorf("audit event = %+v", ev)
	}
	if strings.Contains(f.audit.String(), fakeSecret) || strings.Contains(f.logs.String(), fakeSecret) {
		t.Error("a secret reached the audit trail or the logs")
	}
	if strings.Contains(f.logs.String(), "tok-alice") || strings.Contains(f.audit.String(), "tok-alice") {
		t.Error("a token reached the audit trail or the logs")
	}
}

func TestWhoami(t *testing.T) {
	f := newFixture(t, defaultAuth())
	rec := f.do("GET", "/services/credserver/v1/whoami", map[string]string{"Authorization": "token tok-alice"})
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var got whoamiBody
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := whoamiBody{User: "alice", Groups: []string{"staff"}, Grants: []whoamiGrant{
		{Name: "scratch", Provider: "aws", Access: "readwrite", Location: "s3://hub-scratch/alice/", MaxDuration: "12h"},
		{Name: "shared", Provider: "aws", Access: "read", Location: "s3://hub-shared/", MaxDuration: "12h"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("whoami (-want +got):\n%s", diff)
	}
	// bob is in no group: the shared grant is not listed.
	rec = f.do("GET", "/services/credserver/v1/whoami", map[string]string{"Authorization": "token tok-bob"})
	if strings.Contains(rec.Body.String(), `"shared"`) {
		t.Errorf("bob sees the staff grant: %s", rec.Body)
	}
}

func TestUnauthenticatedRoutes(t *testing.T) {
	f := newFixture(t, defaultAuth())
	for _, path := range []string{"/services/credserver/", "/services/credserver", "/healthz", "/readyz", "/services/credserver/healthz"} {
		rec := f.do("GET", path, nil)
		if rec.Code != 200 {
			t.Errorf("GET %s = %d, want 200", path, rec.Code)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: no Cache-Control: no-store", path)
		}
	}
	rec := f.do("POST", "/services/credserver/v1/whoami", nil)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST whoami = %d, want 405", rec.Code)
	}
}

func TestBodyTooLarge(t *testing.T) {
	f := newFixture(t, defaultAuth())
	req := httptest.NewRequest("POST", "/services/credserver/v1/whoami", strings.NewReader(strings.Repeat("x", maxBodyBytes+1)))
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", rec.Code)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1h", time.Hour, true}, {"90m", 90 * time.Minute, true}, {"3600", time.Hour, true},
		{"0", 0, false}, {"-1", 0, false}, {"-1h", 0, false}, {"", 0, false}, {"1 h", 0, false},
		{"99999999999999999999", 0, false}, {"1e3", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzCredentialQuery(f *testing.F) {
	for _, s := range []string{"access=read", "duration=1h", "access=readwrite&duration=3600", "duration=%00", "access=read&access=read"} {
		f.Add(s)
	}
	fx := newFixture(f, defaultAuth())
	f.Fuzz(func(t *testing.T, q string) {
		rec := fx.do("GET", "/services/credserver/v1/credentials/scratch?"+strings.ReplaceAll(q, " ", "%20"), map[string]string{"Authorization": "token tok-alice"})
		switch rec.Code {
		case 200, 400:
		default:
			t.Fatalf("query %q: status %d: %s", q, rec.Code, rec.Body)
		}
	})
}
