package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/store"
)

// BenchmarkCredentialsWarmByTokenKind compares, in one run, a warm
// credential request with a hub token and one with a delegation token of
// the same user for the same grant: both through the real caches (auth.Hub
// for the hub token; auth.Delegations, its store lookup cached, and the
// real auth.HubDirectory for the owner's groups), against an httptest hub
// that answers once each. Target: delegation within 1.2x of hub.
func BenchmarkCredentialsWarmByTokenKind(b *testing.B) {
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/hub/api/user":
			fmt.Fprint(w, `{"kind": "user", "name": "alice", "admin": false, "groups": ["staff"], "scopes": ["access:services"]}`)
		case "/hub/api/users/alice":
			fmt.Fprint(w, `{"kind": "user", "name": "alice", "admin": false, "groups": ["staff"], "created": "2025-03-01T10:00:00.123456Z"}`)
		default:
			http.Error(w, "unexpected", http.StatusNotImplemented)
		}
	}))
	b.Cleanup(hub.Close)
	hubAuth, err := auth.NewHub(auth.HubConfig{APIURL: hub.URL + "/hub/api", CacheTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	dir, err := auth.NewDirectory(auth.DirectoryConfig{APIURL: hub.URL + "/hub/api", Token: "service-token", CacheTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	var env *delegationEnv
	f := newFixture(b, hubAuth, func(d *Deps) {
		d.Logger = slog.New(slog.DiscardHandler)
		d.Metrics = NewMetrics()
		d.Limits = &Limits{}
	}, withDelegation(b, &env), func(d *Deps) {
		// The real directory instead of the fake, and a long cache TTL.
		dl, err := auth.NewDelegations(auth.DelegationConfig{Tokens: env.store, Directory: dir, CacheTTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		d.Auth, d.Directory = auth.Either{Hub: hubAuth, Delegations: dl}, dir
	})
	tok, hash := auth.NewDelegationToken()
	created := time.Date(2025, 3, 1, 10, 0, 0, 123456000, time.UTC)
	if err := env.store.CreateDelegationToken(b.Context(), &store.DelegationToken{
		ID: "bench", Hash: hash, Owner: "alice", OwnerCreated: created,
		Grants: []string{"scratch"}, Access: "readwrite", ExpiresAt: time.Now().Add(time.Hour),
	}); err != nil {
		b.Fatal(err)
	}
	h := f.srv.Handler()
	for _, kind := range []struct{ name, authz string }{
		{"hub", "token 0123456789abcdef0123456789abcdef"},
		{"delegation", "Bearer " + tok},
	} {
		b.Run(kind.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", credPath, nil)
			req.Header.Set("Authorization", kind.authz)
			for range 2 { // warm every cache
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("warm-up: %d %s", rec.Code, rec.Body)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				f.audit.Reset()
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
