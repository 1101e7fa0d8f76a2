package gcs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// stsURL is where downscope sends every exchange.
const stsURL = "https://sts.googleapis.com/v1/token"

// fakeSTS follows Google's STS token-exchange protocol (RFC 8693 form POST
// to /v1/token, JSON answers, RFC 6749 error bodies).
type fakeSTS struct {
	t   *testing.T
	srv *httptest.Server

	mu    sync.Mutex
	forms []url.Values
	// reply answers one exchange; nil means success with expiresIn.
	reply     func(w http.ResponseWriter, form url.Values)
	expiresIn int
	// delay holds every answer back, to let concurrent callers pile up.
	delay time.Duration
}

func newFakeSTS(t *testing.T) *fakeSTS {
	f := &fakeSTS{t: t, expiresIn: 3600}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serveHTTP))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSTS) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/token" {
		f.t.Errorf("fake STS: unhandled %s %s", r.Method, r.URL.Path)
		http.Error(w, "not implemented by the fake", http.StatusNotImplemented)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		f.t.Errorf("fake STS: Content-Type = %q", ct)
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	n := len(f.forms)
	reply, expiresIn, delay := f.reply, f.expiresIn, f.delay
	f.mu.Unlock()
	time.Sleep(delay)
	if reply != nil {
		reply(w, r.PostForm)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":      fmt.Sprintf("downscoped-%d", n),
		"issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"token_type":        "Bearer",
		"expires_in":        expiresIn,
	})
}

func (f *fakeSTS) calls() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.forms...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// googleTransport sends requests for Google's STS to the fake and lets
// requests to loopback test servers through; anything else fails the test,
// so no test ever reaches the network.
type googleTransport struct {
	t   *testing.T
	sts *url.URL
}

func (g *googleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch {
	case req.URL.String() == stsURL:
		r := req.Clone(req.Context())
		r.URL.Scheme, r.URL.Host = g.sts.Scheme, g.sts.Host
		r.Host = ""
		return http.DefaultTransport.RoundTrip(r)
	case strings.HasPrefix(req.URL.Host, "127.0.0.1:"):
		return http.DefaultTransport.RoundTrip(req)
	}
	g.t.Errorf("request to %s outside the fakes", req.URL)
	return nil, fmt.Errorf("test transport: %s is not faked", req.URL)
}

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const rootToken = "root-access-token"

// newTestProvider returns a provider whose root token is static and whose
// exchanges reach sts.
func newTestProvider(t *testing.T, sts *fakeSTS) *Provider {
	t.Helper()
	u, err := url.Parse(sts.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(t.Context(), Config{
		RootSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: rootToken, Expiry: testNow.Add(50 * time.Minute)}),
		HTTPClient: &http.Client{Transport: &googleTransport{t: t, sts: u}, Timeout: 5 * time.Second},
		Now:        func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
