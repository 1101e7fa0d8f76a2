package deploy_test

import (
	"path/filepath"
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
