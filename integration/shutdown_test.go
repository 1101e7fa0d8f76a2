package integration

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/credserver/credserver/internal/testenv/stack"
)

// TestGracefulShutdown runs the credserver binary, freezes the real hub so
// that a request is truly in flight, sends SIGTERM, then lets the hub go:
// the in-flight request completes, new connections are refused, and the
// process exits 0.
func TestGracefulShutdown(t *testing.T) {
	s := sharedStack(t)
	if err := buildOnce(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var cfg bytes.Buffer
	if err := template.Must(template.New("c").Parse(stack.DefaultConfig)).Execute(&cfg,
		stack.Vars{Listen: addr, HubAPI: s.Hub.APIURL, S3: s.MinIO.Endpoint}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	auditPath := filepath.Join(dir, "audit.jsonl")
	fmt.Fprintf(&cfg, "audit_log: %s\n", auditPath)
	cfgPath := filepath.Join(dir, "credserver.yaml")
	if err := os.WriteFile(cfgPath, cfg.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "credserver"), "serve", "-config", cfgPath)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+s.MinIO.RootUser, "AWS_SECRET_ACCESS_KEY="+s.MinIO.RootPassword)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	base := "http://" + addr
	waitHealthy(t, base+"/healthz", exited)

	fresh, err := s.Hub.Token(context.Background(), "carol")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Hub.Pause(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Hub.Resume() })
	inflight := make(chan apiResp, 1)
	go func() { r, _ := tryCall(base+stack.BasePath+"/v1/credentials/scratch", "token "+fresh); inflight <- r }()
	time.Sleep(time.Second) // let the request reach the frozen hub (generous: the machine may be busy)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The listener closes at once: a new connection is refused while the
	// old request is still waiting.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections 5s after SIGTERM")
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case r := <-inflight:
		t.Fatalf("the in-flight request ended before the hub answered: %d %s", r.Status, r.Raw)
	default:
	}
	if err := s.Hub.Resume(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-inflight:
		if r.Status != 200 {
			t.Errorf("in-flight request during shutdown: %d %s", r.Status, r.Raw)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the in-flight request never completed")
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("credserver exit: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("credserver did not exit after draining")
	}
	if audit, err := os.ReadFile(auditPath); err != nil || !strings.Contains(string(audit), `"event":"issued"`) {
		t.Errorf("audit_log %s: %v: %q", auditPath, err, audit)
	}
	if !strings.Contains(logs.String(), "draining") {
		t.Errorf("no shutdown log line:\n%s", logs.String())
	}
}

func waitHealthy(t *testing.T, url string, exited <-chan error) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		select {
		case err := <-exited:
			t.Fatalf("credserver exited at start: %v", err)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never became healthy", url)
}
