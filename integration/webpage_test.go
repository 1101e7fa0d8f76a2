package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/credserver/credserver/internal/testenv/fakegithub"
)

// evilGroup is a hub group name made of markup: the page must show it as
// text, and no script in it may run.
const evilGroup = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`

// TestWebPage drives the page in a real headless Chromium through the
// real JupyterHub 3's real proxy: hub login and OAuth, grants, the GitHub
// device flow in the page, a cross-origin attack, markup in hub strings,
// cookie flags and headers, admin explain, hub token revocation, and no
// secret in anything the browser received.
func TestWebPage(t *testing.T) {
	e := newWebEnv(t)
	ctx := t.Context()
	for _, u := range []string{"alice", "bob", "root"} {
		if err := e.hub.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.hub.API(ctx, "PATCH", "/users/root", map[string]any{"admin": true}, http.StatusOK, nil); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"staff", evilGroup} {
		if err := e.hub.CreateGroup(ctx, g, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	var browsers []*browser
	alice := newBrowser(t)
	browsers = append(browsers, alice)

	t.Run("alice logs in at the hub and sees her grants", func(t *testing.T) {
		alice.login(t, e, "alice")
		if got := alice.eval(t, `document.getElementById("user").textContent`); got != "alice" {
			t.Errorf("user = %q", got)
		}
		rows := alice.eval(t, `Array.from(document.querySelectorAll("tr.grant")).map(r => r.innerText).join("\n")`)
		for _, want := range []string{"scratch", "s3://hub-scratch/alice/", "staff-data", "s3://hub-staff/", "github"} {
			if !strings.Contains(rows, want) {
				t.Errorf("grant rows lack %q:\n%s", want, rows)
			}
		}
		snip := alice.eval(t, `document.getElementById("snip-scratch-cli").textContent`)
		if snip != "aws --profile scratch --endpoint-url http://127.0.0.1:9000 s3 ls s3://hub-scratch/alice/" {
			t.Errorf("aws CLI snippet = %q", snip)
		}
		if got := alice.eval(t, `String(document.querySelector('button.copy[data-copy="snip-scratch-boto3"]').hidden)`); got != "false" {
			t.Errorf("copy button hidden = %s: the script did not run", got)
		}
		alice.do(t, "open the snippets", chromedp.Click(chromedp.CSS("#use-scratch summary")))
		alice.screenshot(t, "web-page.png")
	})

	t.Run("markup in a group name renders as text", func(t *testing.T) {
		groups := alice.eval(t, `document.getElementById("groups").textContent`)
		if !strings.Contains(groups, evilGroup) {
			t.Errorf("groups text = %q, want the markup as text", groups)
		}
		if got := alice.eval(t, `String(window.__pwned)`); got != "undefined" {
			t.Errorf("a script from the group name ran: window.__pwned = %s", got)
		}
		if n := alice.eval(t, `String(document.querySelectorAll("#groups img, #groups script").length)`); n != "0" {
			t.Errorf("%s elements made from the group name", n)
		}
	})

	t.Run("cookie flags and headers", func(t *testing.T) {
		res, err := chromedp.Call(alice.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{e.base + "/"}})
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, c := range res.Cookies {
			if c.Name != "credserver-session" {
				continue
			}
			found = true
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || c.Path != "/services/credserver" || c.Secure {
				t.Errorf("session cookie: httpOnly %v sameSite %q path %q secure %v (http: not Secure)", c.HTTPOnly, c.SameSite, c.Path, c.Secure)
			}
		}
		if !found {
			t.Fatalf("no session cookie among %d", len(res.Cookies))
		}
		var page *received
		for _, r := range alice.responses() {
			if r.URL == e.base+"/" && r.Status == 200 {
				page = &r
			}
		}
		if page == nil {
			t.Fatal("the browser recorded no page response")
		}
		csp := page.Header["content-security-policy"]
		for _, want := range []string{"default-src 'none'", "script-src 'nonce-", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP allows inline code: %q", csp)
		}
		for k, want := range map[string]string{"referrer-policy": "no-referrer", "cache-control": "no-store", "x-frame-options": "DENY", "x-content-type-options": "nosniff"} {
			if page.Header[k] != want {
				t.Errorf("%s = %q, want %q", k, page.Header[k], want)
			}
		}
	})

	t.Run("Link GitHub in the page", func(t *testing.T) {
		if href := alice.eval(t, `document.getElementById("gh-app").href`); href != "https://github.example/apps/hub-credentials" {
			t.Errorf("App link = %q", href)
		}
		if got := alice.eval(t, `document.getElementById("gh-link").textContent`); got != "Link GitHub" {
			t.Errorf("button = %q", got)
		}
		alice.eval(t, `window.__sameDocument = "yes"`)
		alice.do(t, "Link GitHub", chromedp.Click(chromedp.ID("gh-link")), chromedp.WaitVisible(chromedp.ID("gh-code")))
		code := alice.eval(t, `document.getElementById("gh-code").textContent`)
		if code == "" || code != e.fake.LastUserCode() {
			t.Fatalf("the page shows code %q, the fake issued %q", code, e.fake.LastUserCode())
		}
		if v := alice.eval(t, `document.getElementById("gh-verify").href`); !strings.HasPrefix(v, e.fake.URL()+"/login/device") {
			t.Errorf("verification link = %q", v)
		}
		alice.screenshot(t, "web-github-code.png")
		if err := e.fake.Approve(code, "alice-gh"); err != nil {
			t.Fatal(err)
		}
		alice.do(t, "wait for the link", chromedp.WaitVisible(chromedp.ID("gh-login")))
		if got := alice.eval(t, `document.getElementById("gh-login").textContent`); got != "alice-gh" {
			t.Errorf("linked as %q", got)
		}
		if got := alice.eval(t, `String(window.__sameDocument)`); got != "yes" {
			t.Error("the page reloaded to show the link; it should update by itself")
		}
		alice.screenshot(t, "web-github-linked.png")
	})

	t.Run("another origin's forms change nothing", func(t *testing.T) {
		devices := e.fake.Count(fakegithub.EndpointDeviceCode)
		// Another port on the same host: a different origin but the same
		// site, so SameSite=Lax still sends the cookie. Only the CSRF token
		// and the origin checks stand in the way.
		routes := []string{"/web/github/login", "/web/github/poll", "/web/github/unlink", "/web/logout", "/web/tokens", "/web/tokens/revoke"}
		var forms strings.Builder
		for i, r := range routes {
			fmt.Fprintf(&forms, `<iframe name="f%d"></iframe><form target="f%d" method="post" action="%s%s"><input name="csrf" value="guess"><input name="login_id" value="x"><input name="id" value="x"><input name="grant" value="scratch"></form>`, i, i, e.base, r)
		}
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<!doctype html><body>%s<script>document.querySelectorAll("form").forEach(f => f.submit()); setTimeout(() => document.title = "done", 2000)</script></body>`, forms.String())
		}))
		defer evil.Close()
		before := len(alice.responses())
		alice.do(t, "visit the attacker's page", chromedp.Navigate(evil.URL), chromedp.Poll[chromedp.Void](`document.title === "done"`))
		var attacked int
		for _, r := range alice.responses()[before:] {
			for _, route := range routes {
				if r.URL == e.base+route {
					attacked++
					if r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
						t.Errorf("POST %s from another origin = %d", route, r.Status)
					}
				}
			}
		}
		if attacked < 4 {
			t.Errorf("only %d of the attacker's posts reached credserver", attacked)
		}
		alice.do(t, "back to the page", chromedp.Navigate(e.base+"/"), chromedp.WaitVisible(chromedp.ID("grants")))
		if got := alice.eval(t, `document.getElementById("gh-status").innerText`); !strings.Contains(got, "Linked as alice-gh") {
			t.Errorf("after the attack the page says %q (unlinked or logged out)", got)
		}
		if n := e.fake.Count(fakegithub.EndpointDeviceCode); n != devices {
			t.Errorf("the attack started %d device flows", n-devices)
		}
	})

	t.Run("Unlink GitHub in the page", func(t *testing.T) {
		alice.do(t, "Unlink GitHub", chromedp.Click(chromedp.ID("gh-unlink")), chromedp.WaitVisible(chromedp.ID("gh-link")))
		alice.do(t, "reload", chromedp.Navigate(e.base+"/"), chromedp.WaitVisible(chromedp.ID("grants")))
		if got := alice.eval(t, `document.getElementById("gh-status").innerText`); got != "Not linked." {
			t.Errorf("after unlink, reloaded: %q", got)
		}
	})

	var delegToken string
	t.Run("delegation token: create in the page, use, revoke in the page", func(t *testing.T) {
		alice.do(t, "Create token",
			chromedp.Click(chromedp.CSS(`#token-form input[value="scratch"]`)),
			chromedp.SendKeys(chromedp.CSS(`#token-form input[name=note]`), "dask <b>cluster</b>"),
			chromedp.Click(chromedp.ID("token-create")),
			chromedp.WaitVisible(chromedp.ID("new-token")))
		delegToken = alice.eval(t, `document.getElementById("new-token").textContent`)
		if !strings.HasPrefix(delegToken, "csd_") {
			t.Fatalf("new token = %q", delegToken)
		}
		alice.screenshot(t, "web-token-created.png")
		if note := alice.eval(t, `document.querySelector("tr.token").innerText`); !strings.Contains(note, "dask <b>cluster</b>") {
			t.Errorf("token row = %q (the note as text)", note)
		}
		who := call(t, e.base+"/v1/whoami", "Bearer "+delegToken)
		if who.Status != 200 || who.Body["user"] != "alice" || !strings.Contains(who.Raw, `"scratch"`) || strings.Contains(who.Raw, "staff-data") {
			t.Fatalf("whoami with the delegation token = %d %s\nlogs:\n%s", who.Status, who.Raw, e.logs)
		}
		alice.do(t, "reload: the token is not shown again", chromedp.Navigate(e.base+"/"), chromedp.WaitVisible(chromedp.ID("tokens")))
		if n := alice.eval(t, `String(document.querySelectorAll("#new-token").length)`); n != "0" {
			t.Error("the token is shown again after a reload")
		}
		if resp, err := chromedp.RunResponse(alice.ctx, chromedp.Click(chromedp.CSS("tr.token button.revoke"))); err != nil || resp.Status != 200 {
			t.Fatalf("Revoke: %v", err)
		}
		alice.do(t, "the page after Revoke", chromedp.WaitVisible(chromedp.ID("tokens")))
		if n := alice.eval(t, `String(document.querySelectorAll("tr.token").length)`); n != "0" {
			t.Errorf("%s tokens listed after Revoke", n)
		}
		if r := call(t, e.base+"/v1/whoami", "Bearer "+delegToken); r.Status != 401 && r.Status != 403 {
			t.Errorf("whoami with the revoked token = %d %s", r.Status, r.Raw)
		}
	})

	bob := newBrowser(t)
	browsers = append(browsers, bob)
	t.Run("bob sees no staff grant and may not explain", func(t *testing.T) {
		bob.login(t, e, "bob")
		rows := bob.eval(t, `document.getElementById("grants").innerText`)
		if !strings.Contains(rows, "s3://hub-scratch/bob/") || strings.Contains(rows, "staff") || strings.Contains(rows, "alice") {
			t.Errorf("bob's grants:\n%s", rows)
		}
		if n := bob.eval(t, `String(document.querySelectorAll("#explain").length)`); n != "0" {
			t.Error("bob's page offers Explain")
		}
		resp, err := chromedp.Run(bob.ctx, chromedp.NavigateResponse(e.base+"/admin/explain?user=alice"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != http.StatusForbidden {
			t.Errorf("bob at /admin/explain = %d, want 403", resp.Status)
		}
	})

	root := newBrowser(t)
	browsers = append(browsers, root)
	t.Run("an admin explains another user", func(t *testing.T) {
		root.login(t, e, "root")
		root.do(t, "Explain alice",
			chromedp.SendKeys(chromedp.CSS(`#explain input[name=user]`), "alice"),
			chromedp.Click(chromedp.ID("explain-submit")),
			chromedp.WaitVisible(chromedp.ID("explain-summary")))
		sum := root.eval(t, `document.getElementById("explain-summary").innerText`)
		if !strings.Contains(sum, "staff") || !strings.Contains(sum, "from the hub") || !strings.Contains(sum, "3 of 3 grants allowed") {
			t.Errorf("explain summary = %q", sum)
		}
		row := root.eval(t, `document.querySelector('#explain tr[data-grant="staff-data"]').innerText`)
		if !strings.Contains(row, "ALLOW") || !strings.Contains(row, `allow.groups "staff"`) {
			t.Errorf("staff-data row = %q", row)
		}
		if got := root.eval(t, `String(window.__pwned)`); got != "undefined" {
			t.Errorf("alice's group name ran a script in the admin's page: %s", got)
		}
		root.screenshot(t, "web-explain.png")
		root.do(t, "Explain bob as staff", chromedp.Navigate(e.base+"/admin/explain?user=bob&groups=staff"), chromedp.WaitVisible(chromedp.ID("explain-summary")))
		if sum := root.eval(t, `document.getElementById("explain-summary").innerText`); !strings.Contains(sum, "from the form") || !strings.Contains(sum, "3 of 3") {
			t.Errorf("explain with groups = %q", sum)
		}
	})

	t.Run("a revoked hub token ends the session", func(t *testing.T) {
		res, err := chromedp.Call(bob.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{e.base + "/"}})
		if err != nil {
			t.Fatal(err)
		}
		var sess string
		for _, c := range res.Cookies {
			if c.Name == "credserver-session" {
				sess = c.Value
			}
		}
		if resp, body := httpGet(t, e.base+"/", sess); resp.StatusCode != 200 || !strings.Contains(body, "s3://hub-scratch/bob/") {
			t.Fatalf("the session cookie alone = %d", resp.StatusCode)
		}
		var toks struct {
			APITokens []struct {
				ID          string `json:"id"`
				OAuthClient string `json:"oauth_client"`
			} `json:"api_tokens"`
		}
		if err := e.hub.API(ctx, "GET", "/users/bob/tokens", nil, http.StatusOK, &toks); err != nil {
			t.Fatal(err)
		}
		revoked := 0
		for _, tk := range toks.APITokens {
			if err := e.hub.API(ctx, "DELETE", "/users/bob/tokens/"+tk.ID, nil, http.StatusNoContent, nil); err != nil {
				t.Fatal(err)
			}
			revoked++
		}
		if revoked == 0 {
			t.Fatalf("bob has no hub token to revoke: %+v", toks)
		}
		time.Sleep(webCacheTTL + 500*time.Millisecond)
		resp, body := httpGet(t, e.base+"/", sess)
		if resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "/hub/api/oauth2/authorize") || strings.Contains(body, "bob") {
			t.Errorf("within hub.cache_ttl of the revocation the page answered %d %q", resp.StatusCode, body)
		}
	})

	t.Run("nothing the browser received holds a credential or token", func(t *testing.T) {
		hexTok := regexp.MustCompile(`\b[0-9a-f]{32}\b|\b[0-9a-f]{64}\b`)
		ghTok := regexp.MustCompile(`gh[opsur]_[A-Za-z0-9_]{10,}`)
		n := 0
		for _, b := range browsers {
			for _, r := range b.responses() {
				n++
				all := r.Body
				for k, v := range r.Header {
					all += "\n" + k + ": " + v
				}
				for _, s := range e.secrets {
					if strings.Contains(all, s) {
						t.Errorf("%s holds a secret", r.URL)
					}
				}
				if delegToken != "" {
					// The one token the page may show, in the answer to
					// Create token, and only there.
					created := r.Status == 200 && strings.HasSuffix(r.URL, "/web/tokens")
					if strings.Contains(all, delegToken) && !created {
						t.Errorf("%s holds the delegation token outside its creation", r.URL)
					}
					if strings.Count(all, "csd_") > strings.Count(all, delegToken) {
						t.Errorf("%s holds another delegation token", r.URL)
					}
				}
				if m := ghTok.FindString(all); m != "" {
					t.Errorf("%s holds a GitHub token", r.URL)
				}
				for _, cand := range hexTok.FindAllString(all, -1) {
					if tokenWorksAtHub(t, e, cand) {
						t.Errorf("%s holds a working hub token", r.URL)
					}
				}
			}
		}
		if n < 10 {
			t.Errorf("only %d responses recorded", n)
		}
	})
}

// tokenWorksAtHub reports whether tok authenticates at the hub's API.
func tokenWorksAtHub(t *testing.T, e *webEnv, tok string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.hub.APIURL+"/user", nil)
	req.Header.Set("Authorization", "token "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}
