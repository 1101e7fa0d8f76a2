package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/testenv/peers"
	"github.com/credserver/credserver/internal/testenv/stack"
)

// Delegation tokens end to end: their own stack (real JupyterHub 3, real
// MinIO, credserver in-process with counted hub and STS transports), with
// a short hub.cache_ttl so that "ends within hub.cache_ttl" is watched
// happening, hub.api_token_file holding a hub service token, and the
// SQLite store in the stack's directory.

const delegTTL = 2 * time.Second

// delegConfig is stack.DefaultConfig's grants with delegation tokens on.
const delegConfig = `listen: {{.Listen}}
base_path: ` + stack.BasePath + `
hub:
  api_url: {{.HubAPI}}
  cache_ttl: 2s
  api_token_file: {{.HubTokenFile}}
web:
  enabled: false
store:
  dsn: {{.Dir}}/credserver.db
  encryption_key_file: {{.Dir}}/store.key
delegation:
  max_lifetime: 168h
providers:
  minio:
    type: aws
    region: us-east-1
    role_arn: arn:aws:iam::000000000000:role/hub-users
    sts_endpoint: {{.S3}}
    s3_endpoint: {{.S3}}
  gh:
    type: github
    client_id: Iv1.0123456789abcdef
grants:
  - name: scratch
    provider: minio
    bucket: hub-scratch
    prefix: "{user}/"
    access: readwrite
    max_duration: 12h
    allow: {users: ["*"]}
  - name: shared
    provider: minio
    bucket: hub-shared
    prefix: ""
    access: read
    allow: {groups: [staff]}
  - name: github
    provider: gh
    mode: user
    allow: {users: ["*"]}
`

var delegUsers = []string{"alice", "bob", "erin", "fred", "gwen", "herd", "wanda"}

var (
	delegOnce  sync.Once
	delegS     *stack.Stack
	delegErr   error
	delegHub   = &countingTransport{}
	delegSTS   = &countingTransport{}
	delegDir   string
	delegSeen  = &tokenLog{} // every delegation token the tests were handed
	delegErrsM sync.Mutex
	delegErrs  []string // every error body the tests saw
)

type tokenLog struct {
	mu   sync.Mutex
	toks []string
}

func (l *tokenLog) add(tok string) {
	l.mu.Lock()
	l.toks = append(l.toks, tok)
	l.mu.Unlock()
}

func (l *tokenLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.toks...)
}

