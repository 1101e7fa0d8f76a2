// Package integration tests credserver end to end against the real peers:
// JupyterHub 3 (Debian), MinIO (S3 + STS), the AWS CLI and boto3 (Debian),
// driven through the real credctl binary. Without the peers the tests skip,
// except under CI=true, where they fail.
package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/testenv/peers"
	"github.com/credserver/credserver/internal/testenv/stack"
)

var (
	binDir     string // credctl and credserver built for this run
	stackDir   string
	stackOnce  sync.Once
	shared     *stack.Stack
	sharedErr  error
	hubCalls   = &countingTransport{}
	stsCalls   = &countingTransport{}
	stackUsers = []string{"alice", "alice2", "bob", "carol", "dask"}
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "credserver-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = filepath.Join(dir, "bin")
	stackDir = filepath.Join(dir, "stack")
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	if stopDelegAtExit != nil {
		stopDelegAtExit()
	}
	// Every response served during the run must match api/openapi.yaml.
	if c := checkConformance(os.Stderr); code == 0 {
		code = c
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles the repo's commands once per run.
var buildOnce = sync.OnceValue(func() error {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	cmd := exec.Command("go", "build", "-o", binDir+string(filepath.Separator), "./cmd/credctl", "./cmd/credserver")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v: %s", err, out)
	}
	return nil
})

func credctlPath(t *testing.T) string {
	t.Helper()
	if err := buildOnce(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(binDir, "credctl")
}

// sharedStack returns the stack most tests share: hub users alice, alice2,
// bob, carol and dask, group staff = {alice}, buckets hub-scratch and
// hub-shared, credserver in-process with counted hub and STS transports.
func sharedStack(t *testing.T) *stack.Stack {
	t.Helper()
	peers.Require(t, "jupyterhub", "minio")
	stackOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		shared, sharedErr = stack.Start(ctx, stack.Options{
			Dir:       stackDir,
			Users:     append(stackUsers, encodedUsers...),
			Groups:    map[string][]string{"staff": {"alice"}, "proj-ocean": {"alice", "carol"}, "proj-ice": {"carol"}},
			Buckets:   []string{"hub-scratch", "hub-shared"},
			HubClient: &http.Client{Transport: hubCalls, Timeout: 10 * time.Second},
			STSClient: &http.Client{Transport: stsCalls, Timeout: 30 * time.Second},
			Logf:      func(f string, a ...any) { fmt.Fprintf(os.Stderr, "stack: "+f+"\n", a...) },
			Wrap:      recorded.wrap,
		})
	})
	if sharedErr != nil {
		t.Fatalf("start stack: %v", sharedErr)
	}
	return shared
}

// countingTransport counts the requests it forwards.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) Count() int64 { return c.n.Load() }
