package deploy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
)

// TestExampleConfigs loads every example config the project ships, the way
// `credserver check` does.
func TestExampleConfigs(t *testing.T) {
	files, err := filepath.Glob("examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %d example configs, want at least 2", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := config.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			pol, err := policy.Compile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(pol.Grants(policy.User{Name: "alice", Groups: []string{"staff", "team-a"}})) == 0 {
				t.Error("alice may use no grant of the example")
			}
		})
	}
}

// TestDocConfigs loads every config the docs and the README show (each
// ```yaml block with a top-level providers, grants, store or hub key; a
// block without hub gets one), the way `credserver check` does.
func TestDocConfigs(t *testing.T) {
	files, _ := filepath.Glob("../docs/*.md")
	files = append(files, "../README.md")
	blocks := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, block := range strings.Split(string(data), "```yaml\n")[1:] {
			block, _, _ = strings.Cut(block, "```")
			if !regexp.MustCompile(`(?m)^(providers|grants|store|hub):`).MatchString(block) {
				continue
			}
			if !regexp.MustCompile(`(?m)^hub:`).MatchString(block) {
				block = "hub: {api_url: http://127.0.0.1:8081/hub/api}\n" + block
			}
			blocks++
			t.Run(fmt.Sprintf("%s#%d", filepath.Base(f), i+1), func(t *testing.T) {
				cfg, err := config.Parse([]byte(block))
				if err != nil {
					t.Fatalf("%v\n%s", err, block)
				}
				if _, err := policy.Compile(cfg); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
	if blocks < 4 {
		t.Errorf("found %d config blocks in the docs, want at least 4", blocks)
	}
}
