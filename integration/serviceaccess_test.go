package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/app"
	"github.com/credserver/credserver/internal/testenv/peers"
)

// serverEnvScript is the Spawner.cmd of the test hub: it records what the
// hub gave the real jupyterhub-singleuser it then becomes (its API token
// and OAuth client) in a file only this user can read, so the test can act
// with that server's own token. Arguments: the file, jupyterhub-singleuser.
const serverEnvScript = `#!/bin/sh
umask 077
printf '{"api_token": "%%s", "client_id": "%%s", "callback": "%%s"}\n' \
  "$JUPYTERHUB_API_TOKEN" "$JUPYTERHUB_CLIENT_ID" "$JUPYTERHUB_OAUTH_CALLBACK_URL" > %q
exec %q "$@"
`

// TestOnlyTokensMeantForCredserver runs the real JupyterHub 3, its real
// proxy and a real jupyterhub-singleuser, configured by the repo's snippet
// (deploy/jupyterhub/jupyterhub_config.py, which alone gives tokens the
// scope credserver requires: BareRoles), and tries every kind of token the
// hub issues:
//
//   - a second hub service's OAuth token for a user (the real
//     authorization-code flow) → 403 token_not_for_credserver, no STS call;
//   - the OAuth token a user's server is handed when an admin opens it →
//     refused the same way;
//   - the spawned server's own JUPYTERHUB_API_TOKEN → 200, and the server
//     still works (reachable through the proxy, reports activity);
//   - a personal token made without the scope → 403 naming the fix.
func TestOnlyTokensMeantForCredserver(t *testing.T) {
	peers.Require(t, "jupyterhub", "configurable-http-proxy", "jupyterhub-singleuser", "minio")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	minio := startMinIOIn(ctx, t, dir, 0o700, []string{"home"}, "hub-scratch")

	singleuser, err := peers.Bin("jupyterhub-singleuser")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "singleuser.sh")
	body := fmt.Appendf(nil, serverEnvScript, filepath.Join(dir, "server-$JUPYTERHUB_USER.json"), singleuser)
	if err := os.WriteFile(script, body, 0o700); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	credURL := "http://" + ln.Addr().String()
	handler := serve(t, ln)
	snippet, err := os.ReadFile(hubSnippet)
	if err != nil {
		t.Fatal(err)
	}
	dashToken := randomToken(t)
	const dashCallback = "http://127.0.0.1:9/dashboard/oauth_callback" // never followed
	extra := fmt.Sprintf(`import os
os.environ["CREDSERVER_URL"] = %q
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = %q
c.Spawner.cmd = [%q]
c.Spawner.args = ["--allow-root"]  # the test may run as root
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 90
c.Authenticator.admin_users = {"boss"}
# Another OAuth client of the hub: a dashboard any user may log in to.
c.JupyterHub.services.append({
    "name": "dashboard",
    "api_token": %q,
    "oauth_redirect_uri": %q,
    "oauth_no_confirm": True,
})
# Who may log in to the dashboard (the hub creates alice for this role).
c.JupyterHub.load_roles.append(
    {"name": "dashboard-users", "scopes": ["access:services!service=dashboard"], "users": ["alice"]}
)

%s`, credURL, filepath.Join(dir, "home", "{username}"), script, dashToken, dashCallback, snippet)
	hub, err := peers.StartHub(ctx, peers.HubOptions{Dir: filepath.Join(dir, "hub"), Proxy: true, BareRoles: true, ExtraConfig: extra, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Close() })
	sts := &countingTransport{}
	handler.Store(buildCredserverWith(t, ln.Addr().String(), hub, minio, app.Options{
		STSClient: &http.Client{Transport: sts, Timeout: 30 * time.Second},
	}))
	base := hub.URL + "/services/credserver"
	waitProxied(t, base+"/")

	const user = "alice"
	// The hub creates alice (role dashboard-users) and the admin boss
	// (admin_users) itself.
	personal, err := hub.Token(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	refused := func(t *testing.T, what, tok string) {
		t.Helper()
		before := sts.Count()
		for _, path := range []string{"/v1/credentials/scratch", "/v1/whoami"} {
			r := call(t, base+path, "token "+tok)
			e, _ := r.Body["error"].(map[string]any)
			msg, _ := e["message"].(string)
			if r.Status != 403 || errCode(r) != "token_not_for_credserver" ||
				!strings.Contains(msg, "access:services!service=credserver") || !strings.Contains(msg, "load_roles") {
				t.Errorf("%s: GET %s = %d %s, want 403 token_not_for_credserver naming the scope and the fix", what, path, r.Status, r.Raw)
			}
		}
		if n := sts.Count() - before; n != 0 {
			t.Errorf("%s: %d STS calls, want none", what, n)
		}
	}

	t.Run("personal token with the scope", func(t *testing.T) {
		got := hubScopes(t, hub, personal)
		t.Logf("personal token (default scopes): hub lists %v", got)
		if !slices.Contains(got, "access:services!service=credserver") {
			t.Errorf("a personal token's scopes %v lack the snippet's access:services!service=credserver", got)
		}
		if r := call(t, base+"/v1/credentials/scratch", "token "+personal); r.Status != 200 {
			t.Errorf("personal token = %d %s, want 200", r.Status, r.Raw)
		}
	})

	t.Run("personal token without the scope", func(t *testing.T) {
		tok, err := hub.TokenWithScopes(ctx, user, []string{"read:users:groups!user"})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("personal token with scopes [read:users:groups!user]: hub lists %v", hubScopes(t, hub, tok))
		refused(t, "personal token without the scope", tok)
	})

	t.Run("another service's OAuth token", func(t *testing.T) {
		jar := login(t, hub, user)
		code := authorize(t, hub, jar, "service-dashboard", dashCallback, false)
		tok := oauthExchange(t, hub, "service-dashboard", dashToken, dashCallback, code)
		scopes := hubScopes(t, hub, tok)
		t.Logf("dashboard's OAuth token for alice: hub lists %v", scopes)
		if !slices.Contains(scopes, "access:services!service=dashboard") {
			t.Errorf("the dashboard's token scopes %v lack its own access scope: not the token under test", scopes)
		}
		refused(t, "the dashboard's OAuth token", tok)
	})

	// alice starts her server with her own token, as the hub's home page does.
	if err := userAPI(ctx, hub, personal, http.MethodPost, "/users/"+user+"/server", http.StatusCreated, http.StatusAccepted); err != nil {
		t.Fatalf("start alice's server: %v\n%s", err, hub.LogTail())
	}
	t.Cleanup(func() {
		_ = userAPI(context.Background(), hub, personal, http.MethodDelete, "/users/"+user+"/server", http.StatusNoContent, http.StatusAccepted)
	})
	srv := waitServer(t, ctx, hub, personal, dir, user)

	t.Run("the spawned server's own token", func(t *testing.T) {
		scopes := hubScopes(t, hub, srv.APIToken)
		t.Logf("server token (JUPYTERHUB_API_TOKEN): hub lists %v", scopes)
		for _, want := range []string{"access:services!service=credserver", "users:activity!user=alice", "access:servers!user=alice"} {
			if !slices.Contains(scopes, want) {
				t.Errorf("the server token's scopes %v lack %s", scopes, want)
			}
		}
		r := call(t, base+"/v1/credentials/scratch", "token "+srv.APIToken)
		if r.Status != 200 {
			t.Fatalf("server token = %d %s, want 200", r.Status, r.Raw)
		}
		checkScopedS3(t, ctx, minio.Endpoint, r.Body, user)
		// The redefined server role kept the hub's scopes: the server is
		// reachable through the proxy with its token, and may report
		// activity as jupyterhub-singleuser does.
		if r := call(t, hub.URL+"/user/"+user+"/api/status", "token "+srv.APIToken); r.Status != 200 {
			t.Errorf("the server's API through the proxy = %d %s", r.Status, r.Raw)
		}
		now := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
		activity := map[string]any{"last_activity": now, "servers": map[string]any{"": map[string]any{"last_activity": now}}}
		if err := userAPIBody(ctx, hub, srv.APIToken, http.MethodPost, "/users/"+user+"/activity", activity, http.StatusOK, http.StatusNoContent); err != nil {
			t.Errorf("activity report with the server token: %v", err)
		}
	})

	t.Run("the OAuth token an admin's visit hands the server", func(t *testing.T) {
		jar := login(t, hub, "boss")
		// The admin's browser follows the server's redirect to the hub's
		// authorize URL; the hub asks the admin to confirm (it is not the
		// admin's own server) and redirects to the server's callback with
		// a code. We stop there and exchange the code with the server's own
		// client credentials, exactly as jupyterhub-singleuser would.
		code := authorize(t, hub, jar, srv.ClientID, srv.Callback, true)
		tok := oauthExchange(t, hub, srv.ClientID, srv.APIToken, srv.Callback, code)
		scopes := hubScopes(t, hub, tok)
		t.Logf("admin's OAuth token for alice's server: hub lists %v", scopes)
		if !slices.Contains(scopes, "access:servers!server=alice/") {
			t.Errorf("scopes %v lack access:servers!server=alice/: not the token under test", scopes)
		}
		refused(t, "the admin's OAuth token for alice's server", tok)
	})
}

