package integration

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/credserver/credserver/internal/testenv/stack"
	"os"
	"testing"
)

// requireFiles skips the test when a Debian-packaged client is missing, or
// fails it under CI, where scripts/install-peers.sh must have installed it.
func requireFiles(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing (CI is set, so this fails): run scripts/install-peers.sh", p)
			}
			t.Skipf("%s is missing: run scripts/install-peers.sh", p)
		}
	}
}

func rootCreds(s *stack.Stack) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(s.MinIO.RootUser, s.MinIO.RootPassword, "")
}
