package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credserver/credserver/internal/store"
	"github.com/credserver/credserver/internal/testenv/storetest"
)

func openSQLite(t *testing.T, path string, key []byte) *store.SQLite {
	t.Helper()
	s, err := store.OpenSQLite(context.Background(), store.SQLiteConfig{Path: path, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openSQLite(t, filepath.Join(t.TempDir(), "credserver.db"), testKey)
	})
}

// TestSQLiteAtRest checks what an attacker holding the database files sees:
// no token or device code in clear, and rows that do not decrypt when
// swapped between users.
func TestSQLiteAtRest(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "credserver.db")
	s := openSQLite(t, path, testKey)
	secrets := []string{"ghu_ALICEACCESS0123456789", "ghr_ALICEREFRESH0123456789", "ghu_BOBACCESS0123456789", "DEVICECODE0123456789abcdef"}
	for _, l := range []*store.GitHubLink{
		{Provider: "github", User: "alice", Login: "alice-gh", AccessToken: secrets[0], RefreshToken: secrets[1]},
		{Provider: "github", User: "bob", Login: "bob-gh", AccessToken: secrets[2]},
	} {
		if err := s.PutGitHubLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateDeviceLogin(ctx, &store.DeviceLogin{ID: "l1", Provider: "github", User: "alice", DeviceCode: secrets[3], Status: store.LoginPending}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(path + "*") // the database, its WAL and shared memory
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range secrets {
			if bytes.Contains(b, []byte(sec)) {
				t.Errorf("%s holds a secret in clear", filepath.Base(f))
			}
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("database file mode %v: readable by others", fi.Mode().Perm())
	}

	// Copy alice's sealed access token into bob's row with plain SQL.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE github_links SET access_token = (SELECT access_token FROM github_links WHERE hub_user = 'alice') WHERE hub_user = 'bob'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GitHubLink(ctx, "github", "bob"); !errors.Is(err, store.ErrTampered) {
		t.Errorf("bob's row holding alice's token: err = %v, want ErrTampered", err)
	}
	if l, err := s.GitHubLink(ctx, "github", "alice"); err != nil || l.AccessToken != secrets[0] {
		t.Errorf("alice's own row: %v", err)
	}
	// A new login replaces a row that no longer decrypts.
	if err := s.PutGitHubLink(ctx, &store.GitHubLink{Provider: "github", User: "bob", AccessToken: "ghu_new"}); err != nil {
		t.Errorf("replacing an undecryptable row: %v", err)
	}
}

func TestSQLiteReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "credserver.db")
	s := openSQLite(t, path, testKey)
	if err := s.PutGitHubLink(ctx, &store.GitHubLink{Provider: "github", User: "alice", AccessToken: "ghu_kept"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Same key: the link survives, migrations are not run twice.
	s2 := openSQLite(t, path, testKey)
	if l, err := s2.GitHubLink(ctx, "github", "alice"); err != nil || l.AccessToken != "ghu_kept" {
		t.Fatalf("after reopen: %v, %v", l, err)
	}
	s2.Close()

	// Another key: refused at open, before any user is served.
	_, err := store.OpenSQLite(ctx, store.SQLiteConfig{Path: path, Key: bytes.Repeat([]byte{1}, 32)})
	if !errors.Is(err, store.ErrWrongKey) {
		t.Fatalf("open with another key: err = %v, want ErrWrongKey", err)
	}
	// A schema from a newer credserver: refused.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, applied_ms) VALUES (999, 0)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err = store.OpenSQLite(ctx, store.SQLiteConfig{Path: path, Key: testKey})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("open of a newer schema: err = %v", err)
	}
}

func TestOpenSQLiteRefuses(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  store.SQLiteConfig
	}{
		{"no key", store.SQLiteConfig{Path: filepath.Join(dir, "a.db")}},
		{"short key", store.SQLiteConfig{Path: filepath.Join(dir, "a.db"), Key: testKey[:31]}},
		{"empty path", store.SQLiteConfig{Key: testKey}},
		{"memory", store.SQLiteConfig{Path: ":memory:", Key: testKey}},
		{"query in path", store.SQLiteConfig{Path: filepath.Join(dir, "a.db?mode=ro"), Key: testKey}},
		{"missing directory", store.SQLiteConfig{Path: filepath.Join(dir, "nope", "a.db"), Key: testKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := store.OpenSQLite(context.Background(), tt.cfg)
			if err == nil {
				s.Close()
				t.Fatal("OpenSQLite succeeded")
			}
		})
	}
}
