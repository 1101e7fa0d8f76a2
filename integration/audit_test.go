package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/server"
	"github.com/credserver/credserver/internal/testenv/peers"
	"github.com/credserver/credserver/internal/testenv/stack"
)

// startStack brings up a stack of its own (hub, MinIO, credserver) for a
// test that needs a server configured apart from the shared one.
func startStack(t *testing.T, o stack.Options) *stack.Stack {
	t.Helper()
	peers.Require(t, "jupyterhub", "minio")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o.Dir = t.TempDir()
	if o.Users == nil {
		o.Users = []string{"alice", "bob"}
	}
	if o.Buckets == nil {
		o.Buckets = []string{"hub-scratch", "hub-shared"}
	}
	s, err := stack.Start(ctx, o)
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestAuditFailsClosed: with audit_log on a full disk (/dev/full), the
// server hands out no credential: every answer is 503 audit_unavailable
// and no secret leaves the server; the write errors are counted.
func TestAuditFailsClosed(t *testing.T) {
	full, err := server.OpenAuditLog("/dev/full")
	if err != nil {
		t.Skipf("no /dev/full here: %v", err)
	}
	t.Cleanup(func() { full.Close() })
	sts := &countingTransport{}
	s := startStack(t, stack.Options{AuditTo: full, STSClient: &http.Client{Transport: sts, Timeout: 30 * time.Second}})
	for i := range 3 {
		r := call(t, s.URL+"/v1/credentials/scratch", "token "+s.Tokens["alice"])
		if r.Status != 503 || errCode(r) != "audit_unavailable" || r.Header.Get("Retry-After") == "" {
			t.Fatalf("request %d with the audit trail unwritable: %d %s", i, r.Status, r.Raw)
		}
		for _, secret := range []string{"secret_access_key", "session_token", "access_key_id"} {
			if strings.Contains(r.Raw, secret) {
				t.Errorf("request %d: the refusal carries %s: %s", i, secret, r.Raw)
			}
		}
	}
	// The credential was issued upstream once and cached; it still never
	// left the server.
	if n := sts.Count(); n != 1 {
		t.Errorf("STS calls = %d, want 1 (cached, not handed out)", n)
	}
	m := call(t, strings.TrimSuffix(s.URL, stack.BasePath)+"/metrics", "")
	if !strings.Contains(m.Raw, "credserver_audit_write_errors_total 3") {
		t.Errorf("metrics lack credserver_audit_write_errors_total 3:\n%s", grepLines(m.Raw, "audit"))
	}
	// Denials are still answered as denials: nothing is handed out.
	if r := call(t, s.URL+"/v1/credentials/shared", "token "+s.Tokens["bob"]); r.Status != 403 {
		t.Errorf("a denial with the audit trail unwritable: %d %s", r.Status, r.Raw)
	}
}

// TestAuditRotation runs the real binary with audit_log in a file, rotates
// it the way logrotate does (rename, SIGHUP) between issuances, and finds
// every issuance in the old file or the new one.
func TestAuditRotation(t *testing.T) {
	if err := buildOnce(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.log")
	s := startStack(t, stack.Options{
		ServerBinary: filepath.Join(binDir, "credserver"),
		Config:       stack.DefaultConfig + "audit_log: " + logPath + "\n",
	})
	issue := func(n int) {
		t.Helper()
		for i := range n {
			r := call(t, s.URL+"/v1/credentials/scratch", "token "+s.Tokens["alice"])
			if r.Status != 200 {
				t.Fatalf("issuance %d: %d %s", i, r.Status, r.Raw)
			}
		}
	}
	issue(5)
	rotated := logPath + ".1"
	if err := os.Rename(logPath, rotated); err != nil {
		t.Fatal(err)
	}
	issue(2) // still written to the renamed file until SIGHUP
	if err := s.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(logPath); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not reopen audit_log: %s", s.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	issue(4)
	old, cur := auditEvents(t, rotated), auditEvents(t, logPath)
	if old["issued"] != 7 || cur["issued"] != 4 {
		t.Errorf("issued lines: %d in the rotated file, %d in the new one; want 7 and 4", old["issued"], cur["issued"])
	}
}

// auditEvents counts the events in an audit file, each line checked to be
// one JSON object.
func auditEvents(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev struct{ Event string }
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%s: not a JSON line: %q", path, sc.Text())
		}
		out[ev.Event]++
	}
	return out
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
