package vend

import (
	"context"
	"errors"
	"fmt"
	"github.com/credserver/credserver/internal/policy"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock shared by the cache and the fake provider.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingProvider issues numbered credentials that live for life (or
// req.Duration when life is 0) and counts its calls.
type countingProvider struct {
	clock *fakeClock
	life  time.Duration
	calls atomic.Int64
	// gate, when set, blocks every Issue until it is closed.
	gate chan struct{}
	// entered, when set, receives once per call before waiting on gate.
	entered chan struct{}
	// fail makes call n (1-based) fail when fail(n) is true.
	fail func(n int64) bool
	// sawDeadline records whether every call's context had a deadline.
	noDeadline atomic.Bool
}

var errUpstream = errors.New("fake upstream failure")

func (p *countingProvider) Issue(ctx context.Context, req policy.Decision) (*Credentials, error) {
	n := p.calls.Add(1)
	if _, ok := ctx.Deadline(); !ok {
		p.noDeadline.Store(true)
	}
	if p.entered != nil {
		p.entered <- struct{}{}
	}
	if p.gate != nil {
		<-p.gate
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake provider: %w", err)
	}
	if p.fail != nil && p.fail(n) {
		return nil, errUpstream
	}
	life := p.life
	if life == 0 {
		life = req.Duration
	}
	return &Credentials{
		Expires: p.clock.Now().Add(life),
		KeyID:   fmt.Sprintf("key-%d", n),
		Body:    map[string]any{"prefixes": req.Prefixes},
	}, nil
}

func testRequest() policy.Decision {
	return policy.Decision{
		User: "alice", Grant: "scratch", Access: policy.AccessReadWrite, Duration: time.Hour,
		Bucket: "scratch", Prefixes: []string{"alice/"}, Location: "s3://scratch/alice/",
	}
}

func newTestCache(clock *fakeClock, maxEntries int) *Cache {
	return NewCache(CacheConfig{MaxEntries: maxEntries, Now: clock.Now})
}

func TestCacheHit(t *testing.T) {
	clock := newFakeClock()
	p := &countingProvider{clock: clock}
	c := newTestCache(clock, 0)
	req := testRequest()

	first, hit, err := c.Issue(t.Context(), p, req)
	if err != nil || hit {
		t.Fatalf("first Issue: hit=%v err=%v, want a miss without error", hit, err)
	}
	clock.Advance(10 * time.Minute)
	second, hit, err := c.Issue(t.Context(), p, req)
	if err != nil || !hit {
		t.Fatalf("second Issue: hit=%v err=%v, want a hit", hit, err)
	}
	if second != first {
		t.Errorf("second Issue returned key %q, want the cached %q", second.KeyID, first.KeyID)
	}
	if got := p.calls.Load(); got != 1 {
		t.Errorf("upstream calls = %d, want 1", got)
	}
}

func TestCacheRefreshThreshold(t *testing.T) {
	tests := []struct {
		name    string
		life    time.Duration
		advance time.Duration
		wantHit bool
	}{
		// life/3 dominates: reusable while 4h of 12h remain.
		{"12h life at 8h", 12 * time.Hour, 8 * time.Hour, true},
		{"12h life past 8h", 12 * time.Hour, 8*time.Hour + time.Second, false},
		// The 20m floor dominates: life/3 would be 15m.
		{"45m life at 25m", 45 * time.Minute, 25 * time.Minute, true},
		{"45m life past 25m", 45 * time.Minute, 25*time.Minute + time.Second, false},
		// A credential born with less than the floor is never reused.
		{"15m life at once", 15 * time.Minute, 0, false},
		{"expired", time.Hour, 2 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			p := &countingProvider{clock: clock, life: tt.life}
			c := newTestCache(clock, 0)
			req := testRequest()
			if _, _, err := c.Issue(t.Context(), p, req); err != nil {
				t.Fatal(err)
			}
			clock.Advance(tt.advance)
			cred, hit, err := c.Issue(t.Context(), p, req)
			if err != nil {
				t.Fatal(err)
			}
			if hit != tt.wantHit {
				t.Errorf("hit = %v, want %v", hit, tt.wantHit)
			}
			wantCalls := int64(2)
			if tt.wantHit {
				wantCalls = 1
			}
			if got := p.calls.Load(); got != wantCalls {
				t.Errorf("upstream calls = %d, want %d", got, wantCalls)
			}
			if remaining := cred.Expires.Sub(clock.Now()); remaining < DefaultMinRemaining && tt.life >= DefaultMinRemaining {
				t.Errorf("handed out a credential with %v left, below the %v floor", remaining, DefaultMinRemaining)
			}
		})
	}
}

func TestCacheMinRemainingConfigurable(t *testing.T) {
	clock := newFakeClock()
	p := &countingProvider{clock: clock, life: 45 * time.Minute}
	c := NewCache(CacheConfig{MinRemaining: 30 * time.Minute, Now: clock.Now})
	req := testRequest()
	if _, _, err := c.Issue(t.Context(), p, req); err != nil {
		t.Fatal(err)
	}
	clock.Advance(16 * time.Minute) // 29m left: fine for the default, not for 30m
	if _, hit, _ := c.Issue(t.Context(), p, req); hit {
		t.Error("hit with 29m left and MinRemaining 30m")
	}
}

func TestCacheErrorsNotCached(t *testing.T) {
	clock := newFakeClock()
	p := &countingProvider{clock: clock, fail: func(n int64) bool { return n == 1 }}
	c := newTestCache(clock, 0)
	req := testRequest()

	if _, _, err := c.Issue(t.Context(), p, req); !errors.Is(err, errUpstream) {
		t.Fatalf("first Issue err = %v, want %v", err, errUpstream)
	}
	cred, hit, err := c.Issue(t.Context(), p, req)
	if err != nil || hit {
		t.Fatalf("second Issue: hit=%v err=%v, want a fresh upstream call", hit, err)
	}
	if cred.KeyID != "key-2" {
		t.Errorf("KeyID = %q, want key-2", cred.KeyID)
	}
}

func TestCacheBounded(t *testing.T) {
	clock := newFakeClock()
	p := &countingProvider{clock: clock}
	c := newTestCache(clock, 2)
	issue := func(user string) {
		t.Helper()
		req := testRequest()
		req.User = user
		if _, _, err := c.Issue(t.Context(), p, req); err != nil {
			t.Fatal(err)
		}
	}
	issue("a")
	issue("b")
	issue("c")
	if got := c.Len(); got != 2 {
		t.Errorf("Len = %d, want 2", got)
	}
	issue("a") // evicted as least recently used: must go upstream again
	if got := p.calls.Load(); got != 4 {
		t.Errorf("upstream calls = %d, want 4", got)
	}
}

func TestCachePanickingProvider(t *testing.T) {
	c := newTestCache(newFakeClock(), 0)
	req := testRequest()
	_, _, err := c.Issue(t.Context(), panicProvider{}, req)
	if err == nil {
		t.Fatal("Issue returned no error for a panicking provider")
	}
}

type panicProvider struct{}

func (panicProvider) Issue(context.Context, policy.Decision) (*Credentials, error) { panic("boom") }

// TestOneEntryPerGrantWhateverTheDuration: a user asking a thousand
// distinct durations holds one cache entry, so no one user can push other
// users' credentials out of the cache by varying what they ask.
func TestOneEntryPerGrantWhateverTheDuration(t *testing.T) {
	clock := newFakeClock()
	c := newTestCache(clock, 0)
	p := &countingProvider{clock: clock}
	req := testRequest()
	for i := range 1000 {
		req.Duration = time.Hour + time.Duration(i)*time.Second
		if _, _, err := c.Issue(t.Context(), p, req); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Len(); n != 1 {
		t.Errorf("cache entries = %d, want 1", n)
	}
	if n := p.calls.Load(); n != 1 {
		t.Errorf("upstream calls = %d, want 1", n)
	}
	// A request the cached credential cannot serve (12h asked, under a
	// third of it left) replaces it rather than adding an entry.
	req.Duration = 12 * time.Hour
	if _, hit, _ := c.Issue(t.Context(), p, req); hit {
		t.Error("a 1h credential served a 12h request")
	}
	if n := c.Len(); n != 1 {
		t.Errorf("cache entries after the longer request = %d, want 1", n)
	}
}
