// Package storetest is the conformance suite for store.Store
// implementations: the embedded SQLite store runs it today, a PostgreSQL
// one must pass it too.
package storetest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/credserver/credserver/internal/store"
)

// Run runs the suite; open returns a new, empty store for each subtest
// (and closes it with t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("links", func(t *testing.T) { testLinks(t, open(t)) })
	t.Run("update", func(t *testing.T) { testUpdate(t, open(t)) })
	t.Run("concurrent updates", func(t *testing.T) { testConcurrentUpdates(t, open(t)) })
	t.Run("device logins", func(t *testing.T) { testDeviceLogins(t, open(t)) })
	t.Run("account binding", func(t *testing.T) { testAccountBinding(t, open(t)) })
	t.Run("one pending login", func(t *testing.T) { testOnePending(t, open(t)) })
	t.Run("delegation tokens", func(t *testing.T) { testDelegationTokens(t, open(t)) })
}

// t0 is a time with millisecond precision, what stores keep.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 6e6, time.UTC)

// ignoreStamps leaves out what the store sets itself.
var ignoreStamps = cmpopts.IgnoreFields(store.GitHubLink{}, "Generation", "Created", "Updated")

func sampleLink(user string) *store.GitHubLink {
	return &store.GitHubLink{
		Provider: "github", User: user, Login: "gh-" + user, GitHubID: 42,
		AccessToken: "ghu_access_" + user, AccessExpires: t0.Add(8 * time.Hour),
		RefreshToken: "ghr_refresh_" + user, RefreshExpires: t0.Add(180 * 24 * time.Hour),
	}
}

