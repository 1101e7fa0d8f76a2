package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestSQLiteMigration2: a version-1 database with a link and several
// pending logins of one user migrates: the link keeps working unbound, only
// the newest pending login stays pending, and the new index holds.
func TestSQLiteMigration2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	key := make([]byte, 32)
	seal, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range append(migrations[1],
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, 0)`) {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO meta VALUES ('key_check', ?)`, seal.Seal([]byte(keyCheck), "meta", "key_check")); err != nil {
		t.Fatal(err)
	}
	at := seal.Seal([]byte("ghu_old"), linkContext("access_token", "github", "alice")...)
	if _, err := db.Exec(`INSERT INTO github_links VALUES ('github', 'alice', 'octo', 1, ?, NULL, NULL, NULL, 1, 1000, 1000)`, at); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).UnixMilli()
	for i, id := range []string{"l1", "l2", "l3"} {
		dc := seal.Seal([]byte("dc"), loginContext(id, "github", "alice")...)
		if _, err := db.Exec(`INSERT INTO github_device_logins VALUES (?, 'github', 'alice', ?, 'U', 'https://x', 5000, ?, 0, 'pending', '', ?)`,
			id, dc, exp, 1000+i); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := OpenSQLite(ctx, SQLiteConfig{Path: path, Key: key})
	if err != nil {
		t.Fatalf("migrating a version-1 database: %v", err)
	}
	defer s.Close()
	l, err := s.GitHubLink(ctx, "github", "alice")
	if err != nil || l.AccessToken != "ghu_old" || !l.AccountCreated.IsZero() {
		t.Errorf("old link after migration: %+v, %v; want it readable and unbound", l, err)
	}
	p, err := s.PendingDeviceLogin(ctx, "github", "alice")
	if err != nil || p.ID != "l3" {
		t.Errorf("pending login after migration: %v, %v; want the newest, l3", p, err)
	}
	for _, id := range []string{"l1", "l2"} {
		if d, err := s.DeviceLogin(ctx, id); err != nil || d.Status != LoginExpired {
			t.Errorf("older pending login %s: %v, %v; want expired", id, d, err)
		}
	}
	err = s.CreateDeviceLogin(ctx, &DeviceLogin{ID: "l4", Provider: "github", User: "alice", DeviceCode: "dc", Status: LoginPending})
	if !errors.Is(err, ErrPendingLogin) {
		t.Errorf("a second pending login: err = %v, want ErrPendingLogin", err)
	}
}
