package server

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/web"
)

const (
	webBase   = "/services/credserver"
	webSecret = "service-api-token-0123456789"
)

// webFixture is a server with the page on, and a fake hub token endpoint
// that turns the code "code-<tok>" into the hub token <tok>.
type webFixture struct {
	*fixture
	exchanges atomic.Int32
}

func newWebFixture(t *testing.T, a fakeAuth, opts ...func(*Deps)) *webFixture {
	t.Helper()
	wf := &webFixture{}
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/hub/api/oauth2/token" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotImplemented)
			return
		}
		wf.exchanges.Add(1)
		_ = r.ParseForm()
		f := r.PostForm
		if f.Get("client_id") != "service-credserver" || f.Get("client_secret") != webSecret ||
			f.Get("grant_type") != "authorization_code" || f.Get("redirect_uri") != webBase+"/oauth_callback" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusBadRequest)
			return
		}
		tok, ok := strings.CutPrefix(f.Get("code"), "code-")
		if !ok {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"`+tok+`","token_type":"Bearer"}`)
	}))
	t.Cleanup(hub.Close)
	wf.fixture = newFixture(t, a, func(d *Deps) {
		d.Web = &web.Options{
			BasePath: webBase, HubAPIURL: hub.URL + "/hub/api", ServiceName: "credserver",
			RedirectURI: webBase + "/oauth_callback", ClientSecret: webSecret,
			SessionKey: []byte("0123456789abcdef0123456789abcdef-session"),
			Providers:  map[string]web.ProviderInfo{"s3": {Type: "aws", S3Endpoint: "http://127.0.0.1:9000"}},
		}
		for _, o := range opts {
			o(d)
		}
	})
	return wf
}

// req serves one request with the given cookies and headers.
func (wf *webFixture) req(method, target string, body url.Values, cookies []*http.Cookie, hdr map[string]string) *http.Response {
	var r *http.Request
	if body != nil {
		r = httptest.NewRequest(method, target, strings.NewReader(body.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	wf.srv.Handler().ServeHTTP(rec, r)
	return rec.Result()
}

func cookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var browser = map[string]string{"Accept": "text/html,application/xhtml+xml"}

// login runs the OAuth flow for tok and returns the session cookie.
func (wf *webFixture) login(t *testing.T, tok string) *http.Cookie {
	t.Helper()
	r := wf.req("GET", webBase+"/", nil, nil, browser)
	if r.StatusCode != http.StatusFound {
		t.Fatalf("GET / without a session = %d, want 302", r.StatusCode)
	}
	loc, _ := url.Parse(r.Header.Get("Location"))
	q := loc.Query()
	if loc.Path != "/hub/api/oauth2/authorize" || q.Get("client_id") != "service-credserver" ||
		q.Get("redirect_uri") != webBase+"/oauth_callback" || q.Get("response_type") != "code" || len(q.Get("state")) < 40 {
		t.Fatalf("redirect to %s", loc)
	}
	st := cookie(r, "credserver-oauth-state")
	if st == nil || !st.HttpOnly || st.SameSite != http.SameSiteLaxMode || st.Path != webBase+"/oauth_callback" {
		t.Fatalf("state cookie = %+v", st)
	}
	cb := wf.req("GET", webBase+"/oauth_callback?code=code-"+tok+"&state="+url.QueryEscape(q.Get("state")), nil, []*http.Cookie{st}, browser)
	if cb.StatusCode != http.StatusSeeOther || cb.Header.Get("Location") != webBase+"/" {
		t.Fatalf("callback = %d %s", cb.StatusCode, readBody(t, cb))
	}
	sc := cookie(cb, "credserver-session")
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != webBase || sc.Secure {
		t.Fatalf("session cookie = %+v", sc)
	}
	if strings.Contains(sc.Value, tok) {
		t.Fatal("the session cookie holds the hub token in clear")
	}
	return sc
}

func TestWebProbeAndLogin(t *testing.T) {
	wf := newWebFixture(t, defaultAuth())
	// The hub's service probe sends no cookie and no Accept: text/html.
	for _, p := range []string{webBase + "/", webBase} {
		if r := wf.req("GET", p, nil, nil, nil); r.StatusCode != 200 || !strings.Contains(readBody(t, r), `"service":"credserver"`) {
			t.Errorf("probe GET %s = %d", p, r.StatusCode)
		}
	}
	if r := wf.req("GET", webBase, nil, nil, browser); r.StatusCode != http.StatusFound || r.Header.Get("Location") != webBase+"/" {
		t.Errorf("browser GET %s = %d %s", webBase, r.StatusCode, r.Header.Get("Location"))
	}
	sc := wf.login(t, "tok-alice")
	r := wf.req("GET", webBase+"/", nil, []*http.Cookie{sc}, browser)
	body := readBody(t, r)
	if r.StatusCode != 200 || !strings.Contains(body, "s3://hub-scratch/alice/") || !strings.Contains(body, "s3://hub-shared/") {
		t.Fatalf("page = %d\n%s", r.StatusCode, body)
	}
	if !strings.Contains(body, `endpoint_url=&#34;http://127.0.0.1:9000&#34;`) || !strings.Contains(body, "--endpoint-url http://127.0.0.1:9000") {
		t.Errorf("snippets lack the S3 endpoint:\n%s", body)
	}
	if strings.Contains(body, "tok-alice") || strings.Contains(body, webSecret) {
		t.Error("the page holds a token")
	}
	h := r.Header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'nonce-", "style-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if h.Get("Referrer-Policy") != "no-referrer" || h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers = %v", h)
	}
	nonce := csp[strings.Index(csp, "'nonce-")+7:]
	nonce = nonce[:strings.Index(nonce, "'")]
	if !strings.Contains(body, `nonce="`+nonce+`"`) || strings.Count(body, "<script") != 1 {
		t.Errorf("the page's one script does not carry the nonce %q", nonce)
	}
	// bob sees no staff grant.
	bc := wf.login(t, "tok-bob")
	if b := readBody(t, wf.req("GET", webBase+"/", nil, []*http.Cookie{bc}, browser)); strings.Contains(b, "hub-shared") || !strings.Contains(b, "s3://hub-scratch/bob/") {
		t.Errorf("bob's page:\n%s", b)
	}
}

