package app

import (
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/testenv/peers"
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
	// The DSN may hold no password (config refuses one): it comes from
	// store.password_file.
	u, err := url.Parse(pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(pg.User)
	pwFile := filepath.Join(f.dir, "db-password")
	if err := os.WriteFile(pwFile, []byte(pg.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGPASSWORD", "")
	t.Setenv("PGPASSFILE", filepath.Join(f.dir, "no-pgpass"))
	usePostgres := func(s string) string {
		return strings.Replace(s, "dsn: "+f.db, "driver: postgres\n  dsn: '"+u.String()+"'\n  password_file: "+pwFile, 1)
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

	// Without the password file's password the store does not open, and
	// the error names the key.
	os.WriteFile(pwFile, []byte("wrong-"+pg.Password), 0o600)
	if _, err := Build(ctx, f.config(t, usePostgres), Options{}); err == nil || strings.Contains(err.Error(), pg.Password) {
		t.Errorf("Build with a wrong password: %v", err)
	}
	os.Remove(pwFile)
	if _, err := Build(ctx, f.config(t, usePostgres), Options{}); err == nil || !strings.Contains(err.Error(), "store.password_file") {
		t.Errorf("Build without the password file: %v, want an error naming store.password_file", err)
	}
	os.WriteFile(pwFile, []byte(pg.Password+"\n"), 0o600)

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
