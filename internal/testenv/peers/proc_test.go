package peers

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestStopKillsGroup checks that stop reaches a child the peer forked, as the
// hub forks configurable-http-proxy, and that a stopped process can be
// started again.
func TestStopKillsGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	// The child ignores nothing, but the parent exits on SIGTERM without
	// forwarding it, leaving the child behind unless the group is signalled.
	p := &process{
		name:    "sh",
		path:    "/bin/sh",
		args:    []string{"-c", `sleep 300 & echo $! > "$0.tmp"; mv "$0.tmp" "$0"; wait`, pidFile},
		dir:     dir,
		env:     os.Environ(),
		logPath: filepath.Join(dir, "sh.log"),
	}
	for round := range 2 {
		os.Remove(pidFile)
		if err := p.start(); err != nil {
			t.Fatal(err)
		}
		child := waitPidFile(t, pidFile)
		if err := p.stop(); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(child, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("round %d: child %d still exists after stop (kill 0: %v)", round, child, err)
		}
		if p.exited() != nil {
			t.Errorf("round %d: exited() not nil after stop", round)
		}
	}
	if err := p.stop(); err != nil {
		t.Errorf("second stop: %v", err)
	}
}

func waitPidFile(t *testing.T, path string) int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("pid file: %v", err)
		}
		return pid
	}
	t.Fatalf("no pid file %s", path)
	return 0
}

func TestLogTail(t *testing.T) {
	dir := t.TempDir()
	var log strings.Builder
	for i := range 100 {
		log.WriteString("line " + strconv.Itoa(i) + "\n")
	}
	log.WriteString("RootPass: s3cr3t-value and again s3cr3t-value\n")
	p := &process{logPath: filepath.Join(dir, "x.log"), secrets: []string{"", "s3cr3t-value"}}
	if err := os.WriteFile(p.logPath, []byte(log.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(p.logTail(), "\n")
	if len(lines) != logTailLines {
		t.Errorf("got %d lines, want %d", len(lines), logTailLines)
	}
	if diff := cmp.Diff("RootPass: [redacted] and again [redacted]", lines[len(lines)-1]); diff != "" {
		t.Errorf("last line (-want +got):\n%s", diff)
	}
	if got, want := lines[0], "line "+strconv.Itoa(100-logTailLines+1); got != want {
		t.Errorf("first line = %q, want %q", got, want)
	}
}

// TestPyLiteral runs the Debian python on every literal the hub config gets,
// since a path or token that Python reads differently would break the hub in
// ways that are hard to see.
func TestPyLiteral(t *testing.T) {
	Require(t, "python3")
	python, _ := Bin("python3")
	tests := []string{
		"/tmp/TestHub123/001",
		`it's a "dir" with \backslash\`,
		"new\nline\ttab",
		"ünïcödé ☃ \U0001F600",
		"<html>&amp;",
		"",
	}
	for _, s := range tests {
		t.Run(s, func(t *testing.T) {
			prog := "import ast, sys\nsys.stdout.write(ast.literal_eval(sys.stdin.read()))"
			cmd := exec.Command(python, "-c", prog)
			cmd.Stdin = strings.NewReader(pyLiteral(s))
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("python: %v", err)
			}
			if diff := cmp.Diff(s, string(out)); diff != "" {
				t.Errorf("round trip of %s (-want +got):\n%s", pyLiteral(s), diff)
			}
		})
	}
}

func TestHubConfigCompiles(t *testing.T) {
	Require(t, "python3")
	python, _ := Bin("python3")
	for _, proxy := range []string{"", "/usr/bin/configurable-http-proxy"} {
		cfg := hubConfig{
			Dir: `/tmp/a "quoted" dir`, HubPort: 1, PublicPort: 2, ProxyAPIPort: 3,
			AdminToken: "a", ServiceToken: "s", ProxyCommand: proxy, ProxyToken: "p",
			Extra: "c.JupyterHub.log_level = 'DEBUG'",
		}
		path := filepath.Join(t.TempDir(), "jupyterhub_config.py")
		if err := os.WriteFile(path, cfg.render(), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(python, "-c", "import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')", path).CombinedOutput()
		if err != nil {
			t.Errorf("proxy %q: config does not compile: %v\n%s", proxy, err, out)
		}
	}
}

func TestBin(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CREDSERVER_PEERS_DIR", dir)
	t.Setenv("PATH", t.TempDir())
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{"exe": 0o755, "noexec": 0o644} {
		if err := os.WriteFile(filepath.Join(dir, "bin", name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		want    string
		wantErr error
	}{
		{"exe", filepath.Join(dir, "bin", "exe"), nil},
		{"noexec", "", ErrNotFound},
		{"missing", "", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Bin(tt.name)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Bin = %q, want %q", got, tt.want)
			}
		})
	}
}

// recordTB records what Require asks of its test instead of stopping it.
type recordTB struct {
	testing.TB
	skipped, failed bool
}

func (r *recordTB) Helper()               {}
func (r *recordTB) Skipf(string, ...any)  { r.skipped = true }
func (r *recordTB) Fatalf(string, ...any) { r.failed = true }

func TestRequire(t *testing.T) {
	t.Setenv("CREDSERVER_PEERS_DIR", t.TempDir())
	tests := []struct {
		name, ci, peer      string
		wantSkip, wantFatal bool
	}{
		{"present", "", "sh", false, false},
		{"missing locally", "", "no-such-peer-xyz", true, false},
		{"missing under CI", "true", "no-such-peer-xyz", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			var r recordTB
			Require(&r, tt.peer)
			if r.skipped != tt.wantSkip || r.failed != tt.wantFatal {
				t.Errorf("skipped, failed = %v, %v; want %v, %v", r.skipped, r.failed, tt.wantSkip, tt.wantFatal)
			}
		})
	}
}
