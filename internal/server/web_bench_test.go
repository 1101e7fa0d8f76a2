package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/vend"
	"github.com/credserver/credserver/internal/web"
)

// pageFixture is a server with the page on and a policy of n grants that
// all admit alice, logged in (its session cookie).
func pageFixture(b *testing.B, n int) (http.Handler, *http.Cookie) {
	var y strings.Builder
	y.WriteString("base_path: /services/credserver\nhub:\n  api_url: http://127.0.0.1:1/hub/api\nproviders:\n  s3:\n    type: aws\n    region: us-east-1\n    role_arn: arn:aws:iam::123456789012:role/hub-users\n    s3_endpoint: http://127.0.0.1:9000\ngrants:\n")
	for i := range n {
		fmt.Fprintf(&y, "  - name: grant-%02d\n    provider: s3\n    bucket: bucket-%02d\n    prefix: \"{user}/\"\n    access: readwrite\n    allow: {users: [\"*\"]}\n", i, i)
	}
	cfg, err := config.Parse([]byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	pol, err := policy.Compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	wf := &webFixture{}
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"access_token":"tok-alice"}`))
	}))
	b.Cleanup(hub.Close)
	srv, err := New(Options{BasePath: webBase}, Deps{
		Auth: defaultAuth(), Policy: pol, Cache: vend.NewCache(vend.CacheConfig{}),
		Logger: slog.New(slog.DiscardHandler), Metrics: NewMetrics(), Limits: &Limits{},
		Web: &web.Options{
			BasePath: webBase, HubAPIURL: hub.URL + "/hub/api", ServiceName: "credserver",
			RedirectURI: webBase + "/oauth_callback", ClientSecret: webSecret,
			SessionKey: []byte("0123456789abcdef0123456789abcdef-session"),
			Providers:  map[string]web.ProviderInfo{"s3": {Type: "aws", S3Endpoint: "http://127.0.0.1:9000"}},
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	wf.fixture = &fixture{srv: srv}
	// The login, as in the tests (code-<tok> is what the fake hub ignores).
	r := wf.req("GET", webBase+"/", nil, nil, browser)
	state := r.Header.Get("Location")
	state = state[strings.Index(state, "state=")+6:]
	cb := wf.req("GET", webBase+"/oauth_callback?code=x&state="+state, nil, []*http.Cookie{cookie(r, "credserver-oauth-state")}, browser)
	sc := cookie(cb, "credserver-session")
	if sc == nil {
		b.Fatalf("no session: %d", cb.StatusCode)
	}
	return srv.Handler(), sc
}

// BenchmarkWebPage50Grants is GET {base}/ for a user with 50 grants, warm
// (the identity cached by the fake authenticator, the policy compiled):
// cookie opened, token checked, 50 decisions with their snippets, the
// template rendered. Compare with BenchmarkWebBareHandler.
func BenchmarkWebPage50Grants(b *testing.B) {
	h, sc := pageFixture(b, 50)
	req := httptest.NewRequest("GET", webBase+"/", nil)
	req.Header.Set("Accept", "text/html")
	req.AddCookie(sc)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || strings.Count(rec.Body.String(), `class="grant"`) != 50 {
		b.Fatalf("page: %d, %d grants", rec.Code, strings.Count(rec.Body.String(), `class="grant"`))
	}
	b.SetBytes(int64(rec.Body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkWebBareHandler is the baseline: a net/http handler writing the
// same page's bytes with the same headers.
func BenchmarkWebBareHandler(b *testing.B) {
	h, sc := pageFixture(b, 50)
	req := httptest.NewRequest("GET", webBase+"/", nil)
	req.Header.Set("Accept", "text/html")
	req.AddCookie(sc)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, hdr := rec.Body.Bytes(), rec.Header()
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range hdr {
			w.Header()[k] = v
		}
		_, _ = w.Write(body)
	})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		bare.ServeHTTP(httptest.NewRecorder(), req)
	}
}