// writeStoreKey writes a fresh store.encryption_key_file into dir.
func writeStoreKey(t *testing.T, dir string) {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if err := os.WriteFile(filepath.Join(dir, "store.key"), []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func delegStack(t *testing.T) *stack.Stack {
	t.Helper()
	peers.Require(t, "jupyterhub", "minio")
	delegOnce.Do(func() {
		delegDir = filepath.Join(filepath.Dir(stackDir), "deleg")
		if delegErr = os.MkdirAll(delegDir, 0o700); delegErr != nil {
			return
		}
		writeStoreKey(t, delegDir)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		delegS, delegErr = stack.Start(ctx, stack.Options{
			Dir:       delegDir,
			Users:     delegUsers,
			Groups:    map[string][]string{"staff": {"alice", "gwen"}},
			Buckets:   []string{"hub-scratch", "hub-shared"},
			Config:    delegConfig,
			HubClient: &http.Client{Transport: delegHub, Timeout: 10 * time.Second},
			STSClient: &http.Client{Transport: delegSTS, Timeout: 30 * time.Second},
			Logf:      func(f string, a ...any) { fmt.Fprintf(os.Stderr, "deleg stack: "+f+"\n", a...) },
			Wrap:      recorded.wrap,
		})
		if delegErr == nil {
			stopDelegAtExit = delegS.Close
		}
	})
	if delegErr != nil {
		t.Fatalf("start delegation stack: %v", delegErr)
	}
	return delegS
}

// stopDelegAtExit stops the delegation stack; TestMain calls it.
var stopDelegAtExit func()

// do sends method url with an Authorization header and an optional JSON
// body; non-2xx bodies are kept for the secrets check.
func do(t *testing.T, method, url, authz, body string) apiResp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := apiResp{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	if r.Status >= 400 {
		delegErrsM.Lock()
		delegErrs = append(delegErrs, r.Raw)
		delegErrsM.Unlock()
	}
	return r
}

// newToken creates a delegation token with user's hub token at base.
func newToken(t *testing.T, base, hubToken, body string) (id, tok string) {
	t.Helper()
	r := do(t, "POST", base+"/v1/tokens", "token "+hubToken, body)
	if r.Status != 201 {
		t.Fatalf("create token %s: %d %s", body, r.Status, r.Raw)
	}
	id, _ = r.Body["id"].(string)
	tok, _ = r.Body["token"].(string)
	if !strings.HasPrefix(tok, "csd_") || id == "" {
		t.Fatalf("create token: %s", r.Raw)
	}
	delegSeen.add(tok)
	return id, tok
}

// worker is a process environment with nothing of the user's but
// CREDSERVER_URL and CREDSERVER_TOKEN: a Dask worker, a batch job, a
// laptop.
func worker(t *testing.T, s *stack.Stack, base, tok string) *notebook {
	t.Helper()
	n := newNotebook(t, s, "nobody")
	var env []string
	for _, kv := range n.Env {
		if strings.HasPrefix(kv, "JUPYTERHUB_") || strings.HasPrefix(kv, "CREDSERVER_") {
			continue
		}
		env = append(env, kv)
	}
	n.Env = append(env, "CREDSERVER_URL="+base, "CREDSERVER_TOKEN="+tok)
	return n
}

// within polls fn until it reports true, failing the test if that takes
// longer than d.
func within(t *testing.T, d time.Duration, what string, fn func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if fn() {
			return time.Since(start)
		}
		if time.Since(start) > d {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// slack is what "within hub.cache_ttl" is allowed beyond the TTL for
// polling and scheduling on a busy 2-core machine.
const slack = 1500 * time.Millisecond

// TestDelegationReadOnlyOnMinIO: a read-only token for scratch, used by a
// process with no hub token through credctl's credential_process, reads
// inside alice's prefix on the real MinIO and can write nothing; it is
// refused for an unlisted grant, for readwrite, for creating tokens and
// for GitHub actions.
func TestDelegationReadOnlyOnMinIO(t *testing.T) {
	s := delegStack(t)
	requireFiles(t, "/usr/bin/python3", "/usr/lib/python3/dist-packages/boto3")
	alice := newNotebook(t, s, "alice")
	configure(t, alice, "scratch")
	check(t, alice, "scratch", want(put("alice/data.csv", "a,b\n1,2\n"), true))

	env := alice.credctl("token", "create", "--grant", "scratch", "--access", "read", "--note", "dask", "--format", "env")
	var tok, url string
	for _, line := range strings.Split(strings.TrimSpace(env), "\n") {
		if v, ok := strings.CutPrefix(line, "CREDSERVER_TOKEN="); ok {
			tok = v
		} else if v, ok := strings.CutPrefix(line, "CREDSERVER_URL="); ok {
			url = v
		}
	}
	if !strings.HasPrefix(tok, "csd_") || url != s.URL {
		t.Fatalf("token create --format env printed %q", env)
	}
	delegSeen.add(tok)

	w := worker(t, s, url, tok)
	configure(t, w, "scratch")
	check(t, w, "scratch",
		want(get("alice/data.csv"), true),
		want(list("alice/"), true),
		want(put("alice/from-worker.txt", "x"), false),
		want(del("alice/data.csv"), false),
		want(multipart("alice/big.bin"), false),
		want(list("bob/"), false),
		want(onBucket(list(""), "hub-shared"), false),
	)
	who := w.credctl("whoami", "--json")
	if !strings.Contains(who, `"alice"`) || strings.Contains(who, `"shared"`) || strings.Contains(who, `"readwrite"`) {
		t.Errorf("whoami with the token shows more than scratch read:\n%s", who)
	}

	authz := "Bearer " + tok
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1/credentials/shared", ""}, // alice may have it; the token does not list it
		{"GET", "/v1/credentials/scratch?access=readwrite", ""},
		{"POST", "/v1/tokens", `{"grants": ["scratch"]}`},
		{"GET", "/v1/tokens", ""},
		{"POST", "/v1/github/login", ""},
		{"GET", "/v1/github/login/x", ""},
		{"DELETE", "/v1/github/link", ""},
	} {
		r := do(t, tc.method, s.URL+tc.path, authz, tc.body)
		if r.Status != 403 || errCode(r) != "delegation_not_allowed" {
			t.Errorf("%s %s with a delegation token = %d %s; want 403 delegation_not_allowed", tc.method, tc.path, r.Status, r.Raw)
		}
	}
	// Through credctl too: one line on stderr, non-zero exit. (github
	// login stops earlier: whoami shows a delegation token no GitHub grant.)
	for _, args := range [][]string{{"get", "shared"}, {"get", "scratch", "--access", "readwrite"}, {"token", "create", "--grant", "scratch"}, {"token", "list"}, {"github", "login"}} {
		_, errOut, code, err := w.Run("", "credctl", args...)
		if err != nil || code == 0 || (args[0] != "github" && !strings.Contains(errOut, "delegation token")) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("credctl %v with a delegation token: exit %d, stderr %q", args, code, errOut)
		}
	}
	if r := do(t, "GET", s.URL+"/", "", ""); r.Status != 200 {
		t.Errorf("root: %d", r.Status)
	}
}

// TestDelegationColdHerd: 1,000 concurrent requests with one delegation
// token on a cold cache (its record, the owner's account and the
// credential all uncached) cost one hub lookup of the owner and one STS
// call, and all get the same credential.
func TestDelegationColdHerd(t *testing.T) {
	s := delegStack(t)
	_, tok := newToken(t, s.URL, s.Tokens["herd"], `{"grants": ["scratch"], "access": "read"}`)
	time.Sleep(delegTTL + 200*time.Millisecond) // the owner's account, read at creation, expires
	const n = 1000
	hub0, sts0 := delegHub.Count(), delegSTS.Count()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}, Timeout: 60 * time.Second}
	var wg sync.WaitGroup
	start := make(chan struct{})
	keys, errs := make([]string, n), make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("GET", s.URL+"/v1/credentials/scratch", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				errs[i] = fmt.Errorf("status %d: %s", resp.StatusCode, b)
				return
			}
			var body struct {
				Credentials struct {
					AccessKeyID string `json:"access_key_id"`
				} `json:"credentials"`
			}
			errs[i] = json.NewDecoder(resp.Body).Decode(&body)
			keys[i] = body.Credentials.AccessKeyID
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if keys[i] == "" || keys[i] != keys[0] {
			t.Fatalf("request %d got key %q, request 0 %q", i, keys[i], keys[0])
		}
	}
	hubN, stsN := delegHub.Count()-hub0, delegSTS.Count()-sts0
	t.Logf("herd of %d with one delegation token: %d hub lookups, %d STS calls", n, hubN, stsN)
	if hubN != 1 || stsN != 1 {
		t.Errorf("hub lookups = %d, STS calls = %d; want 1 and 1", hubN, stsN)
	}
}

