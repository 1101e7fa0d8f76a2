package ghapp_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/ghapp"
	"github.com/credserver/credserver/internal/store"
	"github.com/credserver/credserver/internal/testenv/fakegithub"
)

// fakeDirectory is a hub whose accounts tests create and delete.
type fakeDirectory struct {
	mu       sync.Mutex
	accounts map[string]time.Time
	err      error
}

func (d *fakeDirectory) Account(_ context.Context, name string) (auth.Account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return auth.Account{}, d.err
	}
	c, ok := d.accounts[name]
	if !ok {
		return auth.Account{}, auth.ErrNoSuchUser
	}
	return auth.Account{Name: name, Created: c}, nil
}

func (d *fakeDirectory) create(name string, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.accounts[name] = at
}

func (d *fakeDirectory) remove(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.accounts, name)
}

func newDirEnv(t *testing.T) (*env, *fakeDirectory) {
	dir := &fakeDirectory{accounts: map[string]time.Time{}}
	e := newEnv(t, func(c *ghapp.Config) { c.Directory = dir })
	return e, dir
}

// TestLinkBoundToAccount: eve links; eve is deleted and created again; the
// new eve is not linked, her old link is gone from the store, and the old
// eve's pending login is not hers either.
func TestLinkBoundToAccount(t *testing.T) {
	e, dir := newDirEnv(t)
	ctx := context.Background()
	dir.create("eve", t0.Add(-time.Hour))
	e.link("eve", "old-eve")
	if _, err := e.issue(userRequest("eve")); err != nil {
		t.Fatalf("the linking account: %v", err)
	}
	pending, err := e.links.StartLogin(ctx, "github", "eve") // a second login left pending
	if err != nil {
		t.Fatal(err)
	}

	dir.remove("eve")
	if _, err := e.issue(userRequest("eve")); !errors.Is(err, ghapp.ErrNotLinked) {
		t.Errorf("a deleted account: err = %v, want ErrNotLinked", err)
	}
	dir.create("eve", t0.Add(time.Minute))
	if info, err := e.links.Link(ctx, "github", "eve"); err != nil || info.Linked {
		t.Errorf("re-created eve: Link = %+v, %v; want not linked", info, err)
	}
	if _, err := e.issue(userRequest("eve")); !errors.Is(err, ghapp.ErrNotLinked) {
		t.Errorf("re-created eve: err = %v, want ErrNotLinked", err)
	}
	if _, err := e.store.GitHubLink(ctx, "github", "eve"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old account's link is still stored: %v", err)
	}
	if _, err := e.links.PollLogin(ctx, "eve", pending.ID); !errors.Is(err, ghapp.ErrLoginNotFound) {
		t.Errorf("the old account's pending login: err = %v, want ErrLoginNotFound", err)
	}
	// Her own login is a new one, and then she is linked as herself.
	devBefore := e.fake.Count(fakegithub.EndpointDeviceCode)
	e.link("eve", "new-eve")
	if e.fake.Count(fakegithub.EndpointDeviceCode) != devBefore+1 {
		t.Errorf("the new account was handed the old account's pending login")
	}
	b, err := e.issue(userRequest("eve"))
	if err != nil || b.Login != "new-eve" {
		t.Errorf("re-created eve after her login: %+v, %v", b, err)
	}
	l, err := e.store.GitHubLink(ctx, "github", "eve")
	if err != nil || !l.AccountCreated.Equal(t0.Add(time.Minute)) {
		t.Errorf("stored link account = %v, %v", l.AccountCreated, err)
	}

	// Hub trouble is not "not linked".
	dir.mu.Lock()
	dir.err = auth.ErrHubUnavailable
	dir.mu.Unlock()
	if _, err := e.issue(userRequest("eve")); !errors.Is(err, auth.ErrHubUnavailable) {
		t.Errorf("hub down: err = %v, want ErrHubUnavailable", err)
	}
	if _, err := e.links.Link(ctx, "github", "eve"); !errors.Is(err, auth.ErrHubUnavailable) {
		t.Errorf("hub down: Link err = %v, want ErrHubUnavailable", err)
	}
}

