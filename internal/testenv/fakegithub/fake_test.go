package fakegithub_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/credserver/credserver/internal/testenv/fakegithub"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

type client struct {
	t    *testing.T
	base string
}

func (c client) do(method, path, auth string, body io.Reader, hdr ...string) (int, map[string]any, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		q, _ := url.ParseQuery(string(b))
		m = map[string]any{}
		for k := range q {
			m[k] = q.Get(k)
		}
	}
	return resp.StatusCode, m, resp.Header
}

func (c client) oauth(path string, form url.Values) map[string]any {
	c.t.Helper()
	code, m, _ := c.do(http.MethodPost, path, "", strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Accept", "application/json")
	if code != http.StatusOK {
		c.t.Fatalf("POST %s: HTTP %d %v", path, code, m)
	}
	return m
}

func TestDeviceFlowProtocol(t *testing.T) {
	clock := fakegithub.NewClock(t0)
	f := fakegithub.Start(t, fakegithub.Options{Clock: clock})
	c := client{t, f.URL()}
	// Without Accept: application/json, GitHub answers form-encoded.
	code, m, hdr := c.do(http.MethodPost, "/login/device/code?client_id="+f.ClientID(), "", nil)
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/x-www-form-urlencoded") || m["interval"] != "5" {
		t.Fatalf("device code, form-encoded: %d %v %v", code, hdr.Get("Content-Type"), m)
	}
	dev := c.oauth("/login/device/code", url.Values{"client_id": {f.ClientID()}})
	poll := url.Values{"client_id": {f.ClientID()}, "device_code": {dev["device_code"].(string)}, "grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}}
	steps := []struct {
		advance time.Duration
		act     func()
		want    string
	}{
		{0, nil, "authorization_pending"},
		{time.Second, nil, "slow_down"},     // too soon: interval becomes 10 s
		{6 * time.Second, nil, "slow_down"}, // 6 s < 10 s: 15 s
		{15 * time.Second, nil, "authorization_pending"},
		{15 * time.Second, func() { f.Approve(dev["user_code"].(string), "octocat") }, ""},
		{15 * time.Second, nil, "incorrect_device_code"}, // used up
	}
	var tokens map[string]any
	for i, s := range steps {
		clock.Advance(s.advance)
		if s.act != nil {
			s.act()
		}
		m := c.oauth("/login/oauth/access_token", poll)
		if got, _ := m["error"].(string); got != s.want {
			t.Fatalf("step %d: error %q, want %q (%v)", i, got, s.want, m)
		}
		if s.want == "slow_down" && m["interval"] == nil {
			t.Errorf("step %d: slow_down without the new interval", i)
		}
		if s.want == "" {
			tokens = m
		}
	}
	if !strings.HasPrefix(tokens["access_token"].(string), "ghu_") || tokens["expires_in"] != float64(28800) ||
		!strings.HasPrefix(tokens["refresh_token"].(string), "ghr_") {
		t.Fatalf("tokens = %v", tokens)
	}
	at, rt := tokens["access_token"].(string), tokens["refresh_token"].(string)
	if code, m, _ := c.do(http.MethodGet, "/user", "Bearer "+at, nil); code != 200 || m["login"] != "octocat" {
		t.Errorf("GET /user = %d %v", code, m)
	}
	refresh := url.Values{"client_id": {f.ClientID()}, "grant_type": {"refresh_token"}, "refresh_token": {rt}}
	next := c.oauth("/login/oauth/access_token", refresh)
	if next["access_token"] == nil || next["access_token"] == at {
		t.Fatalf("refresh = %v", next)
	}
	if m := c.oauth("/login/oauth/access_token", refresh); m["error"] != "bad_refresh_token" {
		t.Errorf("second use of a refresh token: %v, want bad_refresh_token", m)
	}
	if code, _, _ := c.do(http.MethodGet, "/user", "Bearer "+at, nil); code != 401 {
		t.Errorf("old access token after refresh: HTTP %d, want 401", code)
	}
	clock.Advance(8 * time.Hour)
	if _, err := f.Check(next["access_token"].(string)); err == nil {
		t.Error("access token valid after 8 hours")
	}
	// Revocation needs the client secret.
	body := `{"access_token":"` + next["access_token"].(string) + `"}`
	if code, _, _ := c.do(http.MethodDelete, "/applications/"+f.ClientID()+"/grant", "", strings.NewReader(body)); code != 404 {
		t.Errorf("revoke without basic auth: %d", code)
	}
	req, _ := http.NewRequest(http.MethodDelete, f.URL()+"/applications/"+f.ClientID()+"/grant", strings.NewReader(body))
	req.SetBasicAuth(f.ClientID(), f.ClientSecret())
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("revoke: %v %v", resp, err)
	}
	resp.Body.Close()
	refresh.Set("refresh_token", next["refresh_token"].(string))
	if m := c.oauth("/login/oauth/access_token", refresh); m["error"] != "bad_refresh_token" {
		t.Errorf("refresh after revoking the grant: %v", m)
	}
}

