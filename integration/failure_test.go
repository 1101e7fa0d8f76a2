package integration

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/app"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/testenv/stack"
)

func keyID(r apiResp) string {
	c, _ := r.Body["credentials"].(map[string]any)
	k, _ := c["access_key_id"].(string)
	return k
}

// restartAfter restarts a stopped peer when the test ends.
func restartAfter(t *testing.T, start func(context.Context) error) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := start(ctx); err != nil {
			t.Errorf("restart peer: %v", err)
		}
	})
}

// TestHubDown stops the real hub: identities credserver has cached keep
// working (within their TTL); a token it has never seen gets 503 with
// Retry-After and issues nothing.
func TestHubDown(t *testing.T) {
	s := sharedStack(t)
	ctx := context.Background()
	warm := call(t, s.URL+"/v1/credentials/scratch", "token "+s.Tokens["carol"])
	if warm.Status != 200 {
		t.Fatalf("warm-up: %d %s", warm.Status, warm.Raw)
	}
	fresh, err := s.Hub.Token(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Hub.Stop(); err != nil {
		t.Fatal(err)
	}
	restartAfter(t, s.Hub.Start)

	cached := call(t, s.URL+"/v1/credentials/scratch", "token "+s.Tokens["carol"])
	if cached.Status != 200 || keyID(cached) != keyID(warm) {
		t.Errorf("cached identity with the hub down: %d %s", cached.Status, cached.Raw)
	}
	sts0 := stsCalls.Count()
	r := call(t, s.URL+"/v1/credentials/scratch", "token "+fresh)
	if r.Status != 503 || errCode(r) != "hub_unavailable" || r.Header.Get("Retry-After") == "" {
		t.Errorf("new token with the hub down: %d %s Retry-After=%q", r.Status, r.Raw, r.Header.Get("Retry-After"))
	}
	if stsCalls.Count() != sts0 {
		t.Error("an unauthenticated request reached STS")
	}
}

// TestSTSDown stops the real MinIO: still-valid cached credentials are
// served; new ones get 502 with a reason, and the failure is not cached.
func TestSTSDown(t *testing.T) {
	s := sharedStack(t)
	warm := call(t, s.URL+"/v1/credentials/scratch", "token "+s.Tokens["alice2"])
	if warm.Status != 200 {
		t.Fatalf("warm-up: %d %s", warm.Status, warm.Raw)
	}
	if err := s.MinIO.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = s.MinIO.Start(context.Background())
		}
	})
	cached := call(t, s.URL+"/v1/credentials/scratch", "token "+s.Tokens["alice2"])
	if cached.Status != 200 || keyID(cached) != keyID(warm) {
		t.Errorf("cached credential with STS down: %d %s", cached.Status, cached.Raw)
	}
	r := call(t, s.URL+"/v1/credentials/scratch-ro", "token "+s.Tokens["alice2"])
	if r.Status != 502 || errCode(r) != "upstream_error" {
		t.Fatalf("new credential with STS down: %d %s", r.Status, r.Raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.MinIO.Start(ctx); err != nil {
		t.Fatal(err)
	}
	restarted = true
	if r := call(t, s.URL+"/v1/credentials/scratch-ro", "token "+s.Tokens["alice2"]); r.Status != 200 {
		t.Errorf("after STS is back: %d %s (a failure was cached?)", r.Status, r.Raw)
	}
}

// TestHungUpstreams freezes the real hub, then the real MinIO (SIGSTOP: the
// port accepts connections, nothing answers). Requests end at their
// deadlines with 503 / 502 instead of hanging.
func TestHungUpstreams(t *testing.T) {
	s := sharedStack(t)
	cfg, err := config.Load(s.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := app.Build(context.Background(), cfg, app.Options{
		AWSCredentials: rootCreds(s), HubTimeout: 500 * time.Millisecond, RequestTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	url := ts.URL + stack.BasePath + "/v1/credentials/scratch"

	bounded := func(name, token string, wantStatus int, wantCode string) {
		t.Helper()
		done := make(chan apiResp, 1)
		go func() { r, _ := tryCall(url, "token "+token); done <- r }()
		select {
		case r := <-done:
			if r.Status != wantStatus || errCode(r) != wantCode {
				t.Errorf("%s: %d %s, want %d %s", name, r.Status, r.Raw, wantStatus, wantCode)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the request was not cut off at its deadline", name)
		}
	}

	if err := s.Hub.Pause(); err != nil {
		t.Fatal(err)
	}
	bounded("hung hub", s.Tokens["bob"], 503, "hub_unavailable")
	if err := s.Hub.Resume(); err != nil {
		t.Fatal(err)
	}

	if r := call(t, url, "token "+s.Tokens["bob"]); r.Status != 200 { // caches bob's identity
		t.Fatalf("after the hub resumed: %d %s", r.Status, r.Raw)
	}
	if err := s.MinIO.Pause(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.MinIO.Resume() })
	done := make(chan apiResp, 1)
	go func() {
		r, _ := tryCall(ts.URL+stack.BasePath+"/v1/credentials/scratch-ro", "token "+s.Tokens["bob"])
		done <- r
	}()
	select {
	case r := <-done:
		if r.Status != 504 || errCode(r) != "upstream_timeout" || r.Header.Get("Retry-After") == "" {
			t.Errorf("hung STS: %d %s, want 504 upstream_timeout with Retry-After", r.Status, r.Raw)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hung STS: the request was not cut off at its deadline")
	}
	if err := s.MinIO.Resume(); err != nil {
		t.Fatal(err)
	}
}