func TestWebCallbackRefusesForeignState(t *testing.T) {
	wf := newWebFixture(t, defaultAuth())
	r := wf.req("GET", webBase+"/", nil, nil, browser)
	st := cookie(r, "credserver-oauth-state")
	loc, _ := url.Parse(r.Header.Get("Location"))
	state := loc.Query().Get("state")
	for name, c := range map[string]struct {
		state  string
		cookie []*http.Cookie
	}{
		"no cookie":      {state, nil},
		"other state":    {"x" + state, []*http.Cookie{st}},
		"forged cookie":  {state, []*http.Cookie{{Name: st.Name, Value: st.Value[:len(st.Value)-2] + "AA"}}},
		"session cookie": {state, []*http.Cookie{{Name: st.Name, Value: wf.login(t, "tok-bob").Value}}},
	} {
		resp := wf.req("GET", webBase+"/oauth_callback?code=code-tok-alice&state="+url.QueryEscape(c.state), nil, c.cookie, browser)
		if resp.StatusCode != http.StatusBadRequest || cookie(resp, "credserver-session") != nil {
			t.Errorf("%s: callback = %d", name, resp.StatusCode)
		}
	}
	if n := wf.exchanges.Load(); n != 1 { // bob's login only
		t.Errorf("%d code exchanges, want 1", n)
	}
}

func TestWebRevokedTokenEndsSession(t *testing.T) {
	a := defaultAuth()
	a["tok-carol"] = auth.Identity{Name: "carol"}
	wf := newWebFixture(t, a)
	sc := wf.login(t, "tok-carol")
	if r := wf.req("GET", webBase+"/", nil, []*http.Cookie{sc}, browser); r.StatusCode != 200 {
		t.Fatalf("page = %d", r.StatusCode)
	}
	a["tok-carol"] = auth.ErrInvalidToken
	r := wf.req("GET", webBase+"/", nil, []*http.Cookie{sc}, browser)
	body := readBody(t, r)
	if r.StatusCode != http.StatusFound || strings.Contains(body, "carol") {
		t.Errorf("after revocation: %d %s", r.StatusCode, body)
	}
	if c := cookie(r, "credserver-session"); c == nil || c.MaxAge >= 0 {
		t.Errorf("session cookie not cleared: %+v", c)
	}
}

