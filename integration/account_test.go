package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/testenv/fakegithub"
)

// newAccountEnv is the GitHub environment with credserver's own service
// token configured (the hub's test-admin service: it can read users'
// created times) and a one-second hub cache on the fake clock.
func newAccountEnv(t *testing.T) *ghEnv {
	t.Helper()
	s := sharedStack(t)
	tokenFile := filepath.Join(t.TempDir(), "hub-token")
	if err := os.WriteFile(tokenFile, []byte(s.Hub.AdminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return newGHEnvWith(t, func(text string) string {
		return strings.Replace(text, "hub:\n  api_url: "+s.Hub.APIURL+"\n",
			"hub:\n  api_url: "+s.Hub.APIURL+"\n  cache_ttl: 1s\n  api_token_file: "+tokenFile+
				"\nweb: {enabled: false}\ndelegation: {enabled: false}\n", 1)
	})
}

// callAs sends an API request with a raw hub token.
func (e *ghEnv) callAs(t *testing.T, method, path, token string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, e.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

// linkAs runs a device flow through the API for token, approved at the
// fake GitHub as login.
func (e *ghEnv) linkAs(t *testing.T, token, login string) {
	t.Helper()
	code, l := e.callAs(t, "POST", "/v1/github/login", token)
	if code != 200 {
		t.Fatalf("POST /v1/github/login: HTTP %d %v", code, l)
	}
	if err := e.fake.Approve(l["user_code"].(string), login); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		e.clock.Advance(2 * time.Second)
		code, st := e.callAs(t, "GET", "/v1/github/login/"+url.PathEscape(l["login_id"].(string)), token)
		if code != 200 {
			t.Fatalf("poll: HTTP %d %v", code, st)
		}
		if st["status"] == "complete" {
			return
		}
	}
	t.Fatal("the device login never completed")
}

// TestRecreatedAccountStartsUnlinked: on the real JupyterHub, eve links her
// GitHub account and uses it; the admin deletes eve and creates a new eve.
// The new account is not linked (whoami, credentials 409), is not served
// the old account's cached token, and its own login is a fresh device flow
// whose token is its own.
func TestRecreatedAccountStartsUnlinked(t *testing.T) {
	e := newAccountEnv(t)
	ctx := context.Background()
	hub := e.hub.Hub
	name := fmt.Sprintf("eve-%d", time.Now().UnixNano())
	if err := hub.CreateUser(ctx, name); err != nil {
		t.Fatal(err)
	}
	oldTok, err := hub.Token(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	e.linkAs(t, oldTok, "old-eve")
	code, cred := e.callAs(t, "GET", "/v1/credentials/github", oldTok)
	if code != 200 {
		t.Fatalf("the linking account's credential: HTTP %d %v", code, cred)
	}
	if info, err := e.fake.Check(cred["token"].(string)); err != nil || info.Login != "old-eve" {
		t.Fatalf("first token: %+v, %v", info, err)
	}
	// Cached now: a second request is served without the provider.
	if code, again := e.callAs(t, "GET", "/v1/credentials/github", oldTok); code != 200 || again["token"] != cred["token"] {
		t.Fatalf("second request: HTTP %d, same token %v", code, again["token"] == cred["token"])
	}

	if err := hub.API(ctx, http.MethodDelete, "/users/"+url.PathEscape(name), nil, http.StatusNoContent, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if err := hub.CreateUser(ctx, name); err != nil {
		t.Fatal(err)
	}
	newTok, err := hub.Token(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Second) // past hub.cache_ttl: the directory asks the hub again

	code, who := e.callAs(t, "GET", "/v1/whoami", newTok)
	gh, _ := who["github"].(map[string]any)
	if code != 200 || gh["linked"] != false || gh["status"] != "unlinked" {
		t.Errorf("whoami of the new account: HTTP %d github %v; want linked false", code, gh)
	}
	code, body := e.callAs(t, "GET", "/v1/credentials/github", newTok)
	if code != http.StatusConflict {
		t.Errorf("the new account's credential: HTTP %d %v; want 409 github_not_linked (not the old account's cached token)", code, body)
	}
	devices := e.fake.Count(fakegithub.EndpointDeviceCode)
	e.linkAs(t, newTok, "new-eve")
	if n := e.fake.Count(fakegithub.EndpointDeviceCode) - devices; n != 1 {
		t.Errorf("the new account's login requested %d device codes, want 1 (a fresh flow)", n)
	}
	code, cred2 := e.callAs(t, "GET", "/v1/credentials/github", newTok)
	if code != 200 {
		t.Fatalf("the new account after its login: HTTP %d %v", code, cred2)
	}
	if cred2["token"] == cred["token"] {
		t.Error("the new account was served the old account's token")
	}
	if info, err := e.fake.Check(cred2["token"].(string)); err != nil || info.Login != "new-eve" {
		t.Errorf("the new account's token: %+v, %v; want new-eve's", info, err)
	}
	e.checkNoSecrets(t, "logs", e.logs.String())
}

// TestOnePendingDeviceFlow: 20 concurrent POST /v1/github/login of one
// user cost one device code at GitHub and all answer the same login.
func TestOnePendingDeviceFlow(t *testing.T) {
	e := newAccountEnv(t)
	ctx := context.Background()
	name := fmt.Sprintf("dana-%d", time.Now().UnixNano())
	if err := e.hub.Hub.CreateUser(ctx, name); err != nil {
		t.Fatal(err)
	}
	tok, err := e.hub.Hub.Token(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	before := e.fake.Count(fakegithub.EndpointDeviceCode)
	const n = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]int{}
	for range n {
		wg.Go(func() {
			code, l := e.callAs(t, "POST", "/v1/github/login", tok)
			if code != 200 {
				t.Errorf("POST /v1/github/login: HTTP %d %v", code, l)
				return
			}
			mu.Lock()
			seen[fmt.Sprint(l["login_id"], " ", l["user_code"])]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if got := e.fake.Count(fakegithub.EndpointDeviceCode) - before; got != 1 {
		t.Errorf("%d concurrent logins requested %d device codes at GitHub, want 1", n, got)
	}
	if len(seen) != 1 {
		t.Errorf("concurrent logins answered %d different logins: %v", len(seen), seen)
	}
	var buf bytes.Buffer
	buf.WriteString(e.logs.String())
	e.checkNoSecrets(t, "logs", buf.String())
}
