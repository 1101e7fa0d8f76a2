package awssts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithy "github.com/aws/smithy-go"

	"github.com/credserver/credserver/internal/testenv/peers"
)

// Helpers for minio_test.go: the real MinIO comes from internal/testenv/peers, the
// shared harness for the project's test peers.

// startMinIO starts a MinIO server for the test and returns its endpoint and
// root credentials. Without the binary the test skips, except under CI,
// where a missing peer is a failure.
func startMinIO(t *testing.T) (endpoint string, root aws.CredentialsProvider) {
	t.Helper()
	peers.Require(t, "minio")
	m, err := peers.StartMinIO(t.Context(), peers.MinIOOptions{Dir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m.Endpoint, credentials.NewStaticCredentialsProvider(m.RootUser, m.RootPassword, "")
}

func newS3Client(endpoint string, creds aws.CredentialsProvider) *s3.Client {
	return s3.New(s3.Options{
		Region:       DefaultRegion,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  creds,
		HTTPClient:   &http.Client{Timeout: 10 * time.Second},
	})
}

// clientFor returns an S3 client that signs with the issued credential.
func clientFor(t *testing.T, endpoint string, body any) *s3.Client {
	t.Helper()
	b, ok := body.(*Body)
	if !ok {
		t.Fatalf("body is %T, want *Body", body)
	}
	c := b.Credentials
	return newS3Client(endpoint, credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken))
}

func wantAllowed(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v, want it allowed", what, err)
	}
}

func wantDenied(t *testing.T, what string, err error) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Errorf("%s: err = %v, want AccessDenied", what, err)
	}
}

func putObject(ctx context.Context, c *s3.Client, bucket, key string) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("data for " + key)})
	return err
}

func getObject(ctx context.Context, c *s3.Client, bucket, key string) error {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err == nil {
		out.Body.Close()
	}
	return err
}

func listObjects(ctx context.Context, c *s3.Client, bucket, prefix string) ([]string, error) {
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, *o.Key)
	}
	for _, p := range out.CommonPrefixes {
		keys = append(keys, *p.Prefix)
	}
	return keys, nil
}

func deleteObject(ctx context.Context, c *s3.Client, bucket, key string) error {
	_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return err
}

// multipartUpload uploads key in one part and completes it.
func multipartUpload(ctx context.Context, c *s3.Client, bucket, key string) error {
	mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key),
		UploadId: mp.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("one small last part")})
	if err != nil {
		return fmt.Errorf("upload part: %w", err)
	}
	if _, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: mp.UploadId}); err != nil {
		return fmt.Errorf("list parts: %w", err)
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: mp.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: part.ETag, PartNumber: aws.Int32(1)}}}})
	if err != nil {
		return fmt.Errorf("complete: %w", err)
	}
	return nil
}

// abortedUpload starts a multipart upload of key and aborts it.
func abortedUpload(ctx context.Context, c *s3.Client, bucket, key string) error {
	mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: mp.UploadId}); err != nil {
		return fmt.Errorf("abort: %w", err)
	}
	return nil
}
