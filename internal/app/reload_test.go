package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/server"
	"github.com/credserver/credserver/internal/vend"
)

const reloadBase = `hub:
  api_url: http://127.0.0.1:1/hub/api
providers:
  s3:
    type: aws
    role_arn: arn:aws:iam::123456789012:role/hub
grants:
`

func grantYAML(name, bucket string) string {
	return fmt.Sprintf("  - name: %s\n    provider: s3\n    bucket: %s\n    prefix: \"{user}/\"\n    access: readwrite\n    allow: {users: [\"*\"]}\n", name, bucket)
}

type oneUser struct{}

func (oneUser) Authenticate(context.Context, string) (auth.Identity, error) {
	return auth.Identity{Name: "alice"}, nil
}

// echoProvider answers with the bucket and location it was asked for, so a
// response shows which policy decided it.
type echoProvider struct{}

func (echoProvider) Issue(_ context.Context, r policy.Decision) (*vend.Credentials, error) {
	return &vend.Credentials{Expires: time.Now().Add(time.Hour), Body: map[string]string{"bucket": r.Bucket, "url": r.Location}}, nil
}

type reloadFixture struct {
	path    string
	srv     *server.Server
	metrics *server.Metrics
	r       *Reloader
}

func newReloadFixture(t *testing.T, yaml string) *reloadFixture {
	t.Helper()
	f := &reloadFixture{path: filepath.Join(t.TempDir(), "credserver.yaml"), metrics: server.NewMetrics()}
	f.write(t, yaml)
	cfg, err := config.Load(f.path)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.srv, err = server.New(server.Options{}, server.Deps{
		Auth: oneUser{}, Policy: pol, Providers: map[string]vend.Provider{"s3": echoProvider{}},
		// No reuse: every request reaches the provider and shows the live policy.
		Cache: vend.NewCache(vend.CacheConfig{MinRemaining: 2 * time.Hour}), Metrics: f.metrics,
		Limits: &server.Limits{},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.r = NewReloader(f.path, cfg, f.srv, f.metrics, slog.New(slog.DiscardHandler))
	return f
}

func (f *reloadFixture) write(t *testing.T, yaml string) {
	t.Helper()
	// Write and rename, as editors and ConfigMap updates do.
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		t.Fatal(err)
	}
}

func (f *reloadFixture) get(grant string) (int, map[string]string) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1/credentials/"+grant, nil)
	req.Header.Set("Authorization", "token t")
	f.srv.Handler().ServeHTTP(rec, req)
	var body map[string]string
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec.Code, body
}

