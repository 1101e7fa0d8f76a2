package ghapp_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/ghapp"
	"github.com/credserver/credserver/internal/store"
	"github.com/credserver/credserver/internal/testenv/fakegithub"
)

func TestUserTokenRefresh(t *testing.T) {
	e := newEnv(t)
	e.link("alice", "octocat")
	linkedAt := e.clock.Now()
	first, err := e.issue(userRequest("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if first.Kind != "user" || first.Username != "x-access-token" || first.Login != "octocat" || first.Host == "" {
		t.Errorf("body = %+v", first)
	}
	if want := linkedAt.Add(8 * time.Hour).Format(time.RFC3339); first.ExpiresAt != want {
		t.Errorf("expires_at = %s, want %s", first.ExpiresAt, want)
	}
	// With more than 20 minutes left the stored token is served as is.
	e.clock.Advance(7*time.Hour + 30*time.Minute)
	same, err := e.issue(userRequest("alice"))
	if err != nil || same.Token != first.Token {
		t.Fatalf("token with 30 min left: changed=%v err=%v", same != nil && same.Token != first.Token, err)
	}
	// Three refreshes in a row: each uses the refresh token the one before
	// stored (GitHub would refuse a spent one), over a day and a half.
	prev := first
	for i := 1; i <= 3; i++ {
		e.clock.Advance(8 * time.Hour)
		next, err := e.issue(userRequest("alice"))
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		if next.Token == prev.Token {
			t.Fatalf("refresh %d: same token", i)
		}
		if _, err := e.fake.Check(next.Token); err != nil {
			t.Errorf("refresh %d: new token not valid at GitHub: %v", i, err)
		}
		if _, err := e.fake.Check(prev.Token); err == nil {
			t.Errorf("refresh %d: GitHub still accepts the old token", i)
		}
		if n := e.fake.Count(fakegithub.EndpointRefresh); n != i {
			t.Errorf("after refresh %d: %d refresh calls", i, n)
		}
		prev = next
	}
	e.checkNoSecrets("logs", e.logs.String())
}

// TestConcurrentRefresh: 50 callers at once for one user whose token needs
// refreshing, split over two "replicas" (two Apps with their own store
// handles on one database): one refresh at GitHub, one token for all.
func TestConcurrentRefresh(t *testing.T) {
	e := newEnv(t)
	e.link("alice", "octocat")
	replica := e.newApp(e.openStore())
	e.clock.Advance(8 * time.Hour)
	const n = 50
	tokens := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		app := e.app
		if i%2 == 1 {
			app = replica
		}
		wg.Go(func() {
			<-start
			cred, err := app.Issue(context.Background(), userRequest("alice"))
			if err != nil {
				errs[i] = err
				return
			}
			tokens[i] = cred.Body.(*ghapp.Body).Token
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	for i, tok := range tokens {
		if tok != tokens[0] {
			t.Fatalf("caller %d got another token", i)
		}
	}
	if got := e.fake.Count(fakegithub.EndpointRefresh); got != 1 {
		t.Errorf("%d concurrent callers made %d refresh calls, want 1", n, got)
	}
	if _, err := e.fake.Check(tokens[0]); err != nil {
		t.Errorf("the shared token is not valid: %v", err)
	}
}

// failingStore makes the next UpdateGitHubLink fail after its callback ran,
// as a commit failing after GitHub rotated the refresh token would.
type failingStore struct {
	store.Store
	mu    sync.Mutex
	fails int
}

func (f *failingStore) UpdateGitHubLink(ctx context.Context, provider, user string, fn func(*store.GitHubLink) (*store.GitHubLink, error)) (*store.GitHubLink, error) {
	return f.Store.UpdateGitHubLink(ctx, provider, user, func(cur *store.GitHubLink) (*store.GitHubLink, error) {
		next, err := fn(cur)
		f.mu.Lock()
		defer f.mu.Unlock()
		if err == nil && next != nil && f.fails > 0 {
			f.fails--
			return nil, errors.New("injected: disk I/O error")
		}
		return next, err
	})
}

// TestRefreshRescue: GitHub rotated, the store write failed. The new token
// is served, kept, and written later; the next refresh spends the new
// refresh token, so the user never has to log in again.
func TestRefreshRescue(t *testing.T) {
	e := newEnv(t)
	e.link("alice", "octocat")
	fs := &failingStore{Store: e.store, fails: 1}
	app := e.newApp(fs)
	e.clock.Advance(8 * time.Hour)
	cred, err := app.Issue(context.Background(), userRequest("alice"))
	if err != nil {
		t.Fatalf("Issue with the store failing: %v", err)
	}
	tok := cred.Body.(*ghapp.Body).Token
	if _, err := e.fake.Check(tok); err != nil {
		t.Fatalf("rescued token not valid: %v", err)
	}
	again, err := app.Issue(context.Background(), userRequest("alice"))
	if err != nil || again.Body.(*ghapp.Body).Token != tok {
		t.Fatalf("second Issue: %v (same token: %v)", err, err == nil && again.Body.(*ghapp.Body).Token == tok)
	}
	if n := e.fake.Count(fakegithub.EndpointRefresh); n != 1 {
		t.Errorf("%d refresh calls, want 1", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := e.store.GitHubLink(context.Background(), "github", "alice")
		if err == nil && l.AccessToken == tok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the rescued link never reached the store")
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.clock.Advance(8 * time.Hour)
	next, err := app.Issue(context.Background(), userRequest("alice"))
	if err != nil {
		t.Fatalf("refresh after the rescue: %v (the rotated refresh token was lost)", err)
	}
	if next.Body.(*ghapp.Body).Token == tok {
		t.Error("no new token after the rescue")
	}
}

func TestRefreshRefused(t *testing.T) {
	tests := []struct {
		name        string
		act         func(e *env)
		wantCalls   int
		wantLinked  bool
		advanceMore time.Duration
	}{
		// The user revoked the app at GitHub: refresh fails once, then the
		// dead refresh token is forgotten and never spent again.
		{name: "revoked at GitHub", act: func(e *env) { e.fake.Revoke("octocat") }, wantCalls: 1},
		// Six months without use: the refresh token expired; GitHub is not
		// asked.
		{name: "refresh token expired", advanceMore: 184 * 24 * time.Hour, wantCalls: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.link("alice", "octocat")
			if tt.act != nil {
				tt.act(e)
			}
			e.clock.Advance(8*time.Hour + tt.advanceMore)
			for range 2 {
				if _, err := e.issue(userRequest("alice")); !errors.Is(err, ghapp.ErrNotLinked) {
					t.Fatalf("Issue: %v, want ErrNotLinked", err)
				}
			}
			if n := e.fake.Count(fakegithub.EndpointRefresh); n != tt.wantCalls {
				t.Errorf("%d refresh calls, want %d", n, tt.wantCalls)
			}
			info, err := e.links.Link(context.Background(), "github", "alice")
			if err != nil || info.Linked {
				t.Errorf("Link = %+v, %v; want not linked", info, err)
			}
			// A new login fixes it.
			e.link("alice", "octocat")
			if _, err := e.issue(userRequest("alice")); err != nil {
				t.Errorf("after a new login: %v", err)
			}
		})
	}
}

// TestRefreshFromRescuedLink: GitHub rotated, the store took neither the
// rotation nor the first background write of it, and the token needs
// refreshing again before the next write. That refresh must spend the
// rescued refresh token (the stored one is spent at GitHub), or a store
// outage would log the user out.
func TestRefreshFromRescuedLink(t *testing.T) {
	e := newEnv(t)
	e.link("alice", "octocat")
	fs := &failingStore{Store: e.store, fails: 2}
	app := e.newApp(fs)
	e.clock.Advance(8 * time.Hour)
	first, err := app.Issue(context.Background(), userRequest("alice"))
	if err != nil {
		t.Fatalf("Issue with the store failing: %v", err)
	}
	e.clock.Advance(8 * time.Hour)
	next, err := app.Issue(context.Background(), userRequest("alice"))
	if err != nil {
		t.Fatalf("refresh while the rotation was not yet stored: %v", err)
	}
	tok := next.Body.(*ghapp.Body).Token
	if tok == first.Body.(*ghapp.Body).Token {
		t.Error("no new token")
	}
	if _, err := e.fake.Check(tok); err != nil {
		t.Errorf("the new token is not valid: %v", err)
	}
	if n := e.fake.Count(fakegithub.EndpointRefresh); n != 2 {
		t.Errorf("%d refresh calls, want 2", n)
	}
}
