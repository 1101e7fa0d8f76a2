package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const dirToken = "svc-token-0123456789abcdef"

// fakeDirectoryHub answers GET /hub/api/users/{name} from a table, checking
// the service token and the escaped path it receives; anything else is 501
// and fails the test.
type fakeDirectoryHub struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	users  map[string]map[string]any // by raw (escaped) path segment
	status int                       // when non-zero, answered instead
	calls  atomic.Int64
	gate   chan struct{} // when non-nil, each request waits for it
}

func newFakeDirectoryHub(t *testing.T) *fakeDirectoryHub {
	f := &fakeDirectoryHub{t: t, users: map[string]map[string]any{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		f.mu.Lock()
		gate := f.gate
		f.mu.Unlock()
		if gate != nil {
			<-gate
		}
		raw := r.URL.EscapedPath()
		seg, ok := strings.CutPrefix(raw, "/hub/api/users/")
		if r.Method != http.MethodGet || !ok || strings.Contains(seg, "/") || r.URL.RawQuery != "" {
			t.Errorf("fake hub: unhandled %s %s", r.Method, raw)
			http.Error(w, "unhandled route", http.StatusNotImplemented)
			return
		}
		if got := r.Header.Get("Authorization"); got != "token "+dirToken {
			t.Errorf("fake hub: Authorization header is not the service token")
			w.WriteHeader(http.StatusForbidden)
			return
		}
		f.mu.Lock()
		u, found := f.users[seg]
		status := f.status
		f.mu.Unlock()
		switch {
		case status != 0:
			w.WriteHeader(status)
		case !found:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"status":404,"message":"Not Found"}`))
		default:
			_ = json.NewEncoder(w).Encode(u)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeDirectoryHub) add(seg, name string, created string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[seg] = map[string]any{"kind": "user", "name": name, "admin": false,
		"groups": []string{"g1"}, "created": created}
}

func (f *fakeDirectoryHub) setGate(g chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = g
}

func newTestDirectory(t *testing.T, f *fakeDirectoryHub, now func() time.Time) *HubDirectory {
	t.Helper()
	d, err := NewDirectory(DirectoryConfig{APIURL: f.srv.URL + "/hub/api", Token: dirToken, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDirectoryAccount(t *testing.T) {
	f := newFakeDirectoryHub(t)
	f.add("alice", "alice", "2024-05-01T10:11:12.123456Z")
	// The name must reach the hub as one escaped segment, never as a path.
	f.add("a%2F..%2Fb%20c", "a/../b c", "2024-05-02T00:00:00.000000Z")
	d := newTestDirectory(t, f, nil)

	a, err := d.Account(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2024, 5, 1, 10, 11, 12, 123456000, time.UTC)
	if a.Name != "alice" || !a.Created.Equal(want) || len(a.Groups) != 1 || a.Groups[0] != "g1" {
		t.Errorf("Account(alice) = %+v, want created %v and groups [g1]", a, want)
	}
	a.Groups[0] = "changed" // the caller's copy
	if b, _ := d.Account(t.Context(), "alice"); b.Groups[0] != "g1" {
		t.Errorf("a caller's change reached the cache: %v", b.Groups)
	}

	b, err := d.Account(t.Context(), "a/../b c")
	if err != nil || b.Name != "a/../b c" {
		t.Errorf("Account(a/../b c) = %+v, %v", b, err)
	}
	if _, err := d.Account(t.Context(), "nobody"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("Account(nobody) error = %v, want ErrNoSuchUser", err)
	}
	if n := f.calls.Load(); n != 3 {
		t.Errorf("hub calls = %d, want 3 (alice once, cached)", n)
	}
}

func TestDirectoryCaching(t *testing.T) {
	f := newFakeDirectoryHub(t)
	var now atomic.Int64
	now.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	d := newTestDirectory(t, f, clock)
	advance := func(dd time.Duration) { now.Add(int64(dd)) }

	if _, err := d.Account(t.Context(), "bob"); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("err = %v", err)
	}
	f.add("bob", "bob", "2025-01-01T00:00:00Z")
	if _, err := d.Account(t.Context(), "bob"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("a 404 is not remembered for NegativeTTL: %v", err)
	}
	advance(DefaultNegativeTTL)
	a, err := d.Account(t.Context(), "bob")
	if err != nil {
		t.Fatalf("after NegativeTTL: %v", err)
	}

	// Re-created: the cache serves the old account for up to CacheTTL.
	f.add("bob", "bob", "2025-01-02T00:00:00Z")
	advance(DefaultCacheTTL - time.Second)
	if b, _ := d.Account(t.Context(), "bob"); !b.Created.Equal(a.Created) {
		t.Errorf("cached account changed before CacheTTL")
	}
	advance(time.Second)
	if b, _ := d.Account(t.Context(), "bob"); b.Created.Equal(a.Created) {
		t.Errorf("account not re-read after CacheTTL")
	}

	// Hub trouble is never cached.
	f.mu.Lock()
	f.status = http.StatusServiceUnavailable
	f.mu.Unlock()
	advance(DefaultCacheTTL)
	before := f.calls.Load()
	for range 2 {
		if _, err := d.Account(t.Context(), "bob"); !errors.Is(err, ErrHubUnavailable) {
			t.Errorf("err = %v, want ErrHubUnavailable", err)
		}
	}
	if n := f.calls.Load() - before; n != 2 {
		t.Errorf("hub calls while failing = %d, want 2 (not cached)", n)
	}
}

func TestDirectoryErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   error
	}{
		{http.StatusForbidden, ErrHubMisconfigured},
		{http.StatusUnauthorized, ErrHubMisconfigured},
		{http.StatusFound, ErrHubMisconfigured},
		{http.StatusBadGateway, ErrHubUnavailable},
		{http.StatusInternalServerError, ErrHubUnavailable},
	} {
		f := newFakeDirectoryHub(t)
		f.status = tc.status
		d := newTestDirectory(t, f, nil)
		_, err := d.Account(t.Context(), "x")
		if !errors.Is(err, tc.want) {
			t.Errorf("status %d: err = %v, want %v", tc.status, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), dirToken) {
			t.Errorf("status %d: the error contains the service token", tc.status)
		}
	}

	// A user model without created (a token with only read:users:name).
	f := newFakeDirectoryHub(t)
	f.users["x"] = map[string]any{"kind": "user", "name": "x"}
	if _, err := newTestDirectory(t, f, nil).Account(t.Context(), "x"); !errors.Is(err, ErrHubMisconfigured) {
		t.Errorf("no created: err = %v, want ErrHubMisconfigured", err)
	}
	// Unreachable.
	f.srv.Close()
	_, err := newTestDirectory(t, f, nil).Account(t.Context(), "x")
	if !errors.Is(err, ErrHubUnavailable) || strings.Contains(err.Error(), dirToken) {
		t.Errorf("closed hub: err = %v, want ErrHubUnavailable without the token", err)
	}

	for _, cfg := range []DirectoryConfig{
		{APIURL: "http://hub/api"},
		{APIURL: "http://hub/api", Token: "a b"},
		{APIURL: "hub/api", Token: "t"},
		{APIURL: "http://hub/api", Token: "t", CacheTTL: -1},
	} {
		if _, err := NewDirectory(cfg); err == nil {
			t.Errorf("NewDirectory(%+v) accepted", cfg)
		}
	}
}

func TestDirectoryCoalesces(t *testing.T) {
	f := newFakeDirectoryHub(t)
	f.add("carol", "carol", "2025-01-01T00:00:00Z")
	gate := make(chan struct{})
	f.setGate(gate)
	d := newTestDirectory(t, f, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := d.Account(t.Context(), "carol")
			errs <- err
		}()
	}
	// Let the one lookup through once it has started.
	for f.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("hub calls = %d, want 1", n)
	}

	// A caller whose ctx ends stops waiting.
	gate2 := make(chan struct{})
	f.setGate(gate2)
	defer close(gate2)
	d2 := newTestDirectory(t, f, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := d2.Account(ctx, "carol"); !errors.Is(err, ErrHubUnavailable) {
		t.Errorf("cancelled wait: err = %v", err)
	}
}