// TestDelegationEnds: revocation, the owner's deletion at the hub, the
// owner re-created under the same name, and removal from a group each end
// what they should within hub.cache_ttl, although the token's record, the
// owner's account and the credential were all cached just before.
func TestDelegationEnds(t *testing.T) {
	s := delegStack(t)
	ctx := context.Background()
	creds := func(tok, grant string) apiResp { return do(t, "GET", s.URL+"/v1/credentials/"+grant, "token "+tok, "") }
	warm := func(tok, grant string) {
		t.Helper()
		for range 2 { // the second is served from every cache
			if r := creds(tok, grant); r.Status != 200 {
				t.Fatalf("%s with a new token: %d %s", grant, r.Status, r.Raw)
			}
		}
	}

	t.Run("revoked", func(t *testing.T) {
		id, tok := newToken(t, s.URL, s.Tokens["alice"], `{"grants": ["scratch"]}`)
		warm(tok, "scratch")
		if r := do(t, "DELETE", s.URL+"/v1/tokens/"+id, "token "+s.Tokens["alice"], ""); r.Status != 204 {
			t.Fatalf("revoke: %d %s", r.Status, r.Raw)
		}
		if r := creds(tok, "scratch"); r.Status != 401 {
			t.Errorf("revoked token on the replica that revoked it: %d %s; want 401 at once", r.Status, r.Raw)
		}
		if r := do(t, "DELETE", s.URL+"/v1/tokens/"+id, "token "+s.Tokens["alice"], ""); r.Status != 404 {
			t.Errorf("revoking twice: %d", r.Status)
		}
	})
	t.Run("owner deleted at the hub", func(t *testing.T) {
		_, tok := newToken(t, s.URL, s.Tokens["erin"], `{"grants": ["scratch"]}`)
		warm(tok, "scratch")
		if err := s.Hub.API(ctx, "DELETE", "/users/erin", nil, http.StatusNoContent, nil); err != nil {
			t.Fatal(err)
		}
		took := within(t, delegTTL+slack, "deleted owner's token refused", func() bool { return creds(tok, "scratch").Status == 401 })
		t.Logf("refused %s after the deletion", took.Round(time.Millisecond))
	})
	t.Run("owner re-created under the same name", func(t *testing.T) {
		_, tok := newToken(t, s.URL, s.Tokens["fred"], `{"grants": ["scratch"]}`)
		warm(tok, "scratch")
		// Deleted and re-created within one cache period.
		if err := s.Hub.API(ctx, "DELETE", "/users/fred", nil, http.StatusNoContent, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Hub.CreateUser(ctx, "fred"); err != nil {
			t.Fatal(err)
		}
		within(t, delegTTL+slack, "re-created owner's token refused", func() bool { return creds(tok, "scratch").Status == 401 })
		time.Sleep(delegTTL + 200*time.Millisecond)
		if r := creds(tok, "scratch"); r.Status != 401 {
			t.Errorf("the new fred inherited the old fred's token: %d %s", r.Status, r.Raw)
		}
		// The new fred can make his own.
		newFred, err := s.Hub.Token(ctx, "fred")
		if err != nil {
			t.Fatal(err)
		}
		_, tok2 := newToken(t, s.URL, newFred, `{"grants": ["scratch"]}`)
		if r := creds(tok2, "scratch"); r.Status != 200 {
			t.Errorf("the new fred's own token: %d %s", r.Status, r.Raw)
		}
	})
	t.Run("group removed at the hub", func(t *testing.T) {
		_, tok := newToken(t, s.URL, s.Tokens["gwen"], `{"grants": ["shared", "scratch"]}`)
		warm(tok, "shared")
		if err := s.Hub.API(ctx, "DELETE", "/groups/staff/users", map[string]any{"users": []string{"gwen"}}, http.StatusOK, nil); err != nil {
			t.Fatal(err)
		}
		within(t, delegTTL+slack, "shared refused after gwen left staff", func() bool {
			r := creds(tok, "shared")
			return r.Status == 403 && errCode(r) == "not_allowed"
		})
		if r := creds(tok, "scratch"); r.Status != 200 {
			t.Errorf("scratch (not a group grant) after the group change: %d %s", r.Status, r.Raw)
		}
	})
}

// TestDelegationTokensAreTheirOwners': bob sees none of alice's tokens and
// cannot revoke one; hers keeps working.
func TestDelegationTokensAreTheirOwners(t *testing.T) {
	s := delegStack(t)
	id, tok := newToken(t, s.URL, s.Tokens["alice"], `{"grants": ["scratch"], "note": "alice's laptop"}`)
	bob := "token " + s.Tokens["bob"]
	if r := do(t, "GET", s.URL+"/v1/tokens", bob, ""); r.Status != 200 || strings.Contains(r.Raw, id) || strings.Contains(r.Raw, "laptop") {
		t.Errorf("bob's token list: %d %s", r.Status, r.Raw)
	}
	if r := do(t, "DELETE", s.URL+"/v1/tokens/"+id, bob, ""); r.Status != 404 || errCode(r) != "token_not_found" {
		t.Errorf("bob revoking alice's token: %d %s", r.Status, r.Raw)
	}
	if r := do(t, "GET", s.URL+"/v1/credentials/scratch", "token "+tok, ""); r.Status != 200 {
		t.Errorf("alice's token after bob's attempt: %d %s", r.Status, r.Raw)
	}
	list := do(t, "GET", s.URL+"/v1/tokens", "token "+s.Tokens["alice"], "")
	if !strings.Contains(list.Raw, id) || strings.Contains(list.Raw, tok[4:]) {
		t.Errorf("alice's list: %s (want her id, never the token)", list.Raw)
	}
	// A token cannot be made for a grant bob may not have, nor made from a
	// delegation token, nor with a bad body; nothing is stored then.
	for _, tc := range []struct {
		authz, body string
		status      int
	}{
		{bob, `{"grants": ["shared"]}`, 403},
		{bob, `{"grants": ["scratch"], "expires_in": "169h"}`, 400},
		{bob, `{"grants": ["scratch"], "access": "write"}`, 400},
		{bob, `{"grants": "scratch"}`, 400},
		{bob, `{"grants": ["scratch"]} {}`, 400},
		{"token " + tok, `{"grants": ["scratch"]}`, 403},
	} {
		if r := do(t, "POST", s.URL+"/v1/tokens", tc.authz, tc.body); r.Status != tc.status {
			t.Errorf("create %s: %d %s; want %d", tc.body, r.Status, r.Raw, tc.status)
		}
	}
	if r := do(t, "GET", s.URL+"/v1/tokens", bob, ""); !strings.Contains(r.Raw, `"tokens":[]`) {
		t.Errorf("bob's refused requests stored something: %s", r.Raw)
	}
}
