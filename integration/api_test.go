package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/credserver/credserver/internal/app"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/testenv/stack"
)

type apiResp struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func call(t *testing.T, url, authz string) apiResp {
	t.Helper()
	r, err := tryCall(url, authz)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryCall is call for goroutines other than the test's, which must not
// call t.Fatal: a transport failure comes back as Status 0 and the error.
func tryCall(url, authz string) (apiResp, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return apiResp{}, err
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return apiResp{Raw: err.Error()}, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := apiResp{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r, nil
}

func errCode(r apiResp) string {
	e, _ := r.Body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestBadInputIssuesNothing(t *testing.T) {
	s := sharedStack(t)
	tok := func(u string) string { return "token " + s.Tokens[u] }
	tests := []struct {
		name, path, authz string
		status            int
		code              string
	}{
		{"no header", "/v1/credentials/scratch", "", 401, "missing_token"},
		{"garbage token", "/v1/credentials/scratch", "token 0123456789abcdef", 401, "invalid_token"},
		{"wrong scheme", "/v1/credentials/scratch", "Basic " + s.Tokens["alice"], 401, "missing_token"},
		{"token in query only", "/v1/credentials/scratch?token=" + s.Tokens["alice"], "", 401, "missing_token"},
		{"unknown grant", "/v1/credentials/nope", tok("alice"), 404, "unknown_grant"},
		{"group grant, not a member", "/v1/credentials/shared", tok("bob"), 403, "not_allowed"},
		{"access above the grant", "/v1/credentials/scratch-ro?access=readwrite", tok("alice"), 400, "bad_request"},
		{"unknown access", "/v1/credentials/scratch?access=admin", tok("alice"), 400, "bad_request"},
		{"duration above max", "/v1/credentials/scratch?duration=13h", tok("alice"), 400, "bad_request"},
		{"duration below STS minimum", "/v1/credentials/scratch?duration=60", tok("alice"), 400, "bad_request"},
		{"duration garbage", "/v1/credentials/scratch?duration=forever", tok("alice"), 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := stsCalls.Count()
			r := call(t, s.URL+tt.path, tt.authz)
			if r.Status != tt.status || errCode(r) != tt.code {
				t.Fatalf("got %d %q, want %d %q: %s", r.Status, errCode(r), tt.status, tt.code, r.Raw)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Error("no Cache-Control: no-store")
			}
			if n := stsCalls.Count() - before; n != 0 {
				t.Errorf("a refused request made %d STS calls", n)
			}
			if strings.Contains(r.Raw, s.Tokens["alice"]) {
				t.Error("the response echoes the token")
			}
		})
	}
	// The hub's answer for a token it does not know is cached briefly, but a
	// wrong token never becomes a right one.
	if r := call(t, s.URL+"/v1/credentials/scratch", "token 0123456789abcdef"); r.Status != 401 {
		t.Errorf("second garbage-token request = %d", r.Status)
	}
	if strings.Contains(s.Logs(), s.Tokens["alice"]) || strings.Contains(s.Audit(), s.Tokens["alice"]) {
		t.Error("a token reached the logs or the audit trail")
	}
}

func TestGroupGrant(t *testing.T) {
	s := sharedStack(t)
	r := call(t, s.URL+"/v1/credentials/shared", "token "+s.Tokens["alice"])
	if r.Status != 200 {
		t.Fatalf("alice (staff) shared = %d: %s", r.Status, r.Raw)
	}
	if r.Body["url"] != "s3://hub-shared/" || r.Body["provider"] != "aws" {
		t.Errorf("body = %v", r.Body)
	}
	w := call(t, s.URL+"/v1/whoami", "token "+s.Tokens["alice"])
	if w.Status != 200 || !strings.Contains(w.Raw, `"staff"`) || !strings.Contains(w.Raw, `"shared"`) {
		t.Errorf("whoami = %d %s", w.Status, w.Raw)
	}
}

// TestColdStampede: a Dask cluster of 1,000 workers asking at once costs one
// hub call and one STS call.
func TestColdStampede(t *testing.T) {
	s := sharedStack(t)
	const n = 1000
	url, authz := s.URL+"/v1/credentials/scratch", "token "+s.Tokens["dask"]
	hub0, sts0 := hubCalls.Count(), stsCalls.Count()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}, Timeout: 60 * time.Second}
	var wg sync.WaitGroup
	start := make(chan struct{})
	keys := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", authz)
			resp, err := client.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			var body struct {
				Credentials struct {
					AccessKeyID string `json:"access_key_id"`
				} `json:"credentials"`
			}
			if resp.StatusCode != 200 {
				errs[i] = fmt.Errorf("status %d", resp.StatusCode)
				return
			}
			errs[i] = json.NewDecoder(resp.Body).Decode(&body)
			keys[i] = body.Credentials.AccessKeyID
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if keys[i] == "" || keys[i] != keys[0] {
			t.Fatalf("request %d got key %q, request 0 got %q", i, keys[i], keys[0])
		}
	}
	if got := hubCalls.Count() - hub0; got != 1 {
		t.Errorf("hub calls = %d, want 1", got)
	}
	if got := stsCalls.Count() - sts0; got != 1 {
		t.Errorf("STS calls = %d, want 1", got)
	}
}

// TestSTSErrors: the real MinIO refuses an AssumeRole signed with unknown
// keys, and then is unreachable; both are 502 with a reason, nothing cached.
func TestSTSErrors(t *testing.T) {
	s := sharedStack(t)
	cfg, err := config.Load(s.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := app.Build(context.Background(), cfg, app.Options{
		AWSCredentials: credentials.NewStaticCredentialsProvider("NOSUCHKEY", "wrong-secret-value", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	url := ts.URL + stack.BasePath + "/v1/credentials/scratch"
	r := call(t, url, "token "+s.Tokens["bob"])
	if r.Status != 502 || errCode(r) != "upstream_error" {
		t.Fatalf("refused AssumeRole: %d %s", r.Status, r.Raw)
	}
	msg := r.Body["error"].(map[string]any)["message"].(string)
	if !strings.Contains(msg, "sts") || len(msg) < 20 || strings.Contains(msg, "wrong-secret-value") {
		t.Errorf("message %q should name STS and its reason, and no secret", msg)
	}
	t.Logf("STS refusal as the client sees it: %s", msg)

	// Unreachable STS: point a provider at a closed port.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	for name, p := range cfg.Providers {
		p.STSEndpoint = dead.URL
		cfg.Providers[name] = p
	}
	srv2, err := app.Build(context.Background(), cfg, app.Options{
		AWSCredentials: credentials.NewStaticCredentialsProvider(s.MinIO.RootUser, s.MinIO.RootPassword, ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts2 := httptest.NewServer(srv2.Handler())
	t.Cleanup(ts2.Close)
	r = call(t, ts2.URL+stack.BasePath+"/v1/credentials/scratch", "token "+s.Tokens["bob"])
	if r.Status != 502 || errCode(r) != "upstream_error" {
		t.Errorf("unreachable STS: %d %s", r.Status, r.Raw)
	}
}
