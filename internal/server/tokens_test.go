package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"github.com/credserver/credserver/internal/policy"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/store"
)

// Fixed, well-formed delegation tokens the scenarios send: alice's
// read-only token for scratch, and one for scratch readwrite.
var (
	aliceDelegRead = "csd_" + strings.Repeat("A", 43)
	aliceDelegRW   = "csd_" + strings.Repeat("B", 42) + "A"
)

var aliceCreatedAt = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// fakeDirectory answers for alice and bob as the hub would.
type fakeDirectory struct {
	mu    sync.Mutex
	users map[string]auth.Account
}

func (f *fakeDirectory) Account(_ context.Context, name string) (auth.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.users[name]
	if !ok {
		return auth.Account{}, auth.ErrNoSuchUser
	}
	return a, nil
}

// delegationEnv is what withDelegation wired, for the tests to look at.
type delegationEnv struct {
	store *store.SQLite
	dir   *fakeDirectory
	d     *auth.Delegations
}

// withDelegation turns delegation tokens on over a real SQLite store,
// holding alice's two tokens above (ids "t-read", "t-rw").
func withDelegation(t testing.TB, env **delegationEnv) func(*Deps) {
	return func(deps *Deps) {
		st, err := store.OpenSQLite(context.Background(), store.SQLiteConfig{Path: filepath.Join(t.TempDir(), "db"), Key: bytes.Repeat([]byte{9}, store.KeySize)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		for _, tk := range []struct{ id, tok, access string }{{"t-read", aliceDelegRead, "read"}, {"t-rw", aliceDelegRW, "readwrite"}} {
			if err := st.CreateDelegationToken(context.Background(), &store.DelegationToken{
				ID: tk.id, Hash: sha256.Sum256([]byte(tk.tok)), Owner: "alice", OwnerCreated: aliceCreatedAt,
				Grants: []string{"scratch"}, Access: tk.access, Note: "dask", ExpiresAt: time.Now().Add(time.Hour),
			}); err != nil {
				t.Fatal(err)
			}
		}
		dir := &fakeDirectory{users: map[string]auth.Account{
			"alice": {Name: "alice", Groups: []string{"staff"}, Created: aliceCreatedAt},
			"bob":   {Name: "bob", Created: aliceCreatedAt},
		}}
		d, err := auth.NewDelegations(auth.DelegationConfig{Tokens: st, Directory: dir})
		if err != nil {
			t.Fatal(err)
		}
		deps.Auth = auth.Either{Hub: deps.Auth, Delegations: d}
		deps.Directory = dir
		deps.Delegation = &DelegationDeps{Tokens: st, MaxLifetime: 7 * 24 * time.Hour, Forget: d.ForgetID}
		if env != nil {
			*env = &delegationEnv{store: st, dir: dir, d: d}
		}
	}
}

func both(fs ...func(*Deps)) func(*Deps) {
	return func(d *Deps) {
		for _, f := range fs {
			f(d)
		}
	}
}

// delegationScenarios cover /v1/tokens and delegation tokens elsewhere.
func delegationScenarios(t *testing.T) []specScenario {
	const b = specBase
	alice, bob := "token tok-alice", "Bearer tok-bob"
	dRead, dRW := "Bearer "+aliceDelegRead, "token "+aliceDelegRW
	dl := withDelegation(t, nil)
	var env *delegationEnv
	many := withDelegation(t, &env)
	return []specScenario{
		{name: "create token", method: "POST", target: b + "/v1/tokens", authz: alice, status: 201, deps: dl,
			body: `{"grants": ["scratch", "shared"], "access": "read", "expires_in": "24h", "note": "dask"}`},
		{name: "create token, defaults", method: "POST", target: b + "/v1/tokens", authz: alice, status: 201, deps: dl, body: `{"grants": ["scratch"]}`},
		{name: "create token readwrite", method: "POST", target: b + "/v1/tokens", authz: alice, status: 201, deps: dl, body: `{"grants": ["scratch"], "access": "readwrite"}`},
		{name: "create token, not JSON", method: "POST", target: b + "/v1/tokens", authz: alice, status: 400, code: "bad_request", deps: dl, body: `grants=scratch`},
		{name: "create token, unknown field", method: "POST", target: b + "/v1/tokens", authz: alice, status: 400, code: "bad_request", deps: dl, body: `{"grants": ["scratch"], "owner": "bob"}`},
		{name: "create token, no grants", method: "POST", target: b + "/v1/tokens", authz: alice, status: 400, code: "bad_request", deps: dl, body: `{"grants": []}`},
		{name: "create token, too long", method: "POST", target: b + "/v1/tokens", authz: alice, status: 400, code: "bad_request", deps: dl, body: `{"grants": ["scratch"], "expires_in": "169h"}`},
		{name: "create token, bad access", method: "POST", target: b + "/v1/tokens", authz: alice, status: 400, code: "bad_request", deps: dl, body: `{"grants": ["scratch"], "access": "admin"}`},
		{name: "create token, grant not allowed", method: "POST", target: b + "/v1/tokens", authz: bob, status: 403, code: "not_allowed", deps: dl, body: `{"grants": ["shared"]}`},
		{name: "create token, access over grant", method: "POST", target: b + "/v1/tokens", authz: alice, status: 403, code: "not_allowed", deps: dl, body: `{"grants": ["shared"], "access": "readwrite"}`},
		{name: "create token with a delegation token", method: "POST", target: b + "/v1/tokens", authz: dRW, status: 403, code: "delegation_not_allowed", deps: dl, body: `{"grants": ["scratch"]}`},
		{name: "create token, too many", method: "POST", target: b + "/v1/tokens", authz: alice, status: 409, code: "too_many_tokens", deps: many, body: `{"grants": ["scratch"]}`,
			setup: func(*specFixture) {
				for i := range maxTokensPerUser {
					_, h := auth.NewDelegationToken()
					if err := env.store.CreateDelegationToken(context.Background(), &store.DelegationToken{ID: fmt.Sprint("m", i), Hash: h, Owner: "alice",
						Grants: []string{"scratch"}, Access: "read", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
						t.Fatal(err)
					}
				}
			}},
		{name: "list tokens", target: b + "/v1/tokens", authz: alice, status: 200, deps: dl, repeat: 0},
		{name: "list tokens, one used", target: b + "/v1/tokens", authz: alice, status: 200, deps: many,
			setup: func(*specFixture) { _ = env.store.TouchDelegationToken(context.Background(), "t-read", time.Now()) }},
		{name: "list tokens, store down", target: b + "/v1/tokens", authz: alice, status: 503, code: "store_unavailable", deps: many,
			setup: func(*specFixture) { env.store.Close() }},
		{name: "list tokens with a delegation token", target: b + "/v1/tokens", authz: dRead, status: 403, code: "delegation_not_allowed", deps: dl},
		{name: "revoke token", method: "DELETE", target: b + "/v1/tokens/t-read", authz: alice, status: 204, deps: dl},
		{name: "bob revokes alice's token", method: "DELETE", target: b + "/v1/tokens/t-read", authz: bob, status: 404, code: "token_not_found", deps: dl},
		{name: "revoke with a delegation token", method: "DELETE", target: b + "/v1/tokens/t-read", authz: dRead, status: 403, code: "delegation_not_allowed", deps: dl},
		{name: "whoami with a delegation token", target: b + "/v1/whoami", authz: dRead, status: 200, deps: dl},
		{name: "credentials with a delegation token", target: b + "/v1/credentials/scratch", authz: dRead, status: 200, deps: dl},
		{name: "credentials readwrite with a readwrite token", target: b + "/v1/credentials/scratch?access=readwrite", authz: dRW, status: 200, deps: dl},
		{name: "delegation token, unlisted grant", target: b + "/v1/credentials/shared", authz: dRead, status: 403, code: "delegation_not_allowed", deps: dl},
		{name: "delegation token, readwrite over its access", target: b + "/v1/credentials/scratch?access=readwrite", authz: dRead, status: 403, code: "delegation_not_allowed", deps: dl},
		{name: "unknown delegation token", target: b + "/v1/credentials/scratch", authz: "token csd_" + strings.Repeat("C", 42) + "A", status: 401, code: "invalid_token", deps: dl},
		{name: "delegation token, github login", method: "POST", target: b + "/v1/github/login", authz: dRead, status: 403, code: "delegation_not_allowed",
			deps: both(withGitHub(t, &fakeGitHub{}, nil), dl)},
		{name: "delegation token, github unlink", method: "DELETE", target: b + "/v1/github/link", authz: dRead, status: 403, code: "delegation_not_allowed",
			deps: both(withGitHub(t, &fakeGitHub{}, nil), dl)},
	}
}

// TestDelegationLimits checks what a read-only token of alice's for
// scratch gets: the owner's decision, narrowed; whoami shows scratch only,
// read; the audit line names the token id and the owner, never the token.
func TestDelegationLimits(t *testing.T) {
	var env *delegationEnv
	f := newFixture(t, defaultAuth(), func(d *Deps) { d.Metrics = NewMetrics() }, withDelegation(t, &env))
	get := func(target, tok string) *httpResponse {
		req, _ := http.NewRequest("GET", "http://credserver.test"+specBase+target, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return record(f.srv.Handler(), req)
	}
	resp := get("/v1/whoami", aliceDelegRead)
	var who whoamiBody
	if err := json.Unmarshal(resp.body, &who); err != nil || resp.status != 200 {
		t.Fatalf("whoami: %d %s", resp.status, resp.body)
	}
	if who.User != "alice" || len(who.Grants) != 1 || who.Grants[0].Name != "scratch" || who.Grants[0].Access != "read" {
		t.Errorf("whoami with a read token for scratch = %+v; want alice, scratch read only", who)
	}
	if resp := get("/v1/credentials/scratch", aliceDelegRead); resp.status != 200 {
		t.Fatalf("credentials: %d %s", resp.status, resp.body)
	}
	f.prov.mu.Lock()
	got := f.prov.reqs[len(f.prov.reqs)-1]
	f.prov.mu.Unlock()
	if got.User != "alice" || got.Access != policy.AccessRead {
		t.Errorf("issued %+v; want alice's, read (the token's access is the default)", got)
	}
	audit := f.audit.String()
	if !strings.Contains(audit, `"token_id":"t-read"`) || !strings.Contains(audit, `"user":"alice"`) {
		t.Errorf("audit lacks the token id or the owner:\n%s", audit)
	}
	for _, secret := range []string{aliceDelegRead, aliceDelegRead[4:]} {
		if strings.Contains(audit, secret) || strings.Contains(f.logs.String(), secret) {
			t.Error("the token is in the audit trail or the logs")
		}
	}

	// Alice deleted and re-created at the hub: the token died with the
	// old account, though its record is still cached.
	env.dir.mu.Lock()
	env.dir.users["alice"] = auth.Account{Name: "alice", Created: aliceCreatedAt.Add(time.Second)}
	env.dir.mu.Unlock()
	if resp := get("/v1/credentials/scratch", aliceDelegRead); resp.status != 401 {
		t.Errorf("after alice was re-created: %d %s; want 401 (the token died with the old account)", resp.status, resp.body)
	}
	if !strings.Contains(metricsText(t, f), `credserver_credential_requests_by_token_kind_total{kind="delegation",result="issued"} 1`) {
		t.Errorf("metrics lack the delegation issuance:\n%s", metricsText(t, f))
	}
}

func metricsText(t *testing.T, f *fixture) string {
	req, _ := http.NewRequest("GET", "http://credserver.test/metrics", nil)
	resp := record(f.srv.Handler(), req)
	return string(resp.body)
}

// TestTokenLifecycle: created with a hub token, the token works at once,
// is listed without its secret, and stops at once when revoked here.
func TestTokenLifecycle(t *testing.T) {
	f := newFixture(t, defaultAuth(), withDelegation(t, nil))
	do := func(method, target, authz, body string) *httpResponse {
		req, _ := http.NewRequest(method, "http://credserver.test"+specBase+target, strings.NewReader(body))
		req.Header.Set("Authorization", authz)
		return record(f.srv.Handler(), req)
	}
	resp := do("POST", "/v1/tokens", "token tok-alice", `{"grants": ["shared"], "note": "batch job"}`)
	var created createdToken
	if err := json.Unmarshal(resp.body, &created); err != nil || resp.status != 201 {
		t.Fatalf("create: %d %s", resp.status, resp.body)
	}
	if resp := do("GET", "/v1/credentials/shared", "token "+created.Token, ""); resp.status != 200 {
		t.Fatalf("new token: %d %s", resp.status, resp.body)
	}
	list := do("GET", "/v1/tokens", "token tok-alice", "")
	if !strings.Contains(string(list.body), created.ID) || strings.Contains(string(list.body), created.Token[4:]) {
		t.Errorf("list: %s; want the id, never the token", list.body)
	}
	if resp := do("GET", "/v1/tokens", "token tok-bob", ""); strings.Contains(string(resp.body), created.ID) {
		t.Errorf("bob's list shows alice's token: %s", resp.body)
	}
	if resp := do("DELETE", "/v1/tokens/"+created.ID, "token tok-bob", ""); resp.status != 404 {
		t.Errorf("bob revoking alice's token: %d", resp.status)
	}
	if resp := do("GET", "/v1/credentials/shared", "token "+created.Token, ""); resp.status != 200 {
		t.Errorf("after bob's attempt: %d %s", resp.status, resp.body)
	}
	if resp := do("DELETE", "/v1/tokens/"+created.ID, "token tok-alice", ""); resp.status != 204 {
		t.Fatalf("revoke: %d %s", resp.status, resp.body)
	}
	if resp := do("GET", "/v1/credentials/shared", "token "+created.Token, ""); resp.status != 401 {
		t.Errorf("revoked token (a cached credential existed): %d %s; want 401", resp.status, resp.body)
	}
	for _, b := range []string{f.audit.String(), f.logs.String()} {
		if strings.Contains(b, created.Token) {
			t.Error("the token is in the audit trail or the logs")
		}
	}
}