// reloads reads credserver_config_reloads_total{result}.
func (f *reloadFixture) reloads(result string) float64 {
	mfs, _ := f.metrics.Registry().Gather()
	for _, mf := range mfs {
		if mf.GetName() != "credserver_config_reloads_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestReloadValidChangeTakesEffect(t *testing.T) {
	f := newReloadFixture(t, reloadBase+grantYAML("scratch", "old-bucket"))
	if code, _ := f.get("team"); code != 404 {
		t.Fatalf("team before reload = %d", code)
	}
	f.write(t, reloadBase+grantYAML("scratch", "new-bucket")+grantYAML("team", "team-bucket"))
	changed, err := f.r.Reload()
	if err != nil || !changed {
		t.Fatalf("Reload = %v, %v", changed, err)
	}
	if code, body := f.get("team"); code != 200 || body["bucket"] != "team-bucket" {
		t.Errorf("team after reload = %d %v", code, body)
	}
	if _, body := f.get("scratch"); body["url"] != "s3://new-bucket/alice/" {
		t.Errorf("scratch after reload = %v", body)
	}
	if got := f.reloads("ok"); got != 1 {
		t.Errorf("reloads{ok} = %v", got)
	}
}

func TestReloadRejectsInvalidAndKeepsServing(t *testing.T) {
	tests := []struct {
		name, yaml string
		restart    bool
	}{
		{"yaml error", reloadBase + "  - name: [", false},
		{"unknown key", reloadBase + grantYAML("scratch", "bkt-b") + "    colour: blue\n", false},
		{"duplicate grant", reloadBase + grantYAML("scratch", "bkt-b") + grantYAML("scratch", "bkt-c"), false},
		{"unknown provider", strings.Replace(reloadBase+grantYAML("scratch", "bkt-b"), "provider: s3", "provider: nope", 1), false},
		{"empty file", "", false},
		{"squatting grants", reloadBase + grantYAML("scratch", "bkt-b") +
			strings.Replace(grantYAML("teams", "bkt-b"), `"{user}/"`, `"teams/{user}/"`, 1), false},
		{"provider changed", strings.Replace(reloadBase, "role/hub", "role/other", 1) + grantYAML("scratch", "bkt-b"), true},
		{"hub changed", strings.Replace(reloadBase, "127.0.0.1:1", "127.0.0.1:2", 1) + grantYAML("scratch", "bkt-b"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newReloadFixture(t, reloadBase+grantYAML("scratch", "old-bucket"))
			f.write(t, tt.yaml)
			changed, err := f.r.Reload()
			if err == nil || changed {
				t.Fatalf("Reload = %v, %v; want an error", changed, err)
			}
			if errors.Is(err, ErrRestartNeeded) != tt.restart {
				t.Errorf("error %v: restart-needed = %v, want %v", err, !tt.restart, tt.restart)
			}
			if code, body := f.get("scratch"); code != 200 || body["bucket"] != "old-bucket" {
				t.Errorf("after a rejected reload: %d %v, want the old policy", code, body)
			}
			if got := f.reloads("error"); got != 1 {
				t.Errorf("reloads{error} = %v", got)
			}
		})
	}
}

func TestReloadWatchFileAndSIGHUP(t *testing.T) {
	f := newReloadFixture(t, reloadBase+grantYAML("scratch", "bkt-v1"))
	ctx, cancel := context.WithCancel(context.Background())
	hup := make(chan os.Signal, 1)
	done := make(chan struct{})
	go func() { f.r.Watch(ctx, 10*time.Millisecond, hup); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	waitFor := func(bucket string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if _, body := f.get("scratch"); body["bucket"] == bucket {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("bucket %s never went into service", bucket)
	}
	f.write(t, reloadBase+grantYAML("scratch", "bkt-v2"))
	waitFor("bkt-v2")
	// An invalid file is rejected once, not at every poll.
	f.write(t, reloadBase+"  - name: [")
	time.Sleep(100 * time.Millisecond)
	if got := f.reloads("error"); got != 1 {
		t.Errorf("reloads{error} after 10 polls of one bad file = %v, want 1", got)
	}
	waitFor("bkt-v2")
	// SIGHUP forces a reload even when the poller saw nothing new.
	f.r.mu.Lock()
	f.write(t, reloadBase+grantYAML("scratch", "bkt-v3"))
	f.r.seen = sha256File(t, f.path)
	f.r.mu.Unlock()
	hup <- syscall.SIGHUP
	waitFor("bkt-v3")
}

// TestReloadConcurrentRequestsConsistent swaps between two policies while
// requests run: each answer comes wholly from one of them.
func TestReloadConcurrentRequestsConsistent(t *testing.T) {
	a := reloadBase + grantYAML("scratch", "bucket-a")
	b := strings.Replace(reloadBase+grantYAML("scratch", "bucket-b"), "prefix: \"{user}/\"", "prefix: \"b/{user}/\"", 1)
	want := map[string]string{"bucket-a": "s3://bucket-a/alice/", "bucket-b": "s3://bucket-b/b/alice/"}
	f := newReloadFixture(t, a)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, body := f.get("scratch")
				if code != 200 || want[body["bucket"]] != body["url"] {
					select {
					case errs <- fmt.Sprintf("%d %v", code, body):
					default:
					}
				}
			}
		}()
	}
	for i := range 40 {
		y := a
		if i%2 == 0 {
			y = b
		}
		f.write(t, y)
		if _, err := f.r.Reload(); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("inconsistent answer during reload: %s", e)
	}
}
