package testenv_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestBinariesHoldNoTestInfrastructure: no package under internal/testenv
// (nor the testing package) is linked into credserver or credctl.
func TestBinariesHoldNoTestInfrastructure(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	cmd := exec.Command("go", "list", "-deps", "./cmd/...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/...: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list listed only %d packages: %v", len(deps), deps)
	}
	found := false
	for _, p := range deps {
		switch {
		case strings.Contains(p, "/internal/testenv"), p == "testing", strings.HasPrefix(p, "net/http/httptest"):
			t.Errorf("the binaries depend on %s", p)
		case strings.HasSuffix(p, "/internal/server"):
			found = true
		}
	}
	if !found {
		t.Error("internal/server is not among the binaries' packages: the listing is not what this test thinks")
	}
}
