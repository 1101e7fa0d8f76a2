package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/credserver/credserver/internal/config"
)

// problems unwraps the joined error Parse returns into its *config.Error
// parts, failing the test on anything else.
func problems(t *testing.T, err error) []*config.Error {
	t.Helper()
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]*config.Error, 0, len(errs))
	for _, e := range errs {
		var ce *config.Error
		if !errors.As(e, &ce) {
			t.Fatalf("error %q (%T) is not a *config.Error", e, e)
		}
		out = append(out, ce)
	}
	return out
}

var wantRE = regexp.MustCompile(`(?m)^# want line (\d+): (.*)$`)

// TestParseErrorFiles parses each file in testdata/errors and checks that
// it yields exactly the problems its "# want line N: text" comments list,
// each on its line (the comments sit at the end so they shift no line).
func TestParseErrorFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			wants := wantRE.FindAllStringSubmatch(string(data), -1)
			if len(wants) == 0 {
				t.Fatal("file has no # want comments")
			}
			cfg, err := config.Parse(data)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", cfg)
			}
			got := problems(t, err)
			used := make([]bool, len(got))
		want:
			for _, w := range wants {
				line, _ := strconv.Atoi(w[1])
				for i, p := range got {
					if !used[i] && p.Line == line && strings.Contains(p.Msg, w[2]) {
						used[i] = true
						continue want
					}
				}
				t.Errorf("missing: line %d: %s", line, w[2])
			}
			for i, p := range got {
				if !used[i] {
					t.Errorf("unexpected: %v", p)
				}
			}
			for i := 1; i < len(got); i++ {
				if got[i].Line < got[i-1].Line {
					t.Errorf("errors not ordered by line: %v before %v", got[i-1], got[i])
				}
			}
		})
	}
}

// TestParseShape covers files whose overall shape is wrong.
func TestParseShape(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantLine int
		wantMsg  string
	}{
		{"empty", "", 1, "the config is empty"},
		{"comments only", "# nothing here\n", 1, "the config is empty"},
		{"null document", "---\n", 1, "the config is empty"},
		{"two documents", "hub: {api_url: http://h/}\n---\nlisten: :1\n", 2, "a second YAML document"},
		{"list", "- a\n- b\n", 1, "must be a mapping"},
		{"scalar", "\n\nhello\n", 3, "must be a mapping"},
		{"syntax", "hub:\n  api_url: [\n", 2, "did not find expected node content"},
		{"unquoted template", "grants:\n  - name: x\n    prefix: {user}/\n", 3, "quote values holding {user}"},
		{"unknown top-level key", "hub: {api_url: http://h/}\nlisten_addr: :80\n", 2, `unknown key "listen_addr" in the top level`},
		{"allow as string", "allow: x\n", 1, `unknown key "allow"`},
		{"grants as mapping", "hub: {api_url: http://h/}\ngrants: {name: x}\n", 2, "cannot unmarshal !!map into []config.Grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.in))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			// A syntax error may come with a hint; the wanted
			// problem must be among at most two.
			got := problems(t, err)
			found := false
			for _, p := range got {
				found = found || p.Line == tt.wantLine && strings.Contains(p.Msg, tt.wantMsg)
			}
			if !found || len(got) > 2 {
				t.Errorf("got %q, want line %d containing %q", got, tt.wantLine, tt.wantMsg)
			}
		})
	}
}

// TestValidateWithoutLines checks a Config built in code: problems carry
// no line but still name the key.
func TestValidateWithoutLines(t *testing.T) {
	cfg := &config.Config{
		Listen: "127.0.0.1:8080",
		Hub:    config.Hub{APIURL: "ftp://hub/api"},
		Store:  config.Store{Driver: "sqlite"},
	}
	got := problems(t, cfg.Validate())
	if len(got) != 1 || got[0].Line != 0 || got[0].Error() != `hub.api_url: "ftp://hub/api" must be an absolute http or https URL` {
		t.Errorf("Validate() = %q", got)
	}
}

// TestSecretsStayOut checks that values that may hold secrets are not
// echoed in errors.
func TestSecretsStayOut(t *testing.T) {
	in := "hub: {api_url: 'http://admin:hunter2@hub/api'}\nstore: {driver: postgres2, dsn: 'postgres://u:hunter2@db/x'}\n"
	_, err := config.Parse([]byte(in))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error leaks a secret: %v", err)
	}
	if len(problems(t, err)) != 2 {
		t.Errorf("want 2 problems, got %v", err)
	}
}
