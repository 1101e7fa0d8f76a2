package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/credserver/credserver/internal/auth"
)

const whoamiPath = "/services/credserver/v1/whoami"

// cachingAuth is a hub with a cache: it counts lookups (calls that are not
// answered from its cache) and remembers every token it has answered, valid
// or not, as auth.Hub does.
type cachingAuth struct {
	fakeAuth
	lookups atomic.Int64
	mu      sync.Mutex
	seen    map[string]bool
}

func newCachingAuth() *cachingAuth {
	return &cachingAuth{fakeAuth: defaultAuth(), seen: map[string]bool{}}
}

func (c *cachingAuth) Authenticate(ctx context.Context, tok string) (auth.Identity, error) {
	if !c.Cached(tok) {
		c.lookups.Add(1)
	}
	c.mu.Lock()
	c.seen[tok] = true
	c.mu.Unlock()
	return c.fakeAuth.Authenticate(ctx, tok)
}

func (c *cachingAuth) Cached(tok string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[tok]
}

// from sends GET whoami with token (none if "") from the client address addr.
func (f *fixture) from(addr, token string) int {
	req := httptest.NewRequest("GET", whoamiPath, nil)
	req.RemoteAddr = addr + ":40000"
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	w := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(w, req)
	return w.Code
}

const shared = "10.0.0.1" // the hub proxy's address, which every client shares

// TestTokenlessRequestsCostNothing: requests without a token never reach
// the hub and never use anyone's budget.
func TestTokenlessRequestsCostNothing(t *testing.T) {
	a := newCachingAuth()
	f := newFixture(t, a, func(d *Deps) { d.Limits = &Limits{AuthFailureRate: 0.001, AuthFailureBurst: 1} })
	for range 500 {
		if code := f.from(shared, ""); code != 401 {
			t.Fatalf("token-less request = %d, want 401", code)
		}
	}
	// The address's whole budget (one failure) is still there.
	if code := f.from(shared, "guess-1"); code != 401 {
		t.Errorf("first bad token after 500 token-less requests = %d, want 401", code)
	}
	if n := a.lookups.Load(); n != 1 {
		t.Errorf("hub lookups = %d, want 1", n)
	}
}

// TestGuesserBehindSharedAddress: a guesser behind the shared address gets
// 429 once its budget is spent and its hub lookups stay bounded, while a
// valid user at the same address, never seen before, gets 200 at once.
func TestGuesserBehindSharedAddress(t *testing.T) {
	a := newCachingAuth()
	a.fakeAuth["tok-carol"] = auth.Identity{Name: "carol"}
	f := newFixture(t, a, func(d *Deps) { d.Limits = &Limits{AuthFailureRate: 0.001, AuthFailureBurst: 3} })
	for i := range 3 {
		if code := f.from(shared, fmt.Sprintf("guess-%d", i)); code != 401 {
			t.Fatalf("guess %d = %d, want 401 (within budget)", i, code)
		}
	}
	// 40 more guesses at once: the budget is spent.
	var wg sync.WaitGroup
	codes := make([]int, 40)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = f.from(shared, fmt.Sprintf("flood-%d", i))
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 429 {
			t.Errorf("guess beyond the budget %d = %d, want 429", i, c)
		}
	}
	// At most the overflow lane's slots (one now, one per 1/overflowRate
	// within overflowWait) reached the hub.
	maxLane := int64(overflowBurst + int(float64(overflowRate)*overflowWait.Seconds()))
	if n := a.lookups.Load() - 3; n > maxLane {
		t.Errorf("guesses beyond the budget reaching the hub = %d, want at most %d", n, maxLane)
	}
	// A user the server has never seen, at the same address.
	if code := f.from(shared, "tok-carol"); code != 200 {
		t.Errorf("new valid user behind the guesser's address = %d, want 200 on the first try", code)
	}
	// A repeated guess is answered from the cache: 401, free.
	before := a.lookups.Load()
	if code := f.from(shared, "guess-0"); code != 401 {
		t.Errorf("a cached bad token = %d, want 401", code)
	}
	if a.lookups.Load() != before {
		t.Error("a cached answer cost a hub lookup")
	}
	// Another address still has its own budget.
	if code := f.from("10.0.0.2", "other-guess"); code != 401 {
		t.Errorf("another address's first bad token = %d, want 401", code)
	}
}

// TestValidLookupsAreNotCharged: new valid users do not use the address's
// budget, however many of them arrive.
func TestValidLookupsAreNotCharged(t *testing.T) {
	a := newCachingAuth()
	for i := range 50 {
		a.fakeAuth[fmt.Sprintf("tok-user-%d", i)] = auth.Identity{Name: fmt.Sprintf("user-%d", i)}
	}
	a.fakeAuth["tok-not-mine"] = fmt.Errorf("%w: lacks access:services!service=credserver", auth.ErrNotForService)
	a.fakeAuth["tok-hub-down"] = fmt.Errorf("%w: connection refused", auth.ErrHubUnavailable)
	f := newFixture(t, a, func(d *Deps) { d.Limits = &Limits{AuthFailureRate: 0.001, AuthFailureBurst: 2} })
	for i := range 50 {
		if code := f.from(shared, fmt.Sprintf("tok-user-%d", i)); code != 200 {
			t.Fatalf("new user %d = %d, want 200", i, code)
		}
	}
	// Tokens that are real but refused, and hub trouble, are not guesses.
	for range 3 {
		if code := f.from(shared, "tok-hub-down"); code != 503 {
			t.Fatalf("hub down = %d, want 503", code)
		}
	}
	if code := f.from(shared, "tok-not-mine"); code != 403 {
		t.Fatalf("token for another client = %d, want 403", code)
	}
	for i := range 2 {
		if code := f.from(shared, fmt.Sprintf("guess-%d", i)); code != 401 {
			t.Fatalf("guess %d = %d, want 401: valid users used the budget", i, code)
		}
	}
	if code := f.from(shared, "guess-2"); code != 429 {
		t.Errorf("guess beyond the budget = %d, want 429", code)
	}
}

// TestGlobalFailedLookupBudget: many addresses, each within its own budget,
// still cannot make more failed lookups than the global budget (plus the
// overflow lane).
func TestGlobalFailedLookupBudget(t *testing.T) {
	a := newCachingAuth()
	a.fakeAuth["tok-dave"] = auth.Identity{Name: "dave"}
	f := newFixture(t, a, func(d *Deps) {
		d.Limits = &Limits{AuthFailureRate: 0.001, AuthFailureBurst: 5, FailedLookupRate: 0.001, FailedLookupBurst: 10}
	})
	var wg sync.WaitGroup
	codes := make([]int, 60)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = f.from(fmt.Sprintf("198.51.100.%d", i), fmt.Sprintf("guess-%d", i))
		}()
	}
	wg.Wait()
	got429 := 0
	for i, c := range codes {
		switch c {
		case 401:
		case 429:
			got429++
		default:
			t.Fatalf("guess %d = %d", i, c)
		}
	}
	maxLane := int64(overflowBurst + int(float64(overflowRate)*overflowWait.Seconds()))
	if n := a.lookups.Load(); n > 10+maxLane {
		t.Errorf("failed lookups from 60 addresses = %d, want at most %d", n, 10+maxLane)
	}
	if want := 60 - 10 - int(maxLane); got429 < want {
		t.Errorf("429 answers = %d of 60, want at least %d", got429, want)
	}
	if code := f.from("203.0.113.9", "tok-dave"); code != 200 {
		t.Errorf("new valid user after the global budget is spent = %d, want 200", code)
	}
}