func TestAppJWT(t *testing.T) {
	clock := fakegithub.NewClock(t0)
	f := fakegithub.Start(t, fakegithub.Options{Clock: clock})
	id := f.AddInstallation(fakegithub.Installation{Account: "my-org", Org: true, Repositories: []string{"a", "b"}})
	sign := func(method jwt.SigningMethod, key any, iss string, iat, exp time.Time) string {
		s, err := jwt.NewWithClaims(method, jwt.RegisteredClaims{Issuer: iss, IssuedAt: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(exp)}).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	k := f.Options().PrivateKey
	app := strconv.FormatInt(f.AppID(), 10)
	tests := []struct {
		name string
		tok  string
		want int
	}{
		{"good", sign(jwt.SigningMethodRS256, k, app, t0.Add(-time.Minute), t0.Add(9*time.Minute)), 200},
		{"client id as issuer", sign(jwt.SigningMethodRS256, k, f.ClientID(), t0, t0.Add(5*time.Minute)), 200},
		{"exp too far", sign(jwt.SigningMethodRS256, k, app, t0, t0.Add(11*time.Minute)), 401},
		{"expired", sign(jwt.SigningMethodRS256, k, app, t0.Add(-20*time.Minute), t0.Add(-time.Minute)), 401},
		{"iat in the future", sign(jwt.SigningMethodRS256, k, app, t0.Add(time.Minute), t0.Add(5*time.Minute)), 401},
		{"other issuer", sign(jwt.SigningMethodRS256, k, "1", t0, t0.Add(5*time.Minute)), 401},
		{"HS256", sign(jwt.SigningMethodHS256, []byte("secret"), app, t0, t0.Add(5*time.Minute)), 401},
	}
	c := client{t, f.URL()}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, m, _ := c.do(http.MethodGet, "/orgs/my-org/installation", "Bearer "+tt.tok, nil); code != tt.want {
				t.Errorf("HTTP %d (%v), want %d", code, m, tt.want)
			} else if code == 200 && m["id"] != float64(id) {
				t.Errorf("installation id %v, want %d", m["id"], id)
			}
		})
	}
	good := tests[0].tok
	code, m, _ := c.do(http.MethodPost, "/app/installations/"+strconv.FormatInt(id, 10)+"/access_tokens", "Bearer "+good,
		strings.NewReader(`{"permissions":{"metadata":"read"}}`), "Content-Type", "application/json")
	if code != 201 {
		t.Fatalf("access_tokens: %d %v", code, m)
	}
	tok := m["token"].(string)
	code, m, hdr := c.do(http.MethodGet, "/installation/repositories?per_page=1", "token "+tok, nil)
	if code != 200 || m["total_count"] != float64(2) || len(m["repositories"].([]any)) != 1 || !strings.Contains(hdr.Get("Link"), `rel="next"`) {
		t.Errorf("repositories page 1: %d %v %q", code, m, hdr.Get("Link"))
	}
}

func TestUnhandledRoute(t *testing.T) {
	f := fakegithub.New(fakegithub.Options{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	code, m, _ := client{t, srv.URL}.do(http.MethodGet, "/repos/o/r/pulls", "", nil)
	if code != http.StatusNotImplemented || !strings.Contains(m["message"].(string), "GET /repos/o/r/pulls") {
		t.Errorf("unhandled route: %d %v", code, m)
	}
}