// TestUnboundLinkAdopted: a link stored before links were bound (no
// account) belongs to an account that existed when it was made, and is
// bound to it; an account created after the link is another one.
func TestUnboundLinkAdopted(t *testing.T) {
	e, dir := newDirEnv(t)
	ctx := context.Background()
	for _, u := range []string{"old", "newer"} {
		if err := e.store.PutGitHubLink(ctx, &store.GitHubLink{Provider: "github", User: u, AccessToken: "ghu_" + u, AccessExpires: t0.Add(8 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	dir.create("old", t0.Add(-24*time.Hour))
	dir.create("newer", t0.Add(time.Second))
	if _, err := e.issue(userRequest("old")); err != nil {
		t.Errorf("an account older than its link: %v", err)
	}
	if l, err := e.store.GitHubLink(ctx, "github", "old"); err != nil || !l.AccountCreated.Equal(t0.Add(-24*time.Hour)) {
		t.Errorf("adopted link account = %v, %v; want bound", l.AccountCreated, err)
	}
	if _, err := e.issue(userRequest("newer")); !errors.Is(err, ghapp.ErrNotLinked) {
		t.Errorf("an account newer than the link: err = %v, want ErrNotLinked", err)
	}
}

// TestOnePendingLogin: concurrent and repeated starts of one user cost one
// device code and return the same login; another user gets their own.
func TestOnePendingLogin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 20
	logins := make([]ghapp.Login, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			l, err := e.links.StartLogin(ctx, "github", "alice")
			if err != nil {
				t.Error(err)
			}
			logins[i] = l
		})
	}
	wg.Wait()
	for _, l := range logins[1:] {
		if l.ID != logins[0].ID || l.UserCode != logins[0].UserCode {
			t.Fatalf("concurrent starts returned different logins: %+v and %+v", logins[0], l)
		}
	}
	e.clock.Advance(10 * time.Minute)
	if l, _ := e.links.StartLogin(ctx, "github", "alice"); l.ID != logins[0].ID {
		t.Errorf("a later start did not return the pending login")
	}
	if n := e.fake.Count(fakegithub.EndpointDeviceCode); n != 1 {
		t.Errorf("device codes requested = %d, want 1", n)
	}
	if l, _ := e.links.StartLogin(ctx, "github", "bob"); l.ID == logins[0].ID {
		t.Errorf("bob got alice's login")
	}
	// Less than a minute left: a fresh one, and the old one is over.
	e.clock.Advance(4*time.Minute + 30*time.Second)
	l, err := e.links.StartLogin(ctx, "github", "alice")
	if err != nil || l.ID == logins[0].ID {
		t.Fatalf("start near expiry = %+v, %v; want a new login", l, err)
	}
	if st, err := e.links.PollLogin(ctx, "alice", logins[0].ID); err != nil || st.Status != "expired" {
		t.Errorf("the replaced login: %+v, %v; want expired", st, err)
	}
}

// TestUserCallBudget: one user's GitHub calls are bounded; another user's
// are not affected.
func TestUserCallBudget(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var limited error
	for range 100 {
		l, err := e.links.StartLogin(ctx, "github", "mallory")
		if err != nil {
			limited = err
			break
		}
		// End it at once, so that the next start asks GitHub again.
		e.fake.Deny(l.UserCode)
		e.clock.Advance(l.Interval)
		if _, err := e.links.PollLogin(ctx, "mallory", l.ID); err != nil {
			limited = err
			break
		}
	}
	if !errors.Is(limited, ghapp.ErrRateLimited) {
		t.Fatalf("100 login cycles: err = %v, want ErrRateLimited", limited)
	}
	var rl *ghapp.RateLimitError
	if !errors.As(limited, &rl) || rl.Wait <= 0 {
		t.Errorf("no wait in %v", limited)
	}
	// The budget: a burst of 20, then one call per 4 s of (fake) time.
	elapsed := e.clock.Now().Sub(t0)
	budget := 20 + int(elapsed/(4*time.Second)) + 1
	n := e.fake.Count(fakegithub.EndpointDeviceCode) + e.fake.Count(fakegithub.EndpointDevicePoll)
	if n > budget {
		t.Errorf("mallory made %d GitHub calls in %v, over the budget of %d", n, elapsed, budget)
	}
	t.Logf("mallory: %d GitHub calls in %v before 429", n, elapsed)
	if _, err := e.links.StartLogin(ctx, "github", "alice"); err != nil {
		t.Errorf("another user: %v", err)
	}
}
