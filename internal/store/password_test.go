package store_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/credserver/credserver/internal/store"
	"github.com/credserver/credserver/internal/testenv/peers"
)

func TestLoadPasswordFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tt := range []struct{ name, content, want string }{
		{"newline", "s3cr3t pass\n", "s3cr3t pass"},
		{"crlf and spaces", "  s3cr3t\r\n", "s3cr3t"},
		{"none", "s3cr3t", "s3cr3t"},
	} {
		if pw, err := store.LoadPasswordFile(write(tt.name, tt.content)); err != nil || pw != tt.want {
			t.Errorf("%s: LoadPasswordFile = %q, %v; want %q", tt.name, pw, err, tt.want)
		}
	}
	for _, tt := range []struct{ name, content, want string }{
		{"empty", "", "is empty"},
		{"blank", " \n\t\n", "is empty"},
		{"too large", strings.Repeat("s3cr3t", 1000), "larger than"},
	} {
		path := write(tt.name, tt.content)
		_, err := store.LoadPasswordFile(path)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want it to name %s and say %q", tt.name, err, path, tt.want)
		} else if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: the error quotes the file: %v", tt.name, err)
		}
	}
	if _, err := store.LoadPasswordFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want ErrNotExist", err)
	}
}

// TestPostgresPasswordFile: on the real PostgreSQL, a role with a password
// connects with a DSN that holds none and the password from a file, and
// without it (PGPASSWORD and the passfile out of the way) it does not.
func TestPostgresPasswordFile(t *testing.T) {
	peers.Require(t, "postgres")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	pg, err := peers.StartPostgres(ctx, peers.PostgresOptions{Dir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("postgres log:\n%s", pg.LogTail())
		}
		pg.Close()
	})
	t.Setenv("PGPASSWORD", "")
	t.Setenv("PGPASSFILE", filepath.Join(t.TempDir(), "no-pgpass"))

	// A role of its own, given its password the way an admin would.
	const role, db = "cs_app", "cs_app_db"
	password := fmt.Sprintf("pw-%d-'\"x", time.Now().UnixNano())
	admin, err := pgx.Connect(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN",
		"ALTER ROLE " + role + " PASSWORD " + quoteLiteral(password),
		"CREATE DATABASE " + db + " OWNER " + role,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", strings.SplitN(q, " PASSWORD", 2)[0], err)
		}
	}
	u := url.URL{Scheme: "postgres", User: url.User(role), Host: pg.Addr, Path: "/" + db, RawQuery: "sslmode=disable&connect_timeout=10"}
	dsn := u.String()

	pwFile := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pw, err := store.LoadPasswordFile(pwFile)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.OpenPostgres(ctx, store.PostgresConfig{DSN: dsn, Password: pw, Key: testKey})
	if err != nil {
		t.Fatalf("OpenPostgres with the password from the file: %v", err)
	}
	// Open ran the migrations as cs_app; a write proves the session.
	if err := s.PutGitHubLink(ctx, &store.GitHubLink{Provider: "github", User: "alice", AccessToken: "ghu_x"}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	for name, pw := range map[string]string{"no password": "", "wrong password": password + "-wrong"} {
		t.Run(name, func(t *testing.T) {
			s, err := store.OpenPostgres(ctx, store.PostgresConfig{DSN: dsn, Password: pw, Key: testKey})
			if err == nil {
				s.Close()
				t.Fatal("OpenPostgres succeeded")
			}
			if !strings.Contains(err.Error(), "password") {
				t.Errorf("err = %v, want it to be about the password", err)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("the error quotes the password: %v", err)
			}
		})
	}
}

// quoteLiteral is a SQL string literal (ALTER ROLE takes no parameters).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
