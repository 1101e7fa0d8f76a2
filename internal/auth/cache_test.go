package auth

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestCachePositive(t *testing.T) {
	f := newFakeHub(t)
	f.addUser(aliceToken, alice)
	clock := newFakeClock()
	h := newTestHub(t, f, HubConfig{Now: clock.Now})

	steps := []struct {
		advance   time.Duration
		wantCalls int
	}{
		{0, 1},                // cold
		{44 * time.Second, 1}, // within the 60s default (before the refresh-ahead window)
		{16 * time.Second, 2}, // 60s after the first lookup: expired
		{30 * time.Second, 2}, // the new entry counts from its own lookup
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		id, err := h.Authenticate(t.Context(), aliceToken)
		if err != nil || id.Name != "alice" {
			t.Fatalf("step %d: Authenticate = %+v, %v", i, id, err)
		}
		if n := f.userCalls(); n != s.wantCalls {
			t.Errorf("step %d: hub requests = %d, want %d", i, n, s.wantCalls)
		}
	}
	st := h.Stats()
	if st.Hits != 2 || st.Misses != 2 || st.Entries != 1 {
		t.Errorf("Stats = %+v, want 2 hits, 2 misses, 1 entry", st)
	}
}

func TestCacheCustomTTL(t *testing.T) {
	f := newFakeHub(t)
	f.addUser(aliceToken, alice)
	clock := newFakeClock()
	h := newTestHub(t, f, HubConfig{Now: clock.Now, CacheTTL: 5 * time.Second})

	for range 2 {
		if _, err := h.Authenticate(t.Context(), aliceToken); err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Second)
	}
	if n := f.userCalls(); n != 2 {
		t.Errorf("hub requests = %d, want 2 with a 5s TTL", n)
	}
}

func TestCacheNegative(t *testing.T) {
	service := alice
	service.Kind = "service"
	tests := []struct {
		name string
		user *hubUser // nil: unknown token, the hub answers 403
		want error
	}{
		{"invalid token", nil, ErrInvalidToken},
		{"service token", &service, ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeHub(t)
			if tt.user != nil {
				f.addUser(aliceToken, *tt.user)
			}
			clock := newFakeClock()
			h := newTestHub(t, f, HubConfig{Now: clock.Now})

			for i, s := range []struct {
				advance   time.Duration
				wantCalls int
			}{{0, 1}, {9 * time.Second, 1}, {time.Second, 2}} {
				clock.Advance(s.advance)
				if _, err := h.Authenticate(t.Context(), aliceToken); !errors.Is(err, tt.want) {
					t.Fatalf("step %d: error = %v, want %v", i, err, tt.want)
				}
				if n := f.userCalls(); n != s.wantCalls {
					t.Errorf("step %d: hub requests = %d, want %d", i, n, s.wantCalls)
				}
			}
		})
	}
}

func TestCacheNeverStoresHubTrouble(t *testing.T) {
	tests := []struct {
		code         int
		want         error
		callsPerAuth int
	}{
		{500, ErrHubUnavailable, 1},
		{503, ErrHubUnavailable, 2},
		{404, ErrHubMisconfigured, 1},
		{302, ErrHubMisconfigured, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			f := newFakeHub(t)
			f.setRespond(func(w http.ResponseWriter, _ *http.Request, _ int) {
				w.Header().Set("Location", "/hub/login")
				w.WriteHeader(tt.code)
			})
			h := newTestHub(t, f, HubConfig{Now: newFakeClock().Now})

			for range 2 {
				if _, err := h.Authenticate(t.Context(), aliceToken); !errors.Is(err, tt.want) {
					t.Fatalf("error = %v, want %v", err, tt.want)
				}
			}
			if n := f.userCalls(); n != 2*tt.callsPerAuth {
				t.Errorf("hub requests = %d, want %d (nothing cached)", n, 2*tt.callsPerAuth)
			}
			if n := h.Stats().Entries; n != 0 {
				t.Errorf("cache entries = %d, want 0", n)
			}
		})
	}
}

