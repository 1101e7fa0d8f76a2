package app

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/peers"
)

// TestBuildGitHubPostgres: driver postgres opens the store on a real
// PostgreSQL, and two servers (replicas) share it.
func TestBuildGitHubPostgres(t *testing.T) {
	peers.Require(t, "postgres")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	pg, err := peers.StartPostgres(ctx, peers.PostgresOptions{Dir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	f := newGitHubFiles(t)
	usePostgres := func(s string) string {
		return strings.Replace(s, "dsn: "+f.db, "driver: postgres\n  dsn: '"+pg.DSN+"'", 1)
	}
	for i := range 2 {
		srv, err := Build(ctx, f.config(t, usePostgres), Options{})
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != 200 {
			t.Errorf("replica %d: GET /readyz: HTTP %d, want 200", i, rec.Code)
		}
	}

	// Stopping the database makes the server unready.
	srv, err := Build(ctx, f.config(t, usePostgres), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code == 200 {
		t.Error("GET /readyz with the database down: HTTP 200")
	}
	if strings.Contains(rec.Body.String(), pg.Password) {
		t.Error("the /readyz answer quotes the database password")
	}
}
