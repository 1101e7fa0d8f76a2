package awssts

import (
	"fmt"
	"github.com/credserver/credserver/internal/policy"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/credserver/credserver/internal/vend"
)

const minioBucket = "scratch"

// TestMinIO issues credentials through a real MinIO STS and checks with the
// S3 API, signing with those credentials, that the session policy confines
// them to the user's prefix.
func TestMinIO(t *testing.T) {
	endpoint, rootCreds := startMinIO(t)
	ctx := t.Context()
	root := newS3Client(endpoint, rootCreds)
	if _, err := root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(minioBucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	for _, key := range []string{"top.txt", "alice/seed.txt", "alice2/x.txt", "bob/x.txt"} {
		if err := putObject(ctx, root, minioBucket, key); err != nil {
			t.Fatalf("seed %s: %v", key, err)
		}
	}

	newProvider := func(t *testing.T, roleARN string) *Provider {
		t.Helper()
		p, err := New(ctx, Config{
			RoleARN:     roleARN,
			STSEndpoint: endpoint,
			S3Endpoint:  endpoint,
			Credentials: rootCreds,
		})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	issue := func(t *testing.T, p *Provider, d policy.Decision) *vend.Credentials {
		t.Helper()
		cred, err := p.Issue(ctx, d)
		if err != nil {
			t.Fatalf("Issue: %v", err)
		}
		return cred
	}
	aliceReq := func(access policy.Access) policy.Decision {
		return policy.Decision{User: "alice", Grant: "scratch", Access: access, Duration: time.Hour,
			Bucket: minioBucket, Prefixes: []string{"alice/"}, Location: "s3://scratch/alice/"}
	}
	p := newProvider(t, "arn:minio:iam:::role/credserver")

	t.Run("readwrite confined to prefix", func(t *testing.T) {
		c := clientFor(t, endpoint, issue(t, p, aliceReq(policy.AccessReadWrite)).Body)
		wantAllowed(t, "put alice/new.txt", putObject(ctx, c, minioBucket, "alice/new.txt"))
		wantAllowed(t, "get alice/new.txt", getObject(ctx, c, minioBucket, "alice/new.txt"))
		wantAllowed(t, "get alice/seed.txt", getObject(ctx, c, minioBucket, "alice/seed.txt"))
		keys, err := listObjects(ctx, c, minioBucket, "alice/")
		wantAllowed(t, "list alice/", err)
		if want := []string{"alice/new.txt", "alice/seed.txt"}; !slices.Equal(keys, want) {
			t.Errorf("list alice/ = %q, want %q", keys, want)
		}
		wantAllowed(t, "multipart alice/big.bin", multipartUpload(ctx, c, minioBucket, "alice/big.bin"))
		wantAllowed(t, "aborted multipart alice/gone.bin", abortedUpload(ctx, c, minioBucket, "alice/gone.bin"))
		wantAllowed(t, "delete alice/new.txt", deleteObject(ctx, c, minioBucket, "alice/new.txt"))

		for _, prefix := range []string{"", "alice", "alice2/", "bob/"} {
			_, err := listObjects(ctx, c, minioBucket, prefix)
			wantDenied(t, fmt.Sprintf("list %q", prefix), err)
		}
		for _, key := range []string{"top.txt", "alice2/x.txt", "bob/x.txt"} {
			wantDenied(t, "get "+key, getObject(ctx, c, minioBucket, key))
			wantDenied(t, "put "+key, putObject(ctx, c, minioBucket, key))
			wantDenied(t, "delete "+key, deleteObject(ctx, c, minioBucket, key))
		}
		wantDenied(t, "multipart bob/big.bin", multipartUpload(ctx, c, minioBucket, "bob/big.bin"))
		// Listing in-progress uploads cannot be narrowed to a prefix in IAM,
		// so it would show other users' key names: not granted.
		_, err = c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(minioBucket), Prefix: aws.String("alice/")})
		wantDenied(t, "list multipart uploads", err)
		// Other users' objects are untouched.
		for _, key := range []string{"top.txt", "alice2/x.txt", "bob/x.txt"} {
			if err := getObject(ctx, root, minioBucket, key); err != nil {
				t.Errorf("root get %s after the denied calls: %v", key, err)
			}
		}
	})

	t.Run("read cannot write", func(t *testing.T) {
		c := clientFor(t, endpoint, issue(t, p, aliceReq(policy.AccessRead)).Body)
		wantAllowed(t, "get alice/seed.txt", getObject(ctx, c, minioBucket, "alice/seed.txt"))
		_, err := listObjects(ctx, c, minioBucket, "alice/")
		wantAllowed(t, "list alice/", err)
		wantDenied(t, "put alice/new.txt", putObject(ctx, c, minioBucket, "alice/new.txt"))
		wantDenied(t, "delete alice/seed.txt", deleteObject(ctx, c, minioBucket, "alice/seed.txt"))
		wantDenied(t, "multipart alice/big.bin", multipartUpload(ctx, c, minioBucket, "alice/big.bin"))
	})

	t.Run("whole bucket read", func(t *testing.T) {
		req := aliceReq(policy.AccessRead)
		req.Prefixes = []string{""}
		c := clientFor(t, endpoint, issue(t, p, req).Body)
		_, err := listObjects(ctx, c, minioBucket, "")
		wantAllowed(t, "list root", err)
		wantAllowed(t, "get bob/x.txt", getObject(ctx, c, minioBucket, "bob/x.txt"))
		wantDenied(t, "put bob/y.txt", putObject(ctx, c, minioBucket, "bob/y.txt"))
	})

	t.Run("duration honoured", func(t *testing.T) {
		for _, d := range []time.Duration{MinDuration, 2 * time.Hour, 13 * time.Hour} {
			req := aliceReq(policy.AccessRead)
			req.Duration = d
			before := time.Now()
			cred := issue(t, p, req)
			if got := cred.Expires.Sub(before); got < d-time.Minute || got > d+time.Minute {
				t.Errorf("duration %v: credential lives %v", d, got)
			}
		}
	})

	t.Run("role ARN and source identity", func(t *testing.T) {
		// MinIO's AssumeRole reads neither RoleArn nor RoleSessionName nor
		// SourceIdentity: any ARN-shaped string works and an awkward
		// username is fine.
		other := newProvider(t, "arn:aws:iam::123456789012:role/not-in-minio")
		req := aliceReq(policy.AccessRead)
		req.User = "josé o'brien"
		c := clientFor(t, endpoint, issue(t, other, req).Body)
		wantAllowed(t, "get alice/seed.txt", getObject(ctx, c, minioBucket, "alice/seed.txt"))
	})

	t.Run("largest policy we accept", func(t *testing.T) {
		var prefixes []string
		for i := 0; ; i++ {
			next := append(slices.Clone(prefixes), fmt.Sprintf("groups/g%03d/", i))
			if _, err := SessionPolicy(minioBucket, next, policy.AccessReadWrite); err != nil {
				break
			}
			prefixes = next
		}
		req := aliceReq(policy.AccessReadWrite)
		req.Prefixes = prefixes
		policy, _ := SessionPolicy(minioBucket, prefixes, policy.AccessReadWrite)
		t.Logf("%d prefixes, %d-byte policy", len(prefixes), len(policy))
		c := clientFor(t, endpoint, issue(t, p, req).Body)
		last := prefixes[len(prefixes)-1]
		wantAllowed(t, "put "+last+"x", putObject(ctx, c, minioBucket, last+"x"))
		wantDenied(t, "put bob/x", putObject(ctx, c, minioBucket, "bob/x"))
	})
}