func TestCacheBound(t *testing.T) {
	f := newFakeHub(t)
	const tokens = 10
	for i := range tokens {
		f.addUser(fmt.Sprintf("token-%d", i), hubUser{Kind: "user", Name: fmt.Sprintf("user%d", i), Scopes: alice.Scopes})
	}
	h := newTestHub(t, f, HubConfig{MaxEntries: 3, Now: newFakeClock().Now})

	for i := range tokens {
		id, err := h.Authenticate(t.Context(), fmt.Sprintf("token-%d", i))
		if err != nil || id.Name != fmt.Sprintf("user%d", i) {
			t.Fatalf("token-%d: %+v, %v", i, id, err)
		}
	}
	if n := h.Stats().Entries; n != 3 {
		t.Errorf("cache entries = %d, want 3", n)
	}
	// The most recent token is still cached; the first was evicted.
	for _, tok := range []string{"token-9", "token-0"} {
		if _, err := h.Authenticate(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.userCalls(); n != tokens+1 {
		t.Errorf("hub requests = %d, want %d", n, tokens+1)
	}
}

func TestCacheKeyIsHash(t *testing.T) {
	f := newFakeHub(t)
	f.addUser(aliceToken, alice)
	h := newTestHub(t, f, HubConfig{})
	if _, err := h.Authenticate(t.Context(), aliceToken); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Authenticate(t.Context(), "unknown-token"); !errors.Is(err, ErrInvalidToken) {
		t.Fatal(err)
	}

	keys := h.cache.Keys()
	if len(keys) != 2 {
		t.Fatalf("cache has %d keys, want 2", len(keys))
	}
	want := map[tokenKey]bool{
		sha256.Sum256([]byte(aliceToken)):      true,
		sha256.Sum256([]byte("unknown-token")): true,
	}
	for _, k := range keys {
		// aliceToken is 32 bytes, as long as a key: a raw key would show here.
		if string(k[:]) == aliceToken || strings.Contains(string(k[:]), "unknown-token") {
			t.Errorf("cache key is the raw token")
		}
		if !want[k] {
			t.Errorf("cache key %x is not the SHA-256 of a token", k)
		}
	}
	if dump := fmt.Sprintf("%#v", h.cache.Values()); strings.Contains(dump, aliceToken) ||
		strings.Contains(dump, "unknown-token") {
		t.Errorf("cached values contain a token: %s", dump)
	}
}

// waitExpiry waits until token's cached entry expires at want (a background
// refresh has stored its answer).
func waitExpiry(t *testing.T, h *Hub, token string, want time.Time) {
	t.Helper()
	key := tokenKey(sha256.Sum256([]byte(token)))
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if e, ok := h.cache.Peek(key); ok && h.at(e.expires).Equal(want) {
			return
		}
	}
	t.Fatalf("the cached entry never got expiry %v", want)
}

// at turns a reading of h.clock back into a time.
func (h *Hub) at(ns int64) time.Time { return h.epoch.Add(time.Duration(ns)) }

// waitCalls waits until the fake hub has seen n lookups (background
// refreshes are asynchronous).
func waitCalls(t *testing.T, f *fakeHub, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if f.userCalls() >= n {
			return
		}
	}
	t.Fatalf("hub saw %d lookups, want %d", f.userCalls(), n)
}

// TestRefreshAhead: a hit in the last quarter of the TTL re-validates the
// identity in the background, so an active user never waits for the hub
// again; a token revoked meanwhile is refused as soon as the hub says so.
func TestRefreshAhead(t *testing.T) {
	f := newFakeHub(t)
	f.addUser(aliceToken, alice)
	clock := newFakeClock()
	h := newTestHub(t, f, HubConfig{Now: clock.Now})
	if _, err := h.Authenticate(t.Context(), aliceToken); err != nil {
		t.Fatal(err)
	}
	clock.Advance(50 * time.Second) // in the last quarter of 60s
	if id, err := h.Authenticate(t.Context(), aliceToken); err != nil || id.Name != "alice" {
		t.Fatalf("hit in the refresh window: %+v, %v", id, err)
	}
	waitExpiry(t, h, aliceToken, clock.Now().Add(60*time.Second)) // the refreshed answer is stored
	if st := h.Stats(); st.Refreshes != 1 {
		t.Errorf("Refreshes = %d, want 1", st.Refreshes)
	}
	clock.Advance(20 * time.Second) // 70s: the first answer has expired, the refreshed one has not
	if _, err := h.Authenticate(t.Context(), aliceToken); err != nil {
		t.Fatal(err)
	}
	if st := h.Stats(); st.Misses != 1 || f.userCalls() != 2 {
		t.Errorf("after refresh-ahead: %+v, hub calls %d; want no new miss and no new lookup", st, f.userCalls())
	}

	// Revoked at the hub: the next background check caches the refusal.
	f.mu.Lock()
	delete(f.users, aliceToken)
	f.mu.Unlock()
	clock.Advance(30 * time.Second) // 100s: in the refreshed entry's last quarter (it expires at 110s)
	if _, err := h.Authenticate(t.Context(), aliceToken); err != nil {
		t.Fatalf("still within the TTL: %v", err)
	}
	waitCalls(t, f, 3)
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, err = h.Authenticate(t.Context(), aliceToken); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrInvalidToken) {
		t.Errorf("after the hub revoked the token: %v, want ErrInvalidToken", err)
	}
}
