package integration

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/credserver/credserver/internal/app"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/testenv/fakegithub"
	"github.com/credserver/credserver/internal/testenv/peers"
)

// webCacheTTL is hub.cache_ttl for the page's tests: how long a revoked
// hub token may still open the page.
const webCacheTTL = 3 * time.Second

const webConfig = `listen: %s
base_path: /services/credserver
hub:
  api_url: %s
  cache_ttl: 3s
  api_token_file: %s
web:
  session_key_file: %s
store:
  driver: sqlite
  dsn: %s
  encryption_key_file: %s
providers:
  minio:
    type: aws
    region: us-east-1
    role_arn: arn:aws:iam::000000000000:role/hub-users
    sts_endpoint: http://127.0.0.1:1
    s3_endpoint: http://127.0.0.1:9000
  github:
    type: github
    app_id: %d
    client_id: %s
    private_key_file: %s
    api_url: %s
    web_url: %s
    app_url: https://github.example/apps/hub-credentials
grants:
  - name: scratch
    provider: minio
    bucket: hub-scratch
    prefix: "{user}/"
    access: readwrite
    allow: {users: ["*"]}
  - name: staff-data
    provider: minio
    bucket: hub-staff
    prefix: ""
    access: read
    allow: {groups: [staff]}
  - name: github
    provider: github
    mode: user
    allow: {users: ["*"]}
`

// webEnv is the real JupyterHub 3 with its real proxy, registered with the
// shipped snippet, credserver with the page on behind it, and the fake
// GitHub.
type webEnv struct {
	hub      *peers.Hub
	fake     *fakegithub.Server
	base     string // the page through the hub's proxy
	apiToken string // credserver's service token
	key      string // the session key
	secrets  []string
	logs     *syncBuf
}

func newWebEnv(t *testing.T) *webEnv {
	t.Helper()
	peers.Require(t, "jupyterhub", "configurable-http-proxy", "chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "hub"), 0o700); err != nil {
		t.Fatal(err)
	}
	e := &webEnv{apiToken: randomToken(t), key: randomToken(t)}
	e.fake = fakegithub.Start(t, fakegithub.Options{Interval: time.Second})
	files := map[string]string{
		"api-token": e.apiToken + "\n", "session.key": e.key + "\n", "store.key": randomToken(t) + "\n",
		"app.pem": string(e.fake.PrivateKeyPEM()),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	handler := serve(t, ln)
	snippet, err := os.ReadFile(hubSnippet)
	if err != nil {
		t.Fatal(err)
	}
	extra := fmt.Sprintf("import os\nos.environ[%q] = %q\nos.environ[%q] = %q\n\n%s",
		"CREDSERVER_URL", "http://"+ln.Addr().String(), "CREDSERVER_API_TOKEN", e.apiToken, snippet)
	e.hub, err = peers.StartHub(ctx, peers.HubOptions{Dir: filepath.Join(dir, "hub"), Proxy: true, ExtraConfig: extra, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.hub.Close() })
	e.secrets = []string{e.apiToken, e.key, e.hub.AdminToken, e.hub.ServiceAPIToken, e.fake.ClientSecret(), files["store.key"][:64]}

	path := filepath.Join(dir, "credserver.yaml")
	text := fmt.Sprintf(webConfig, ln.Addr().String(), e.hub.APIURL, filepath.Join(dir, "api-token"), filepath.Join(dir, "session.key"),
		filepath.Join(dir, "credserver.db"), filepath.Join(dir, "store.key"),
		e.fake.AppID(), e.fake.ClientID(), filepath.Join(dir, "app.pem"), e.fake.URL(), e.fake.URL())
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	e.logs = &syncBuf{}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := app.Build(ctx, cfg, app.Options{Logger: log, AWSCredentials: credentials.NewStaticCredentialsProvider("minioadmin", "minioadmin", "")})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	handler.Store(&h)
	e.base = e.hub.URL + "/services/credserver"
	waitProxied(t, e.base+"/")
	return e
}

// browser is one headless Chromium (its own profile, so its own cookies)
// recording every response it receives: URL, status, headers and body.
type browser struct {
	ctx context.Context
	mu  sync.Mutex
	got []received
	wg  sync.WaitGroup
}

type received struct {
	URL    string
	Status int64
	Header map[string]string
	Body   string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	bin, err := peers.Bin("chromium")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900), chromedp.Flag("disable-gpu", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &browser{ctx: ctx}
	t.Cleanup(func() {
		b.wg.Wait()
		cancel()
		cancelA()
	})
	pending := map[network.RequestID]*received{}
	var pmu sync.Mutex
	if err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventResponseReceived:
			h := map[string]string{}
			for k, v := range ev.Response.Headers {
				h[strings.ToLower(k)] = fmt.Sprint(v)
			}
			pmu.Lock()
			pending[ev.RequestID] = &received{URL: ev.Response.URL, Status: ev.Response.Status, Header: h}
			pmu.Unlock()
		case *network.EventLoadingFinished:
			pmu.Lock()
			r := pending[ev.RequestID]
			delete(pending, ev.RequestID)
			pmu.Unlock()
			if r == nil {
				return
			}
			b.wg.Add(1)
			go func(id network.RequestID) {
				defer b.wg.Done()
				res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
				if err == nil {
					r.Body = string(res.Body)
				}
				b.mu.Lock()
				b.got = append(b.got, *r)
				b.mu.Unlock()
			}(ev.RequestID)
		}
	}); err != nil {
		t.Fatal(err)
	}
	return b
}

// responses returns what the browser received so far.
func (b *browser) responses() []received {
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.got...)
}

// do runs actions with a timeout, failing the test with the page's text.
func (b *browser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
	}
}

func (b *browser) eval(t *testing.T, js string) string {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// login logs user in at the hub's login page (dummy authenticator) and
// follows the hub's OAuth to the credserver page.
func (b *browser) login(t *testing.T, e *webEnv, user string) {
	t.Helper()
	b.do(t, "log in as "+user,
		chromedp.Navigate(e.hub.URL+"/hub/login?next="+strings.ReplaceAll("/services/credserver/", "/", "%2F")),
		chromedp.WaitVisible(chromedp.ID("username_input")),
		chromedp.SendKeys(chromedp.ID("username_input"), user),
		chromedp.SendKeys(chromedp.ID("password_input"), "any"),
		chromedp.Click(chromedp.ID("login_submit")),
		chromedp.WaitVisible(chromedp.ID("grants")),
		chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === "1"`),
	)
}

// screenshot writes the page to $CREDSERVER_SCREENSHOTS/name when set
// (the docs' images are made so: see docs/user-guide.md).
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("CREDSERVER_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// httpGet fetches url with the browser's session cookie value, outside
// the browser, without following redirects.
func httpGet(t *testing.T, url, sessionCookie string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "text/html")
	req.AddCookie(&http.Cookie{Name: "credserver-session", Value: sessionCookie})
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(b)
}