// spawned is what the hub gave a real jupyterhub-singleuser.
type spawned struct {
	APIToken string `json:"api_token"`
	ClientID string `json:"client_id"`
	Callback string `json:"callback"`
}

// waitServer waits until user's server is ready and returns what the hub
// gave it.
func waitServer(t *testing.T, ctx context.Context, hub *peers.Hub, tok, dir, user string) spawned {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var u struct {
			Servers map[string]struct {
				Ready bool `json:"ready"`
			} `json:"servers"`
		}
		err := userAPIOut(ctx, hub, tok, "/users/"+user, &u)
		if err == nil && u.Servers[""].Ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's server not ready (%v)\n%s", user, err, hub.LogTail())
		}
		time.Sleep(300 * time.Millisecond)
	}
	b, err := os.ReadFile(filepath.Join(dir, "server-"+user+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var s spawned
	if err := json.Unmarshal(b, &s); err != nil || s.APIToken == "" || s.ClientID == "" || s.Callback == "" {
		t.Fatalf("server environment: %v (fields set: token %v, client %q, callback %q)", err, s.APIToken != "", s.ClientID, s.Callback)
	}
	return s
}

// noRedirects is a browser that returns redirects instead of following them.
func noRedirects(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login logs user in at the hub's login form (the dummy authenticator) and
// returns the browser's cookies.
func login(t *testing.T, hub *peers.Hub, user string) http.CookieJar {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := noRedirects(jar)
	resp, err := c.PostForm(hub.URL+"/hub/login", url.Values{"username": {user}, "password": {"any"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login as %s = %d", user, resp.StatusCode)
	}
	return jar
}

// authorize runs the browser's part of the authorization-code flow for
// client and returns the code the hub redirects to callback with. confirm
// submits the hub's "Authorize access" form, as a person clicking it would.
func authorize(t *testing.T, hub *peers.Hub, jar http.CookieJar, client, callback string, confirm bool) string {
	t.Helper()
	c := noRedirects(jar)
	q := url.Values{"client_id": {client}, "redirect_uri": {callback}, "response_type": {"code"}, "state": {"s1"}}
	u := hub.URL + "/hub/api/oauth2/authorize?" + q.Encode()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if confirm {
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `name="scopes"`) {
			t.Fatalf("authorize %s = %d, want the confirmation form\n%s", client, resp.StatusCode, hub.LogTail())
		}
		form := url.Values{}
		for _, m := range strings.Split(string(page), `name="scopes" value="`)[1:] {
			form.Add("scopes", m[:strings.IndexByte(m, '"')])
		}
		req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Referer", u) // a browser sends it; the hub checks it
		if resp, err = c.Do(req); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), callback) {
		t.Fatalf("authorize %s = %d to %q, want a redirect to %s\n%s", client, resp.StatusCode, resp.Header.Get("Location"), callback, hub.LogTail())
	}
	code := loc.Query().Get("code")
	if code == "" || loc.Query().Get("state") != "s1" {
		t.Fatalf("authorize %s: redirect without code or state", client)
	}
	return code
}

// oauthExchange trades code for the access token at the hub, as client.
func oauthExchange(t *testing.T, hub *peers.Hub, client, secret, callback, code string) string {
	t.Helper()
	resp, err := http.PostForm(hub.URL+"/hub/api/oauth2/token", url.Values{
		"client_id": {client}, "client_secret": {secret}, "grant_type": {"authorization_code"},
		"code": {code}, "redirect_uri": {callback},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil || resp.StatusCode != 200 || out.AccessToken == "" {
		t.Fatalf("token exchange for %s = %d (%v)", client, resp.StatusCode, err)
	}
	return out.AccessToken
}

// hubScopes returns the scopes the hub lists for tok at GET /hub/api/user,
// which is what credserver reads.
func hubScopes(t *testing.T, hub *peers.Hub, tok string) []string {
	t.Helper()
	var u struct {
		Scopes []string `json:"scopes"`
	}
	if err := userAPIOut(t.Context(), hub, tok, "/user", &u); err != nil {
		t.Fatal(err)
	}
	return u.Scopes
}

// userAPIOut GETs path from the hub API with tok and decodes the answer.
func userAPIOut(ctx context.Context, hub *peers.Hub, tok, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, hub.APIURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "token "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s = %d", path, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

func userAPI(ctx context.Context, hub *peers.Hub, tok, method, path string, want ...int) error {
	return userAPIBody(ctx, hub, tok, method, path, nil, want...)
}

// userAPIBody calls the hub API with tok; a status not in want is an error.
func userAPIBody(ctx context.Context, hub *peers.Hub, tok, method, path string, body any, want ...int) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, hub.APIURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "token "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if !slices.Contains(want, resp.StatusCode) {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s %s = %d: %s", method, path, resp.StatusCode, b)
	}
	return nil
}
