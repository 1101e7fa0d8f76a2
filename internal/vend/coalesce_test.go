package vend

import (
	"context"
	"errors"
	"github.com/credserver/credserver/internal/policy"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCacheCoalescesConcurrentMisses(t *testing.T) {
	tests := []struct {
		name string
		// hold keeps the upstream call open so that every caller piles onto
		// it; 0 releases it at once, so that late callers race the end of
		// the flight and must find its result in the cache.
		hold time.Duration
	}{
		{"callers pile onto one flight", 50 * time.Millisecond},
		{"callers race the flight's end", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 5 {
				coalesceOnce(t, tt.hold)
			}
		})
	}
}

func coalesceOnce(t *testing.T, hold time.Duration) {
	t.Helper()
	const callers = 1000
	clock := newFakeClock()
	p := &countingProvider{clock: clock, gate: make(chan struct{})}
	c := newTestCache(clock, 0)
	req := testRequest()

	var started, done sync.WaitGroup
	started.Add(callers)
	done.Add(callers)
	creds := make([]*Credentials, callers)
	hits := make([]bool, callers)
	errs := make([]error, callers)
	for i := range callers {
		go func() {
			defer done.Done()
			started.Done()
			creds[i], hits[i], errs[i] = c.Issue(t.Context(), p, req)
		}()
	}
	started.Wait()
	time.Sleep(hold)
	close(p.gate)
	done.Wait()

	if got := p.calls.Load(); got != 1 {
		t.Fatalf("upstream calls = %d, want exactly 1", got)
	}
	misses := 0
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if creds[i] != creds[0] {
			t.Fatalf("caller %d got key %q, caller 0 got %q", i, creds[i].KeyID, creds[0].KeyID)
		}
		if !hits[i] {
			misses++
		}
	}
	if misses != 1 {
		t.Fatalf("%d callers reported a miss, want exactly the one that called upstream", misses)
	}
}

func TestCacheCancelledLeaderDoesNotFailOthers(t *testing.T) {
	clock := newFakeClock()
	p := &countingProvider{clock: clock, gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	c := newTestCache(clock, 0)
	req := testRequest()

	leaderCtx, cancel := context.WithCancel(t.Context())
	leaderErr := make(chan error, 1)
	go func() {
		_, _, err := c.Issue(leaderCtx, p, req)
		leaderErr <- err
	}()
	<-p.entered // the upstream call is under way
	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader err = %v, want context.Canceled", err)
	}

	type result struct {
		cred *Credentials
		err  error
	}
	follower := make(chan result, 1)
	go func() {
		cred, _, err := c.Issue(t.Context(), p, req)
		follower <- result{cred, err}
	}()
	time.Sleep(20 * time.Millisecond) // let the follower join the flight
	close(p.gate)
	r := <-follower
	if r.err != nil {
		t.Fatalf("follower err = %v, want the credential the leader's flight fetched", r.err)
	}
	if got := p.calls.Load(); got != 1 {
		t.Errorf("upstream calls = %d, want 1", got)
	}
	if p.noDeadline.Load() {
		t.Error("the detached upstream call had no deadline")
	}
}

func TestCacheCallerTimeoutReturnsPromptly(t *testing.T) {
	clock := newFakeClock()
	p := &countingProvider{clock: clock, gate: make(chan struct{})}
	t.Cleanup(func() { close(p.gate) })
	c := newTestCache(clock, 0)
	req := testRequest()

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := c.Issue(ctx, p, req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("Issue waited %v for a blocked upstream past its own deadline", waited)
	}
}

func TestKeySeparation(t *testing.T) {
	base := testRequest()
	tests := []struct {
		name   string
		mutate func(*policy.Decision)
	}{
		{"user", func(r *policy.Decision) { r.User = "bob" }},
		{"grant", func(r *policy.Decision) { r.Grant = "other" }},
		{"access", func(r *policy.Decision) { r.Access = policy.AccessRead }},
		{"provider", func(r *policy.Decision) { r.Provider = "s3-other" }},
		{"account re-created", func(r *policy.Decision) { r.Created = time.Unix(1700000000, 0) }},
		{"bucket", func(r *policy.Decision) { r.Bucket = "other" }},
		{"prefix moved", func(r *policy.Decision) { r.Prefixes = []string{"users/alice/"} }},
		{"prefix added", func(r *policy.Decision) { r.Prefixes = []string{"alice/", "shared/"} }},
		{"whole bucket", func(r *policy.Decision) { r.Prefixes = []string{""} }},
		{"no prefixes", func(r *policy.Decision) { r.Prefixes = nil }},
		// A separator inside a field must not shift the others.
		{"separator in user", func(r *policy.Decision) { r.User, r.Grant = "alice\x00scratch", "" }},
		{"separator in prefix", func(r *policy.Decision) { r.Prefixes = []string{"alice/\x00"} }},
		{"github scope added", func(r *policy.Decision) {
			r.GitHub = &policy.GitHubScope{Mode: policy.GitHubInstallation, Owner: "org"}
		}},
		{"github repos", func(r *policy.Decision) {
			r.GitHub = &policy.GitHubScope{Mode: policy.GitHubInstallation, Owner: "org", Repositories: []string{"course-1"}}
		}},
		{"github permissions", func(r *policy.Decision) {
			r.GitHub = &policy.GitHubScope{Mode: policy.GitHubInstallation, Owner: "org", Permissions: map[string]string{"contents": "write"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := base
			req.Prefixes = append([]string(nil), base.Prefixes...)
			tt.mutate(&req)
			if Key(req) == Key(base) {
				t.Fatalf("Key(%+v) == Key(%+v)", req, base)
			}

			clock := newFakeClock()
			p := &countingProvider{clock: clock}
			c := newTestCache(clock, 0)
			a, _, err := c.Issue(t.Context(), p, base)
			if err != nil {
				t.Fatal(err)
			}
			b, hit, err := c.Issue(t.Context(), p, req)
			if err != nil {
				t.Fatal(err)
			}
			if hit || a == b {
				t.Errorf("changed %s served the cached credential %q", tt.name, a.KeyID)
			}
		})
	}
	t.Run("duration ignored", func(t *testing.T) {
		// One credential per account, grant and access: asking 3600,
		// 3601, ... seconds must not mean one upstream call each.
		req := base
		req.Duration = 2 * time.Hour
		if Key(req) != Key(base) {
			t.Error("Duration changed the key")
		}
	})
	t.Run("location ignored", func(t *testing.T) {
		req := base
		req.Location = "s3://elsewhere/"
		if Key(req) != Key(base) {
			t.Error("Location changed the key, but it is derived from the other fields")
		}
	})
}

func TestUpstreamErrorHidesCause(t *testing.T) {
	cause := errors.New("User: arn:aws:iam::123456789012:user/x is not authorized")
	err := error(&UpstreamError{Upstream: "sts", Status: 403, Code: "AccessDenied", Reason: "User: <arn> is not authorized", Err: cause})
	if strings.Contains(err.Error(), "123456789012") {
		t.Errorf("Error() = %q leaks the cause", err.Error())
	}
	if !errors.Is(err, cause) {
		t.Error("errors.Is does not reach the cause")
	}
	var ue *UpstreamError
	if !errors.As(err, &ue) || ue.Code != "AccessDenied" {
		t.Errorf("errors.As = %+v", ue)
	}
}
