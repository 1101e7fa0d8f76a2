package peers_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/testenv/peers"
)

func TestMinIO(t *testing.T) {
	peers.Require(t, "minio")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	m, err := peers.StartMinIO(ctx, peers.MinIOOptions{Dir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("minio log:\n%s", m.LogTail())
		}
	})
	if err := m.MakeBucket(ctx, "scratch"); err != nil {
		t.Fatal(err)
	}
	body := []byte("hello from alice\n")
	if _, err := m.RootS3().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("scratch"), Key: aws.String("alice/hello.txt"), Body: bytes.NewReader(body),
	}); err != nil {
		t.Fatal(err)
	}
	getObject := func(t *testing.T, c *s3.Client) ([]byte, error) {
		t.Helper()
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("scratch"), Key: aws.String("alice/hello.txt")})
		if err != nil {
			return nil, err
		}
		defer out.Body.Close()
		return io.ReadAll(out.Body)
	}

	t.Run("get with root", func(t *testing.T) {
		got, err := getObject(t, m.RootS3())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(body), string(got)); diff != "" {
			t.Errorf("object (-want +got):\n%s", diff)
		}
	})

	t.Run("wrong secret is refused", func(t *testing.T) {
		cfg := m.AWSConfig()
		cfg.Credentials = credentials.NewStaticCredentialsProvider(m.RootUser, "not-the-password", "")
		c := s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.BaseEndpoint = aws.String(m.Endpoint)
			o.UsePathStyle = true
		})
		if _, err := getObject(t, c); err == nil {
			t.Error("GetObject with a wrong secret succeeded")
		}
	})

	t.Run("log tail hides the password", func(t *testing.T) {
		if strings.Contains(m.LogTail(), m.RootPassword) {
			t.Error("LogTail contains the root password")
		}
	})

	t.Run("stop and start", func(t *testing.T) {
		if err := m.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := m.Start(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := getObject(t, m.RootS3())
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("after restart: %q, %v; want %q", got, err, body)
		}
	})
}
