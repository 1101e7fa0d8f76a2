package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/server"
	"github.com/credserver/credserver/internal/vend"
)

// taggedProvider answers with its own name, so a response shows which
// provider issued it.
type taggedProvider struct {
	name  string
	calls int
}

func (p *taggedProvider) Issue(_ context.Context, d policy.Decision) (*vend.Credentials, error) {
	p.calls++
	return &vend.Credentials{Expires: time.Now().Add(time.Hour), Body: map[string]string{"issuer": p.name, "provider": d.Provider}}, nil
}

// TestReloadMovesGrantToAnotherProvider: after a reload moves a grant from
// one provider to another, the next request is issued by the new provider,
// although the old one's credential is still cached and fresh.
func TestReloadMovesGrantToAnotherProvider(t *testing.T) {
	const base = `hub:
  api_url: http://127.0.0.1:1/hub/api
providers:
  store-a:
    type: aws
    role_arn: arn:aws:iam::123456789012:role/hub
  store-b:
    type: aws
    role_arn: arn:aws:iam::123456789012:role/hub
grants:
  - name: scratch
    bucket: hub-scratch
    prefix: "{user}/"
    access: readwrite
    allow: {users: ["*"]}
`
	f := &reloadFixture{path: filepath.Join(t.TempDir(), "credserver.yaml"), metrics: server.NewMetrics()}
	f.write(t, base+"    provider: store-a\n")
	cfg, err := config.Load(f.path)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, b := &taggedProvider{name: "a"}, &taggedProvider{name: "b"}
	f.srv, err = server.New(server.Options{}, server.Deps{
		Auth: oneUser{}, Policy: pol, Providers: map[string]vend.Provider{"store-a": a, "store-b": b},
		Cache: vend.NewCache(vend.CacheConfig{}), Metrics: f.metrics, Limits: &server.Limits{},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.r = NewReloader(f.path, cfg, f.srv, f.metrics, slog.New(slog.DiscardHandler))
	issuer := func() string {
		t.Helper()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/v1/credentials/scratch", nil)
		req.Header.Set("Authorization", "token t")
		f.srv.Handler().ServeHTTP(rec, req)
		var body map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		return body["issuer"]
	}
	if got := issuer(); got != "a" {
		t.Fatalf("before the reload: issued by %q", got)
	}
	if got := issuer(); got != "a" || a.calls != 1 {
		t.Fatalf("the second request was not a cache hit: issuer %q, %d calls", got, a.calls)
	}
	f.write(t, base+"    provider: store-b\n")
	if _, err := f.r.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := issuer(); got != "b" {
		t.Errorf("after moving the grant to store-b: issued by %q (the old provider's cached credential)", got)
	}
	if b.calls != 1 {
		t.Errorf("store-b calls = %d, want 1", b.calls)
	}
}
