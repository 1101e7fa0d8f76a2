package auth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const userPath = "/hub/api/user"

// fakeHub is an httptest JupyterHub. It answers GET /hub/api/user from a
// table of tokens (403 for any other token, as the hub does), records every
// request, checks the headers credserver must send, and fails the test on
// any other route.
type fakeHub struct {
	t   testing.TB
	srv *httptest.Server

	mu      sync.Mutex
	users   map[string]hubUser
	paths   []string
	calls   int
	respond func(w http.ResponseWriter, r *http.Request, n int) // overrides the user table; n counts from 1
}

func newFakeHub(t testing.TB) *fakeHub {
	t.Helper()
	f := &fakeHub{t: t, users: map[string]hubUser{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.URL.Path)
	if r.URL.Path != userPath {
		f.mu.Unlock()
		f.t.Errorf("fake hub: unexpected request %s %s", r.Method, r.URL.Path)
		http.Error(w, "fake hub: unhandled route "+r.URL.Path, http.StatusNotImplemented)
		return
	}
	f.calls++
	n, respond := f.calls, f.respond
	f.mu.Unlock()

	auth := r.Header.Get("Authorization")
	if r.Method != http.MethodGet || !strings.HasPrefix(auth, "token ") ||
		r.Header.Get("Accept") != "application/json" || r.URL.RawQuery != "" {
		f.t.Errorf("fake hub: bad request: %s %s, Accept %q, Authorization scheme ok: %v",
			r.Method, r.URL, r.Header.Get("Accept"), strings.HasPrefix(auth, "token "))
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if respond != nil {
		respond(w, r, n)
		return
	}
	f.mu.Lock()
	u, ok := f.users[strings.TrimPrefix(auth, "token ")]
	f.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusForbidden, map[string]any{"status": 403, "message": "Forbidden"})
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeHub) addUser(token string, u hubUser) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[token] = u
}

func (f *fakeHub) setRespond(fn func(w http.ResponseWriter, r *http.Request, n int)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.respond = fn
}

// userCalls is the number of GET /hub/api/user requests received.
func (f *fakeHub) userCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeHub) requested(path string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.paths {
		if p == path {
			return true
		}
	}
	return false
}

func (f *fakeHub) apiURL() string { return f.srv.URL + "/hub/api" }

// newTestHub builds a Hub talking to f with a short retry pause. Unset
// fields of cfg get f's URL and client.
func newTestHub(t testing.TB, f *fakeHub, cfg HubConfig) *Hub {
	t.Helper()
	if cfg.APIURL == "" {
		cfg.APIURL = f.apiURL()
	}
	if cfg.Client == nil {
		cfg.Client = f.srv.Client()
	}
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatalf("NewHub: %v", err)
	}
	h.retryDelay = time.Millisecond
	return h
}

// fakeClock is a settable clock for TTL tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// alice is the user most tests authenticate as.
var alice = hubUser{
	Kind:   "user",
	Name:   "alice",
	Admin:  false,
	Groups: []string{"staff", "students"},
	Scopes: []string{"access:services!service=credserver", "custom:credserver:use", "read:users:groups!user=alice"},
}

const aliceToken = "0123456789abcdef0123456789abcdef"
