package app

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/testenv/fakegithub"
)

// githubFiles writes the secret files a github config names.
type githubFiles struct {
	dir, key, pem, secret, db string
}

func newGitHubFiles(t *testing.T) githubFiles {
	t.Helper()
	dir := t.TempDir()
	f := githubFiles{dir: dir, key: filepath.Join(dir, "store.key"), pem: filepath.Join(dir, "app.pem"),
		secret: filepath.Join(dir, "client-secret"), db: filepath.Join(dir, "credserver.db")}
	fake := fakegithub.New(fakegithub.Options{})
	for path, content := range map[string]string{
		f.key:    hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef")) + "\n",
		f.pem:    string(fake.PrivateKeyPEM()),
		f.secret: "s3cr3t\n",
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f githubFiles) config(t *testing.T, edit func(string) string) *config.Config {
	t.Helper()
	text := `
hub: {api_url: "http://127.0.0.1:1/hub/api"}
store:
  dsn: ` + f.db + `
  encryption_key_file: ` + f.key + `
providers:
  gh:
    type: github
    app_id: 1
    client_id: Iv1.x
    private_key_file: ` + f.pem + `
    client_secret_file: ` + f.secret + `
grants:
  - {name: github, provider: gh, mode: user, allow: {users: ["*"]}}
`
	if edit != nil {
		text = edit(text)
	}
	cfg, err := config.Parse([]byte(text))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

func TestBuildGitHub(t *testing.T) {
	f := newGitHubFiles(t)
	srv, err := Build(context.Background(), f.config(t, nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/readyz", 200},
		// Routed (401 without a token), not 404.
		{"POST", "/v1/github/login", 401},
		{"DELETE", "/v1/github/link", 401},
	} {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.want {
			t.Errorf("%s %s: HTTP %d, want %d", tc.method, tc.path, rec.Code, tc.want)
		}
	}
	if _, err := os.Stat(f.db); err != nil {
		t.Errorf("store not created: %v", err)
	}
}

func TestBuildGitHubRefuses(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(f githubFiles, text string) string
		prepare func(f githubFiles)
		want    string
	}{
		{name: "key file missing", prepare: func(f githubFiles) { os.Remove(f.key) }, want: "encryption key file"},
		{name: "key too short", prepare: func(f githubFiles) { os.WriteFile(f.key, []byte("abcd"), 0o600) }, want: "32 random bytes"},
		{name: "no dsn", edit: func(f githubFiles, s string) string { return strings.Replace(s, "dsn: "+f.db, "dsn: ''", 1) }, want: "store.dsn is required"},
		{name: "postgres", edit: func(f githubFiles, s string) string {
			return strings.Replace(s, "dsn: "+f.db, "driver: postgres\n  dsn: 'postgres://u@127.0.0.1:1/x?connect_timeout=5'", 1)
		}, want: "store (postgres)"},
		{name: "postgres password file missing", edit: func(f githubFiles, s string) string {
			return strings.Replace(s, "dsn: "+f.db, "driver: postgres\n  dsn: 'postgres://u@127.0.0.1:1/x'\n  password_file: "+f.dir+"/missing", 1)
		}, want: "store.password_file: open"},
		{name: "postgres password file empty", prepare: func(f githubFiles) { os.WriteFile(f.dir+"/empty", []byte("\n"), 0o600) }, edit: func(f githubFiles, s string) string {
			return strings.Replace(s, "dsn: "+f.db, "driver: postgres\n  dsn: 'postgres://u@127.0.0.1:1/x'\n  password_file: "+f.dir+"/empty", 1)
		}, want: "is empty: it must hold the database password"},
		{name: "bad private key", prepare: func(f githubFiles) { os.WriteFile(f.pem, []byte("not a key"), 0o600) }, want: "not an RSA private key"},
		{name: "empty client secret", prepare: func(f githubFiles) { os.WriteFile(f.secret, []byte("\n"), 0o600) }, want: "is empty"},
		{name: "database of another key", prepare: func(f githubFiles) {
			other := newGitHubFiles(t)
			other.db = f.db
			if _, err := Build(context.Background(), other.config(t, nil), Options{}); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(f.key, []byte(strings.Repeat("ab", 32)), 0o600)
		}, want: "different"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGitHubFiles(t)
			if tt.prepare != nil {
				tt.prepare(f)
			}
			var edit func(string) string
			if tt.edit != nil {
				edit = func(s string) string { return tt.edit(f, s) }
			}
			_, err := Build(context.Background(), f.config(t, edit), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build: %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error quotes a secret: %v", err)
			}
		})
	}
}

// TestBuildGitHubInstallationOnly: no user grant and no key file: no store
// and no link endpoints, but the provider issues installation tokens.
func TestBuildGitHubInstallationOnly(t *testing.T) {
	f := newGitHubFiles(t)
	cfg := f.config(t, func(s string) string {
		s = strings.Replace(s, "  encryption_key_file: "+f.key+"\n", "", 1)
		return strings.Replace(s, "{name: github, provider: gh, mode: user, allow: {users: [\"*\"]}}",
			"{name: course, provider: gh, mode: installation, owner: my-org, repositories: [a], permissions: {contents: read}, allow: {users: [\"*\"]}}", 1)
	})
	srv, err := Build(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/v1/github/login", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("POST /v1/github/login with no user grants: HTTP %d, want 404", rec.Code)
	}
	if _, err := os.Stat(f.db); err == nil {
		t.Error("a store was created without user grants")
	}
}