func TestWebCSRF(t *testing.T) {
	wf := newWebFixture(t, defaultAuth())
	sc := wf.login(t, "tok-alice")
	page := readBody(t, wf.req("GET", webBase+"/", nil, []*http.Cookie{sc}, browser))
	i := strings.Index(page, `name="csrf" value="`)
	if i < 0 {
		t.Fatal("no csrf field in the page")
	}
	csrf := html.UnescapeString(page[i+19 : i+19+strings.Index(page[i+19:], `"`)])
	for _, path := range []string{"/web/github/login", "/web/github/poll", "/web/github/unlink", "/web/logout"} {
		for name, c := range map[string]struct {
			form url.Values
			hdr  map[string]string
		}{
			"no token":         {url.Values{}, nil},
			"wrong token":      {url.Values{"csrf": {csrf + "x"}}, nil},
			"other origin":     {url.Values{"csrf": {csrf}}, map[string]string{"Origin": "https://evil.example"}},
			"cross-site fetch": {url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
			"null origin":      {url.Values{"csrf": {csrf}}, map[string]string{"Origin": "null"}},
			"same-site":        {url.Values{"csrf": {csrf}}, map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-site"}},
			"other origin, same-origin claimed wrong": {url.Values{"csrf": {csrf + "x"}}, map[string]string{"Sec-Fetch-Site": "same-origin"}},
		} {
			r := wf.req("POST", webBase+path, c.form, []*http.Cookie{sc}, c.hdr)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s (%s) = %d, want 403", path, name, r.StatusCode)
			}
		}
	}
	// With the token and from this origin, logout works: a form post of
	// this page carries Origin: null (Referrer-Policy: no-referrer) and
	// Sec-Fetch-Site: same-origin.
	r := wf.req("POST", webBase+"/web/logout", url.Values{"csrf": {csrf}}, []*http.Cookie{sc}, map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"})
	if r.StatusCode != 200 || cookie(r, "credserver-session").MaxAge >= 0 {
		t.Errorf("logout = %d", r.StatusCode)
	}
}

func TestWebEscapesHubStrings(t *testing.T) {
	a := defaultAuth()
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	a["tok-evil"] = auth.Identity{Name: "eve", Groups: []string{evil}}
	wf := newWebFixture(t, a)
	sc := wf.login(t, "tok-evil")
	body := readBody(t, wf.req("GET", webBase+"/", nil, []*http.Cookie{sc}, browser))
	if strings.Contains(body, evil) || strings.Contains(body, "<img") || !strings.Contains(body, html.EscapeString(evil)) {
		t.Errorf("hostile group not escaped:\n%s", body)
	}
}

func TestWebExplainAdminOnly(t *testing.T) {
	a := defaultAuth()
	a["tok-root"] = auth.Identity{Name: "root", Admin: true}
	wf := newWebFixture(t, a)
	bob := wf.login(t, "tok-bob")
	if r := wf.req("GET", webBase+"/admin/explain?user=alice&groups=staff", nil, []*http.Cookie{bob}, browser); r.StatusCode != http.StatusForbidden {
		t.Errorf("non-admin explain = %d", r.StatusCode)
	}
	if strings.Contains(readBody(t, wf.req("GET", webBase+"/", nil, []*http.Cookie{bob}, browser)), "explain-submit") {
		t.Error("a non-admin's page shows Explain")
	}
	root := wf.login(t, "tok-root")
	r := wf.req("GET", webBase+"/admin/explain?user=alice&groups=staff", nil, []*http.Cookie{root}, browser)
	body := readBody(t, r)
	if r.StatusCode != 200 || !strings.Contains(body, "2 of 2 grants allowed") || !strings.Contains(body, "s3://hub-shared/") ||
		!strings.Contains(body, `allow.groups &#34;staff&#34;`) {
		t.Errorf("admin explain = %d\n%s", r.StatusCode, body)
	}
	body = readBody(t, wf.req("GET", webBase+"/admin/explain?user=mallory&groups=interns", nil, []*http.Cookie{root}, browser))
	if !strings.Contains(body, "1 of 2 grants allowed") || !strings.Contains(body, "DENY") {
		t.Errorf("explain mallory:\n%s", body)
	}
}

func TestWebSecureCookieBehindHTTPS(t *testing.T) {
	wf := newWebFixture(t, defaultAuth())
	https := map[string]string{"Accept": "text/html", "X-Forwarded-Proto": "https"}
	r := wf.req("GET", webBase+"/", nil, nil, https)
	st := cookie(r, "credserver-oauth-state")
	if st == nil || !st.Secure {
		t.Fatalf("state cookie behind https = %+v, want Secure", st)
	}
	loc, _ := url.Parse(r.Header.Get("Location"))
	cb := wf.req("GET", webBase+"/oauth_callback?code=code-tok-alice&state="+url.QueryEscape(loc.Query().Get("state")), nil, []*http.Cookie{st}, https)
	if sc := cookie(cb, "credserver-session"); sc == nil || !sc.Secure || !sc.HttpOnly {
		t.Errorf("session cookie behind https = %+v, want Secure and HttpOnly", sc)
	}
}

// TestWebAdminFromDirectory: the hub's OAuth token cannot read the admin
// flag, so the page asks the directory (credserver's service token); the
// explained user's groups come from there too unless the form gives them.
func TestWebAdminFromDirectory(t *testing.T) {
	dir := &fakeDirectory{users: map[string]auth.Account{
		"bob":   {Name: "bob", Admin: true},
		"alice": {Name: "alice", Groups: []string{"staff"}},
	}}
	wf := newWebFixture(t, defaultAuth(), func(d *Deps) { d.Directory = dir })
	bob := wf.login(t, "tok-bob")
	body := readBody(t, wf.req("GET", webBase+"/admin/explain?user=alice", nil, []*http.Cookie{bob}, browser))
	if !strings.Contains(body, "from the hub") || !strings.Contains(body, "2 of 2 grants allowed") {
		t.Errorf("explain alice with groups from the directory:\n%s", body)
	}
	body = readBody(t, wf.req("GET", webBase+"/admin/explain?user=nobody", nil, []*http.Cookie{bob}, browser))
	if !strings.Contains(body, "The hub has no user of that name") {
		t.Errorf("explain an unknown user:\n%s", body)
	}
	dir.mu.Lock()
	dir.users["bob"] = auth.Account{Name: "bob"}
	dir.mu.Unlock()
	if r := wf.req("GET", webBase+"/admin/explain?user=alice", nil, []*http.Cookie{bob}, browser); r.StatusCode != http.StatusForbidden {
		t.Errorf("explain after the admin flag went = %d, want 403", r.StatusCode)
	}
}
