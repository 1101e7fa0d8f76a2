package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildDirectoryTokenFile: hub.api_token_file is read when set; a
// missing or empty file is a start-up error naming the key, and the token
// never appears in an error.
func TestBuildDirectoryTokenFile(t *testing.T) {
	f := newGitHubFiles(t)
	withToken := func(path string) func(string) string {
		return func(s string) string {
			return strings.Replace(s, `hub: {api_url: "http://127.0.0.1:1/hub/api"}`,
				`hub: {api_url: "http://127.0.0.1:1/hub/api", api_token_file: "`+path+`"}`+"\nweb: {enabled: false}\ndelegation: {enabled: false}", 1)
		}
	}
	good := filepath.Join(f.dir, "svc-token")
	empty := filepath.Join(f.dir, "empty")
	spaced := filepath.Join(f.dir, "spaced")
	for path, content := range map[string]string{good: "  tok-123\n", empty: "\n\n", spaced: "tok one\n"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Build(context.Background(), f.config(t, withToken(good)), Options{}); err != nil {
		t.Errorf("good token file: %v", err)
	}
	d, err := buildDirectory(f.config(t, withToken(good)), Options{Metrics: nil})
	if err != nil || d == nil {
		t.Fatalf("buildDirectory = %v, %v", d, err)
	}
	if d, err := buildDirectory(f.config(t, nil), Options{}); d != nil || err != nil {
		t.Errorf("no token file: directory %v, err %v; want neither", d, err)
	}
	for _, path := range []string{filepath.Join(f.dir, "missing"), empty, spaced} {
		_, err := Build(context.Background(), f.config(t, withToken(path)), Options{})
		if err == nil || !strings.Contains(err.Error(), "hub.api_token_file") {
			t.Errorf("token file %s: err = %v, want one naming hub.api_token_file", filepath.Base(path), err)
		}
		if err != nil && strings.Contains(err.Error(), "tok one") {
			t.Errorf("the error quotes the token: %v", err)
		}
	}
}
