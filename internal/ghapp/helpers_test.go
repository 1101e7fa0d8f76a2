package ghapp_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"github.com/credserver/credserver/internal/policy"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/ghapp"
	"github.com/credserver/credserver/internal/store"
	"github.com/credserver/credserver/internal/testenv/fakegithub"
)

var t0 = time.Date(2030, 5, 6, 7, 0, 0, 0, time.UTC)

var testKey = bytes.Repeat([]byte{0x42}, 32)

// env is one GitHub App against the fake, with a real SQLite store.
type env struct {
	t     *testing.T
	fake  *fakegithub.Server
	clock *fakegithub.Clock
	store store.Store
	app   *ghapp.App
	links *ghapp.Links
	logs  *lockedBuffer
	dir   string
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newEnv(t *testing.T, mod ...func(*ghapp.Config)) *env {
	t.Helper()
	clock := fakegithub.NewClock(t0)
	e := &env{t: t, clock: clock, logs: &lockedBuffer{}, dir: t.TempDir()}
	e.fake = fakegithub.Start(t, fakegithub.Options{Clock: clock, PrivateKey: sharedKey(t)})
	e.store = e.openStore()
	e.app = e.newApp(e.store, mod...)
	e.links = ghapp.NewLinks(e.store, e.app)
	return e
}

func (e *env) openStore() store.Store {
	e.t.Helper()
	st, err := store.OpenSQLite(context.Background(), store.SQLiteConfig{
		Path: filepath.Join(e.dir, "credserver.db"), Key: testKey, Now: e.clock.Now,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	return st
}

func (e *env) newApp(st store.Store, mod ...func(*ghapp.Config)) *ghapp.App {
	e.t.Helper()
	key, err := ghapp.ParsePrivateKey(e.fake.PrivateKeyPEM())
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := ghapp.Config{
		Name: "github", AppID: e.fake.AppID(), PrivateKey: key, ClientID: e.fake.ClientID(),
		APIURL: e.fake.URL(), WebURL: e.fake.URL(), Store: st, Now: e.clock.Now,
		Logger: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mod {
		m(&cfg)
	}
	a, err := ghapp.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func withSecret(e *env) func(*ghapp.Config) {
	return func(c *ghapp.Config) { c.ClientSecret = e.fake.ClientSecret() }
}

// link runs a whole device flow for user, approved at the fake as login.
func (e *env) link(user, login string) {
	e.t.Helper()
	ctx := context.Background()
	l, err := e.links.StartLogin(ctx, "github", user)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.fake.Approve(l.UserCode, login); err != nil {
		e.t.Fatal(err)
	}
	e.clock.Advance(l.Interval)
	st, err := e.links.PollLogin(ctx, user, l.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	if st.Status != "complete" || st.Login != login {
		e.t.Fatalf("after approval: status %+v, want complete as %s", st, login)
	}
}

func userRequest(user string) policy.Decision {
	return policy.Decision{User: user, Grant: "github", Duration: time.Hour, GitHub: &policy.GitHubScope{Mode: policy.GitHubUser}}
}

// issue asks the App for a credential and returns its body.
func (e *env) issue(d policy.Decision) (*ghapp.Body, error) {
	e.t.Helper()
	cred, err := e.app.Issue(context.Background(), d)
	if err != nil {
		return nil, err
	}
	b := cred.Body.(*ghapp.Body)
	if cred.Expires.Format(time.RFC3339) != b.ExpiresAt {
		e.t.Errorf("Credentials.Expires %v differs from the body's expires_at %s", cred.Expires, b.ExpiresAt)
	}
	if strings.Contains(cred.KeyID, b.Token) {
		e.t.Errorf("the audit key id holds the token")
	}
	return b, nil
}

// checkNoSecrets fails if any secret of the fake appears in text.
func (e *env) checkNoSecrets(what, text string) {
	e.t.Helper()
	for _, s := range e.fake.Secrets() {
		if len(s) > 0 && strings.Contains(text, s) {
			e.t.Errorf("%s holds a secret (%.8s…)", what, s)
		}
	}
}

var (
	keyOnce sync.Once
	keyPEM  *fakegithub.Server
)

// sharedKey generates one RSA key for the package's tests: 2048-bit keys
// take a while to make.
func sharedKey(t *testing.T) *rsa.PrivateKey {
	keyOnce.Do(func() { keyPEM = fakegithub.New(fakegithub.Options{}) })
	k, err := ghapp.ParsePrivateKey(keyPEM.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	return k
}
