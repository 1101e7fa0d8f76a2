package server

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/testenv/fakegithub"
)

// slowAuth is a cachingAuth whose lookups take a while, so that lookups of
// different tokens overlap as they do at a real hub. With a gate, every
// lookup also waits until the gate is closed, so that a test decides how
// many are in flight together whatever the scheduler does.
type slowAuth struct {
	*cachingAuth
	delay time.Duration
	gate  chan struct{} // nil: no gate
	// waiting counts the lookups that reached the gate.
	waiting *atomic.Int64
}

func (s slowAuth) Authenticate(ctx context.Context, tok string) (auth.Identity, error) {
	if _, ok, _ := s.AuthenticateCached(tok); !ok {
		if s.gate != nil {
			s.waiting.Add(1)
			<-s.gate
		}
		time.Sleep(s.delay)
	}
	return s.cachingAuth.Authenticate(ctx, tok)
}

// TestConcurrentValidLookupsAreNotCharged: a hub's worth of new users
// arriving at once through the shared proxy address (32 at a time, each
// lookup overlapping others, more than the address's budget) never uses
// the address's or the global failed-lookup budget: none is answered 429,
// and afterwards a guesser at that address still has exactly its whole
// budget, and all guessers together exactly the global one.
func TestConcurrentValidLookupsAreNotCharged(t *testing.T) {
	const users, clients = 2000, 32
	a := newCachingAuth()
	for i := range users {
		a.fakeAuth[fmt.Sprintf("tok-u%d", i)] = auth.Identity{Name: fmt.Sprintf("u%d", i)}
	}
	f := newFixture(t, slowAuth{cachingAuth: a, delay: time.Millisecond}, func(d *Deps) {
		d.Limits = &Limits{AuthFailureRate: 0.01, AuthFailureBurst: 3, FailedLookupRate: 0.01, FailedLookupBurst: 40}
	})
	var next, refused atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= users {
					return
				}
				if code := f.from(shared, fmt.Sprintf("tok-u%d", i)); code != 200 {
					refused.Add(1)
					t.Errorf("new user u%d = %d, want 200", i, code)
				}
			}
		})
	}
	wg.Wait()
	if n := refused.Load(); n > 0 {
		t.Fatalf("%d of %d valid new users refused", n, users)
	}
	for i := range 3 {
		if code := f.from(shared, fmt.Sprintf("guess-%d", i)); code != 401 {
			t.Fatalf("guess %d after %d valid users = %d, want 401: the valid users used the budget", i, users, code)
		}
	}
	if code := f.from(shared, "guess-3"); code != 429 {
		t.Errorf("guess beyond the budget = %d, want 429: valid lookups gave back more than they took", code)
	}
	// Other addresses spend what is left of the global budget (37), three
	// guesses each, within their own budgets.
	for i := range 37 {
		addr := fmt.Sprintf("10.0.1.%d", i/3)
		if code := f.from(addr, fmt.Sprintf("other-%d", i)); code != 401 {
			t.Fatalf("guess %d from %s = %d, want 401 (global budget not yet spent)", i, addr, code)
		}
	}
	if code := f.from("10.0.2.1", "other-x"); code != 429 {
		t.Errorf("guess beyond the global budget = %d, want 429", code)
	}
}

// TestConcurrentGuessesStayWithinBudget: one address guessing with many
// concurrent requests, each lookup slow, makes at most its budget of
// failed lookups plus addrOverdraw plus the overflow lane's slots, however
// the lookups overlap (a budget charged only when a lookup fails must
// still count the ones in flight), and what it overdrew is a debt: its
// next guess, and the one after its budget's rate has given one unit
// back, are 429 without a hub call. A valid user there is still served.
func TestConcurrentGuessesStayWithinBudget(t *testing.T) {
	a := newCachingAuth()
	a.fakeAuth["tok-erin"] = auth.Identity{Name: "erin"}
	clk := fakegithub.NewClock(time.Now())
	slow := slowAuth{cachingAuth: a, delay: 5 * time.Millisecond, gate: make(chan struct{}), waiting: new(atomic.Int64)}
	f := newFixture(t, slow, func(d *Deps) {
		d.Limits = &Limits{AuthFailureRate: 1, AuthFailureBurst: 4}
		d.Now = clk.Now
	})
	var wg sync.WaitGroup
	codes := make([]int, 200)
	for i := range codes {
		wg.Go(func() { codes[i] = f.from(shared, fmt.Sprintf("flood-%d", i)) })
	}
	// The hub answers once as many guesses as the budget lets through are
	// in flight together (or after 5 s, should fewer get through: the
	// bound below still holds then, and the debt checks would fail).
	for deadline := time.Now().Add(5 * time.Second); slow.waiting.Load() < 4+addrOverdraw && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	close(slow.gate)
	wg.Wait()
	n401 := 0
	for i, c := range codes {
		switch c {
		case 401:
			n401++
		case 429:
		default:
			t.Fatalf("guess %d = %d", i, c)
		}
	}
	maxLane := int64(overflowBurst + int(float64(overflowRate)*overflowWait.Seconds()))
	bound := int64(4 + addrOverdraw + maxLane)
	if n := a.lookups.Load(); n > bound {
		t.Errorf("hub lookups from 200 concurrent guesses = %d, want at most %d", n, bound)
	}
	if n401 < 4 {
		t.Errorf("401 answers = %d, want the whole budget (4) used", n401)
	}
	spent := a.lookups.Load()
	clk.Advance(5 * time.Second) // five units back; the debt is larger
	for i := range 2 {
		if code := f.from(shared, fmt.Sprintf("later-%d", i)); code != 429 {
			t.Errorf("guess %d after overdrawing = %d, want 429", i, code)
		}
		clk.Advance(overflowWait + time.Second) // the lane is free again
	}
	if n := a.lookups.Load() - spent; n > 2 {
		t.Errorf("guesses in debt reaching the hub = %d, want at most the lane's 2", n)
	}
	if code := f.from(shared, "tok-erin"); code != 200 {
		t.Errorf("new valid user at the indebted address = %d, want 200", code)
	}
}
