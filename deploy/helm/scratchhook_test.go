package helm_test

import (
	"os"
	"strings"
	"testing"
)

// TestScratchHookSameInBothSnippets: the z2jh values run the same
// SCRATCH_BUCKET hook as jupyterhub_config.py, whose copy
// integration/scratchspawn_test.go runs against real spawned servers.
func TestScratchHookSameInBothSnippets(t *testing.T) {
	const begin, end = "# --- credserver: SCRATCH_BUCKET per user (begin) ---", "# --- credserver: SCRATCH_BUCKET per user (end) ---"
	py, err := os.ReadFile("../jupyterhub/jupyterhub_config.py")
	if err != nil {
		t.Fatal(err)
	}
	b, e := strings.Index(string(py), begin), strings.Index(string(py), end)
	if b < 0 || e < b {
		t.Fatalf("jupyterhub_config.py has no %q ... %q block", begin, end)
	}
	want := string(py[b:e+len(end)]) + "\n"
	got := z2jhValues(t).str("hub", "extraConfig", "credserver-scratch")
	if got != want {
		t.Errorf("z2jh hub.extraConfig.credserver-scratch differs from jupyterhub_config.py's block:\n--- z2jh\n%s\n--- jupyterhub_config.py\n%s", got, want)
	}
	if strings.Contains(string(py), "$(JUPYTERHUB_USER)") || z2jhValues(t).str("singleuser", "extraEnv", "SCRATCH_BUCKET") != "" {
		t.Error("SCRATCH_BUCKET is still computed from the user name instead of asked from credserver")
	}
}
