package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/credserver/credserver/internal/testenv/peers"
	"github.com/credserver/credserver/internal/testenv/stack"
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

// startMinIOIn makes dir's subdirectories (minio, hub, and any extra, with
// perm) and starts a MinIO of its own under dir/minio holding buckets, for
// a test that brings up its own hub beside it. MinIO stops when t ends.
func startMinIOIn(ctx context.Context, t *testing.T, dir string, perm os.FileMode, extra []string, buckets ...string) *peers.MinIO {
	t.Helper()
	for _, sub := range append([]string{"minio", "hub"}, extra...) {
		if err := os.MkdirAll(filepath.Join(dir, sub), perm); err != nil {
			t.Fatal(err)
		}
	}
	minio, err := peers.StartMinIO(ctx, peers.MinIOOptions{Dir: filepath.Join(dir, "minio"), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { minio.Close() })
	for _, b := range buckets {
		if err := minio.MakeBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	return minio
}