func testLinks(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.GitHubLink(ctx, "github", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GitHubLink on an empty store: err = %v, want ErrNotFound", err)
	}
	alice, bob := sampleLink("alice"), sampleLink("bob")
	bob.RefreshToken, bob.RefreshExpires, bob.AccessExpires = "", time.Time{}, time.Time{} // non-expiring tokens
	for _, l := range []*store.GitHubLink{alice, bob} {
		if err := s.PutGitHubLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []*store.GitHubLink{alice, bob} {
		got, err := s.GitHubLink(ctx, want.Provider, want.User)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, ignoreStamps); diff != "" {
			t.Errorf("link of %s (-put +got):\n%s", want.User, diff)
		}
		if got.Generation != 1 || got.Created.IsZero() {
			t.Errorf("new link of %s: generation %d, created %v; want 1 and a time", want.User, got.Generation, got.Created)
		}
	}
	if _, err := s.GitHubLink(ctx, "other-provider", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("links are per provider: err = %v, want ErrNotFound", err)
	}
	again := sampleLink("alice")
	again.AccessToken = "ghu_second_login"
	if err := s.PutGitHubLink(ctx, again); err != nil {
		t.Fatal(err)
	}
	got, err := s.GitHubLink(ctx, "github", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != "ghu_second_login" || got.Generation != 2 {
		t.Errorf("replaced link: token %q generation %d, want ghu_second_login and 2", got.AccessToken, got.Generation)
	}
	del, err := s.DeleteGitHubLink(ctx, "github", "alice")
	if err != nil || del.AccessToken != "ghu_second_login" {
		t.Fatalf("DeleteGitHubLink = %v, %v; want the deleted link", del, err)
	}
	if _, err := s.GitHubLink(ctx, "github", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: err = %v, want ErrNotFound", err)
	}
	if _, err := s.DeleteGitHubLink(ctx, "github", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: err = %v, want ErrNotFound", err)
	}
	if _, err := s.GitHubLink(ctx, "github", "bob"); err != nil {
		t.Errorf("deleting alice touched bob: %v", err)
	}
}

func testUpdate(t *testing.T, s store.Store) {
	ctx := context.Background()
	called := false
	_, err := s.UpdateGitHubLink(ctx, "github", "nobody", func(*store.GitHubLink) (*store.GitHubLink, error) {
		called = true
		return nil, nil
	})
	if !errors.Is(err, store.ErrNotFound) || called {
		t.Fatalf("update of a missing link: err %v, fn called %v; want ErrNotFound without a call", err, called)
	}
	if err := s.PutGitHubLink(ctx, sampleLink("alice")); err != nil {
		t.Fatal(err)
	}
	// A callback error rolls back and comes back unwrapped.
	boom := errors.New("boom")
	_, err = s.UpdateGitHubLink(ctx, "github", "alice", func(cur *store.GitHubLink) (*store.GitHubLink, error) {
		cur.AccessToken = "ghu_not_stored"
		return cur, boom
	})
	if err != boom {
		t.Fatalf("update with a failing callback: err = %v, want the callback's error", err)
	}
	// nil leaves the link as it is.
	same, err := s.UpdateGitHubLink(ctx, "github", "alice", func(*store.GitHubLink) (*store.GitHubLink, error) { return nil, nil })
	if err != nil || same.Generation != 1 || same.AccessToken != "ghu_access_alice" {
		t.Fatalf("no-op update = %+v, %v; want generation 1, token unchanged", same.Generation, err)
	}
	next, err := s.UpdateGitHubLink(ctx, "github", "alice", func(cur *store.GitHubLink) (*store.GitHubLink, error) {
		cur.AccessToken, cur.RefreshToken = "ghu_rotated", "ghr_rotated"
		cur.User = "mallory" // ignored: an update cannot move a link
		return cur, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GitHubLink(ctx, "github", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(next, got); diff != "" {
		t.Errorf("stored link differs from the one Update returned (-returned +stored):\n%s", diff)
	}
	if got.AccessToken != "ghu_rotated" || got.RefreshToken != "ghr_rotated" || got.Generation != 2 {
		t.Errorf("after update: %q %q generation %d", got.AccessToken, got.RefreshToken, got.Generation)
	}
	if _, err := s.GitHubLink(ctx, "github", "mallory"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update moved the link to another user: %v", err)
	}
}

// testConcurrentUpdates checks that updates of one link serialize: each
// increments a counter kept in Login, and none is lost.
func testConcurrentUpdates(t *testing.T, s store.Store) {
	ctx := context.Background()
	l := sampleLink("alice")
	l.Login = "0"
	if err := s.PutGitHubLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := s.UpdateGitHubLink(ctx, "github", "alice", func(cur *store.GitHubLink) (*store.GitHubLink, error) {
				v, err := strconv.Atoi(cur.Login)
				if err != nil {
					return nil, err
				}
				time.Sleep(time.Millisecond) // widen the window a lost update needs
				cur.Login = strconv.Itoa(v + 1)
				return cur, nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GitHubLink(ctx, "github", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.Login != strconv.Itoa(n) || got.Generation != n+1 {
		t.Errorf("after %d concurrent increments: counter %s, generation %d; want %d and %d", n, got.Login, got.Generation, n, n+1)
	}
}

func testDeviceLogins(t *testing.T, s store.Store) {
	ctx := context.Background()
	l := &store.DeviceLogin{
		ID: "login-1", Provider: "github", User: "alice", DeviceCode: "devcode-secret",
		UserCode: "ABCD-1234", VerificationURI: "https://github.com/login/device",
		Interval: 5 * time.Second, ExpiresAt: t0.Add(15 * time.Minute), NextPollAt: t0.Add(5 * time.Second),
		Status: store.LoginPending,
	}
	if _, err := s.DeviceLogin(ctx, l.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing login: err = %v, want ErrNotFound", err)
	}
	if err := s.CreateDeviceLogin(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDeviceLogin(ctx, l); err == nil {
		t.Error("creating a login with an existing id succeeded")
	}
	ignoreCreated := cmpopts.IgnoreFields(store.DeviceLogin{}, "Created")
	got, err := s.DeviceLogin(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(l, got, ignoreCreated); diff != "" {
		t.Errorf("device login (-created +got):\n%s", diff)
	}
	upd, err := s.UpdateDeviceLogin(ctx, l.ID, func(cur *store.DeviceLogin) (*store.DeviceLogin, error) {
		cur.Status, cur.Login, cur.Interval = store.LoginComplete, "octocat", 10*time.Second
		cur.DeviceCode, cur.User = "changed", "mallory" // fixed at creation: ignored
		return cur, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := *l
	want.Status, want.Login, want.Interval = store.LoginComplete, "octocat", 10*time.Second
	got, err = s.DeviceLogin(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]*store.DeviceLogin{"returned": upd, "stored": got} {
		if diff := cmp.Diff(&want, v, ignoreCreated); diff != "" {
			t.Errorf("updated login, %s (-want +got):\n%s", name, diff)
		}
	}
	old := *l
	old.ID, old.ExpiresAt = "login-old", t0.Add(-time.Hour)
	if err := s.CreateDeviceLogin(ctx, &old); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteDeviceLoginsBefore(ctx, t0)
	if err != nil || n != 1 {
		t.Fatalf("DeleteDeviceLoginsBefore = %d, %v; want 1", n, err)
	}
	if _, err := s.DeviceLogin(ctx, "login-old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired login still there: %v", err)
	}
	if _, err := s.DeviceLogin(ctx, l.ID); err != nil {
		t.Errorf("live login deleted: %v", err)
	}
}
