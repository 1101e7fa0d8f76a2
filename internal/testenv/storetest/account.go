package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/store"
)

// acct is a hub account's created time with microsecond precision, what
// JupyterHub reports and the stores keep.
var acct = time.Date(2029, 6, 7, 8, 9, 10, 123456000, time.UTC)

// testAccountBinding: a link and a device login keep the hub account they
// belong to, exactly, through puts and updates; a zero one stays zero.
func testAccountBinding(t *testing.T, s store.Store) {
	ctx := context.Background()
	l := sampleLink("eve")
	l.AccountCreated = acct
	if err := s.PutGitHubLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	got, err := s.GitHubLink(ctx, "github", "eve")
	if err != nil {
		t.Fatal(err)
	}
	if !got.AccountCreated.Equal(acct) {
		t.Errorf("stored account %v, want %v", got.AccountCreated, acct)
	}
	// An update that does not touch it keeps it.
	got, err = s.UpdateGitHubLink(ctx, "github", "eve", func(cur *store.GitHubLink) (*store.GitHubLink, error) {
		cur.AccessToken = "ghu_rotated"
		return cur, nil
	})
	if err != nil || !got.AccountCreated.Equal(acct) {
		t.Fatalf("after update: account %v, %v; want %v", got.AccountCreated, err, acct)
	}
	// A new login by a re-created account replaces it.
	again := sampleLink("eve")
	again.AccountCreated = acct.Add(time.Microsecond)
	if err := s.PutGitHubLink(ctx, again); err != nil {
		t.Fatal(err)
	}
	if got, err = s.GitHubLink(ctx, "github", "eve"); err != nil || !got.AccountCreated.Equal(again.AccountCreated) {
		t.Errorf("after a new login: account %v, %v; want %v", got.AccountCreated, err, again.AccountCreated)
	}
	// Zero (no directory, or a link from before) stays zero.
	if err := s.PutGitHubLink(ctx, sampleLink("old")); err != nil {
		t.Fatal(err)
	}
	if got, err = s.GitHubLink(ctx, "github", "old"); err != nil || !got.AccountCreated.IsZero() {
		t.Errorf("link without account: %v, %v; want the zero time", got.AccountCreated, err)
	}
	// An update may bind a link to its account (adopting an old link).
	got, err = s.UpdateGitHubLink(ctx, "github", "old", func(cur *store.GitHubLink) (*store.GitHubLink, error) {
		cur.AccountCreated = acct
		return cur, nil
	})
	if err != nil || !got.AccountCreated.Equal(acct) {
		t.Errorf("binding an old link: %v, %v", got.AccountCreated, err)
	}

	dl := pendingLogin("dl-eve", "eve")
	dl.AccountCreated = acct
	if err := s.CreateDeviceLogin(ctx, dl); err != nil {
		t.Fatal(err)
	}
	upd, err := s.UpdateDeviceLogin(ctx, dl.ID, func(cur *store.DeviceLogin) (*store.DeviceLogin, error) {
		cur.AccountCreated = time.Time{} // fixed at creation: ignored
		cur.Status = store.LoginComplete
		return cur, nil
	})
	if err != nil || !upd.AccountCreated.Equal(acct) {
		t.Fatalf("device login account after update: %v, %v; want %v", upd.AccountCreated, err, acct)
	}
	if got, err := s.DeviceLogin(ctx, dl.ID); err != nil || !got.AccountCreated.Equal(acct) {
		t.Errorf("device login account: %v, %v; want %v", got.AccountCreated, err, acct)
	}
}

func pendingLogin(id, user string) *store.DeviceLogin {
	return &store.DeviceLogin{
		ID: id, Provider: "github", User: user, DeviceCode: "devcode-" + id,
		UserCode: "WXYZ-0000", VerificationURI: "https://github.com/login/device",
		Interval: 5 * time.Second, ExpiresAt: t0.Add(15 * time.Minute), NextPollAt: t0.Add(5 * time.Second),
		Status: store.LoginPending,
	}
}

// testOnePending: at most one pending device login per user and provider,
// also under concurrent creates; ending it makes room for the next.
func testOnePending(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.PendingDeviceLogin(ctx, "github", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no login yet: err = %v, want ErrNotFound", err)
	}
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- s.CreateDeviceLogin(ctx, pendingLogin(fmt.Sprint("a-", i), "alice")) })
	}
	wg.Wait()
	close(errs)
	created := 0
	for err := range errs {
		switch {
		case err == nil:
			created++
		case !errors.Is(err, store.ErrPendingLogin):
			t.Errorf("concurrent create: err = %v, want nil or ErrPendingLogin", err)
		}
	}
	if created != 1 {
		t.Fatalf("%d concurrent creates stored %d pending logins, want 1", n, created)
	}
	first, err := s.PendingDeviceLogin(ctx, "github", "alice")
	if err != nil || first.User != "alice" || first.DeviceCode != "devcode-"+first.ID {
		t.Fatalf("PendingDeviceLogin = %+v, %v", first, err)
	}
	// Other users and other providers are independent.
	if err := s.CreateDeviceLogin(ctx, pendingLogin("b-1", "bob")); err != nil {
		t.Errorf("bob's login: %v", err)
	}
	other := pendingLogin("a-other", "alice")
	other.Provider = "ghes"
	if err := s.CreateDeviceLogin(ctx, other); err != nil {
		t.Errorf("alice's login at another provider: %v", err)
	}
	if _, err := s.UpdateDeviceLogin(ctx, first.ID, func(cur *store.DeviceLogin) (*store.DeviceLogin, error) {
		cur.Status = store.LoginExpired
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PendingDeviceLogin(ctx, "github", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after ending it: err = %v, want ErrNotFound", err)
	}
	if err := s.CreateDeviceLogin(ctx, pendingLogin("a-next", "alice")); err != nil {
		t.Errorf("a new login after the first ended: %v", err)
	}
	if got, err := s.PendingDeviceLogin(ctx, "github", "alice"); err != nil || got.ID != "a-next" {
		t.Errorf("PendingDeviceLogin = %v, %v; want a-next", got, err)
	}
}
