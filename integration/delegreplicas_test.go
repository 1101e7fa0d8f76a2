package integration

import (
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/credserver/credserver/internal/app"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/testenv/peers"
	"github.com/credserver/credserver/internal/testenv/stack"
)

// replica builds another credserver from cfg (its own caches, the same
// store), served on a port of its own.
func replica(t *testing.T, s *stack.Stack, cfg *config.Config) string {
	t.Helper()
	srv, err := app.Build(context.Background(), cfg, app.Options{
		AWSCredentials: credentials.NewStaticCredentialsProvider(s.MinIO.RootUser, s.MinIO.RootPassword, ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(recorded.wrap(srv.Handler()))
	t.Cleanup(ts.Close)
	return ts.URL + stack.BasePath
}

// TestDelegationAcrossReplicasPostgres: two credserver replicas sharing
// one real PostgreSQL 15. A token created on one works on the other;
// revoked on one, it is refused on the other within hub.cache_ttl, though
// the other had it cached. A pg_dump of the database holds no token.
func TestDelegationAcrossReplicasPostgres(t *testing.T) {
	s := delegStack(t)
	peers.Require(t, "postgres")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	pg, err := peers.StartPostgres(ctx, peers.PostgresOptions{Dir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	cfg, err := config.Load(s.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	// The DSN holds no password (the config refuses one): it comes from
	// store.password_file.
	u, err := url.Parse(pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(pg.User)
	pwFile := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(pwFile, []byte(pg.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Store.Driver, cfg.Store.DSN, cfg.Store.PasswordFile = "postgres", u.String(), pwFile
	a, b := replica(t, s, cfg), replica(t, s, cfg)

	alice := "token " + s.Tokens["alice"]
	id, tok := newToken(t, a, s.Tokens["alice"], `{"grants": ["scratch"], "access": "read", "note": "replicas"}`)
	for range 2 {
		if r := do(t, "GET", b+"/v1/credentials/scratch", "Bearer "+tok, ""); r.Status != 200 {
			t.Fatalf("token made on A, used on B: %d %s", r.Status, r.Raw)
		}
	}
	if r := do(t, "GET", b+"/v1/tokens", alice, ""); !strings.Contains(r.Raw, id) {
		t.Errorf("B's list lacks the token made on A: %s", r.Raw)
	}
	if r := do(t, "DELETE", a+"/v1/tokens/"+id, alice, ""); r.Status != 204 {
		t.Fatalf("revoke on A: %d %s", r.Status, r.Raw)
	}
	if r := do(t, "GET", a+"/v1/credentials/scratch", "Bearer "+tok, ""); r.Status != 401 {
		t.Errorf("A after revoking: %d", r.Status)
	}
	took := within(t, delegTTL+slack, "B refuses the token revoked on A", func() bool {
		return do(t, "GET", b+"/v1/credentials/scratch", "Bearer "+tok, "").Status == 401
	})
	t.Logf("B refused the token %s after A revoked it (hub.cache_ttl %s)", took.Round(time.Millisecond), delegTTL)

	// Another token, alive, so the dump has a row to show.
	_, live := newToken(t, b, s.Tokens["alice"], `{"grants": ["scratch"]}`)
	if r := do(t, "GET", a+"/v1/credentials/scratch", "Bearer "+live, ""); r.Status != 200 {
		t.Fatalf("live token: %d", r.Status)
	}
	dump := pgDump(t, pg)
	if !strings.Contains(dump, "delegation_tokens") {
		t.Fatalf("pg_dump has no delegation_tokens table (%d bytes)", len(dump))
	}
	for _, secret := range []string{tok, live, tok[4:], live[4:]} {
		if strings.Contains(dump, secret) {
			t.Error("pg_dump holds a delegation token")
		}
	}
}

func pgDump(t *testing.T, pg *peers.Postgres) string {
	t.Helper()
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
		if len(m) == 0 {
			if os.Getenv("CI") != "" {
				t.Fatal("pg_dump is missing")
			}
			t.Skip("pg_dump is missing")
		}
		bin = m[len(m)-1]
	}
	out, err := exec.Command(bin, "--dbname="+pg.DSN, "--data-only", "--inserts").CombinedOutput()
	if err != nil {
		t.Fatalf("pg_dump: %v: %s", err, strings.ReplaceAll(string(out), pg.Password, "[redacted]"))
	}
	return string(out)
}

// TestDelegationNoRawTokenAnywhere runs after the other delegation tests
// (go test runs files in name order; this file sorts after
// delegation_test.go): no
// delegation token handed out in this run is in the SQLite database, its
// WAL or shared memory, credserver's logs (debug level), its audit trail,
// its metrics, or any error body; and a token survives a restart (a new
// server on the same database, with empty caches).
func TestDelegationNoRawTokenAnywhere(t *testing.T) {
	s := delegStack(t)
	_, tok := newToken(t, s.URL, s.Tokens["wanda"], `{"grants": ["scratch"], "note": "restart"}`)
	if r := do(t, "GET", s.URL+"/v1/credentials/scratch", "token "+tok, ""); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	do(t, "GET", s.URL+"/v1/credentials/shared", "token "+tok, "")      // refused: a denial line
	do(t, "GET", s.URL+"/v1/credentials/scratch", "token "+tok+"x", "") // malformed
	do(t, "POST", s.URL+"/v1/tokens", "token "+tok, `{"grants": ["scratch"]}`)

	cfg, err := config.Load(s.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	restarted := replica(t, s, cfg)
	if r := do(t, "GET", restarted+"/v1/credentials/scratch", "token "+tok, ""); r.Status != 200 {
		t.Errorf("token after a restart: %d %s", r.Status, r.Raw)
	}

	metrics := do(t, "GET", strings.TrimSuffix(s.URL, stack.BasePath)+"/metrics", "", "")
	if !strings.Contains(metrics.Raw, `credserver_credential_requests_by_token_kind_total{kind="delegation",result="issued"}`) {
		t.Errorf("metrics lack delegation issuances")
	}
	toks := delegSeen.all()
	if len(toks) < 10 {
		t.Fatalf("only %d tokens seen: the other delegation tests did not run first", len(toks))
	}
	hay := map[string]string{"logs": s.Logs(), "audit trail": s.Audit(), "metrics": metrics.Raw}
	delegErrsM.Lock()
	hay["error bodies"] = strings.Join(delegErrs, "\n")
	delegErrsM.Unlock()
	files, _ := filepath.Glob(filepath.Join(delegDir, "credserver.db*"))
	if len(files) < 2 {
		t.Fatalf("database files %v: want the database and its WAL", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		hay[filepath.Base(f)] = string(b)
	}
	if !strings.Contains(hay["audit trail"], `"token_id":"`) {
		t.Error("the audit trail names no token id")
	}
	for where, text := range hay {
		for _, tk := range toks {
			if strings.Contains(text, tk) || strings.Contains(text, tk[4:]) {
				t.Errorf("a delegation token is in the %s", where)
			}
		}
	}
}
