package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
)

// FuzzParse: Parse never panics, whatever the YAML or the CEL in a when;
// every problem it reports is a *config.Error; what it accepts passes
// Validate again, compiles (conditions included), and answers Decide
// without panicking.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("testdata/*/*.yaml")
	for _, file := range append(files, more...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("hub: {api_url: 'http://h/'}\ngrants: [{name: a, provider: p, allow: {users: ['*']}}]\nproviders: {p: {type: gcs}}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("hub: {api_url: 'http://h/'}\ngrants: [{name: a, provider: p, bucket: bbb, allow: {users: ['*']}, when: 'user.admin && \"staff\" in user.groups'}]\nproviders: {p: {type: aws}}\n"))
	f.Add([]byte("hub: {api_url: 'http://h/'}\ngrants: [{name: a, provider: p, bucket: bbb, allow: {users: ['*']}, when: 'request.duration <= duration(\"1h\")'}]\nproviders: {p: {type: aws}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse(data)
		if err != nil {
			var errs []error
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			} else {
				errs = []error{err}
			}
			for _, e := range errs {
				var ce *config.Error
				if !errors.As(e, &ce) {
					t.Fatalf("problem %q (%T) is not a *config.Error", e, e)
				}
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse accepted a config Validate rejects: %v", err)
		}
		p, err := policy.Compile(cfg)
		if err != nil {
			t.Fatalf("Compile rejected a parsed config: %v", err)
		}
		users := []policy.User{{Name: "alice", Groups: []string{"staff", "team-a"}}, {Name: ".."}, {}}
		for _, g := range cfg.Grants {
			for _, u := range users {
				_, _ = p.Decide(u, policy.Request{Grant: g.Name})
				_, _ = p.Explain(u, g.Name)
			}
		}
		for _, u := range users {
			p.Grants(u)
		}
	})
}

// FuzzValidName holds the hand-written check to the regexp it replaces.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"", "a", "scratch", "-a", "_a", "a-b_c", "A", "a/b", strings.Repeat("a", 63), strings.Repeat("a", 64), "é"} {
		f.Add(s)
	}
	re := regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := config.ValidName(s), re.MatchString(s); got != want {
			t.Errorf("ValidName(%q) = %v, the regexp says %v", s, got, want)
		}
	})
}
