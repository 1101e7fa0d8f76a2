package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildWebPage: with hub.api_token_file and web.session_key_file the
// page is served at {base}/ to browsers (a redirect to the hub's OAuth),
// the probe still gets JSON; a short or missing session key is a start-up
// error naming the key, never quoting it.
func TestBuildWebPage(t *testing.T) {
	f := newGitHubFiles(t)
	tokenFile, short, good := filepath.Join(f.dir, "svc-token"), filepath.Join(f.dir, "short.key"), filepath.Join(f.dir, "session.key")
	for path, content := range map[string]string{tokenFile: "tok-123\n", short: "sixteen-bytes-ab\n", good: strings.Repeat("k", 64) + "\n"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	with := func(key string) func(string) string {
		return func(s string) string {
			return strings.Replace(s, `hub: {api_url: "http://127.0.0.1:1/hub/api"}`,
				`hub: {api_url: "http://127.0.0.1:1/hub/api", api_token_file: "`+tokenFile+`"}`+"\nweb: {session_key_file: \""+key+"\"}\ndelegation: {enabled: false}", 1)
		}
	}
	srv, err := Build(context.Background(), f.config(t, with(good)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := f.config(t, with(good)).BasePath
	req := httptest.NewRequest("GET", base+"/", nil)
	req.Header.Set("Accept", "text/html")
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusFound || !strings.Contains(rec.Header().Get("Location"), "/hub/api/oauth2/authorize?client_id=service-credserver") {
		t.Errorf("browser at %s/ = %d %s", base, rec.Code, rec.Header().Get("Location"))
	}
	rec = httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", base+"/", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"service":"credserver"`) {
		t.Errorf("probe at %s/ = %d %s", base, rec.Code, rec.Body)
	}
	for _, key := range []string{short, filepath.Join(f.dir, "missing.key")} {
		_, err := Build(context.Background(), f.config(t, with(key)), Options{})
		if err == nil || !strings.Contains(err.Error(), "web.session_key_file") || strings.Contains(err.Error(), "sixteen") {
			t.Errorf("session key %s: err = %v", filepath.Base(key), err)
		}
	}
}
