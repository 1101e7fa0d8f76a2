package integration

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/credserver/credserver/internal/testenv/stack"
)

// notebook wraps stack.Notebook for tests: failures to run are fatal.
type notebook struct {
	*stack.Notebook
	t    *testing.T
	user string
	home string
}

type (
	op       = stack.Op
	opResult = stack.OpResult
)

func newNotebook(t *testing.T, s *stack.Stack, user string) *notebook {
	t.Helper()
	credctl := credctlPath(t)
	nb, err := s.NewNotebook(user, t.TempDir(), filepath.Dir(credctl))
	if err != nil {
		t.Fatal(err)
	}
	return &notebook{Notebook: nb, t: t, user: user, home: nb.Home}
}

func (n *notebook) credctl(args ...string) string {
	n.t.Helper()
	out, err := n.Credctl(args...)
	if err != nil {
		n.t.Fatal(err)
	}
	return out
}

func (n *notebook) boto3(profile string, ops ...op) []opResult {
	n.t.Helper()
	res, err := n.Boto3(profile, ops...)
	if err != nil {
		n.t.Fatal(err)
	}
	return res
}

func (n *notebook) aws(_ *stack.Stack, profile string, args ...string) (string, string, int) {
	n.t.Helper()
	out, errOut, code, err := n.AWS(profile, args...)
	if err != nil {
		n.t.Fatal(err)
	}
	return out, errOut, code
}

func (n *notebook) writeFile(name, content string) string {
	n.t.Helper()
	p := filepath.Join(n.home, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		n.t.Fatal(err)
	}
	return p
}
