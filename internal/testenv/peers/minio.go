package peers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithy "github.com/aws/smithy-go"
)

// MinIOOptions configures StartMinIO.
type MinIOOptions struct {
	// Dir holds the data (Dir/data), certs dir and log (minio.log).
	// Required; the caller owns it.
	Dir string
	// HTTPClient is used for readiness checks and by RootS3; nil means a
	// client with a 30s timeout.
	HTTPClient *http.Client
	// Logf receives progress lines (never secrets); nil discards them.
	Logf func(format string, args ...any)
}

// MinIO is a running single-drive MinIO server with S3 and STS on Endpoint.
// Its fields are fixed across Stop and Start. Methods are safe for concurrent
// use.
type MinIO struct {
	// Endpoint is http://127.0.0.1:PORT, for S3 and STS alike.
	Endpoint string
	// RootUser and RootPassword are the root credentials, random per
	// StartMinIO: an access key id and secret key that may sign anything,
	// including STS AssumeRole.
	RootUser, RootPassword string
	// Region is the region MinIO is configured for: us-east-1.
	Region string
	// Dir is MinIOOptions.Dir.
	Dir string

	client *http.Client
	logf   func(format string, args ...any)
	proc   *process
	s3     *s3.Client

	mu     sync.Mutex
	closed bool
}

// StartMinIO starts MinIO on free loopback ports with random root
// credentials and returns once /minio/health/ready answers. The caller must
// Close it. On failure nothing is left running and the error includes the
// tail of MinIO's log.
func StartMinIO(ctx context.Context, o MinIOOptions) (*MinIO, error) {
	if o.Dir == "" {
		return nil, errors.New("peers: MinIOOptions.Dir is required")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("peers: minio dir: %w", err)
	}
	bin, err := Bin("minio")
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"data", "certs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("peers: minio dir: %w", err)
		}
	}
	m := &MinIO{
		RootUser:     "root-" + randomHex(6),
		RootPassword: randomHex(20),
		Region:       "us-east-1",
		Dir:          dir,
		client:       o.HTTPClient,
		logf:         o.Logf,
	}
	if m.client == nil {
		m.client = &http.Client{Timeout: 30 * time.Second}
	}
	if m.logf == nil {
		m.logf = func(string, ...any) {}
	}
	env := peerEnv([]string{"MINIO_*"},
		"MINIO_ROOT_USER="+m.RootUser,
		"MINIO_ROOT_PASSWORD="+m.RootPassword,
		"MINIO_SITE_REGION="+m.Region,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	m.proc = &process{
		name:    "minio",
		path:    bin,
		dir:     dir,
		env:     env,
		logPath: filepath.Join(dir, "minio.log"),
		secrets: []string{m.RootPassword},
	}
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			return nil, err
		}
		m.Endpoint = "http://127.0.0.1:" + strconv.Itoa(ports[0])
		m.proc.args = []string{"server", filepath.Join(dir, "data"),
			"--address", "127.0.0.1:" + strconv.Itoa(ports[0]),
			"--console-address", "127.0.0.1:" + strconv.Itoa(ports[1]),
			"--certs-dir", filepath.Join(dir, "certs"),
		}
		err = m.Start(ctx)
		if err == nil {
			break
		}
		if attempt < 3 && errors.Is(err, errExited) && m.proc.addrInUse() {
			m.logf("minio: a port was taken, retrying with new ports")
			continue
		}
		return nil, err
	}
	m.s3 = s3.NewFromConfig(m.AWSConfig(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(m.Endpoint)
		o.UsePathStyle = true
	})
	return m, nil
}

// Start starts a stopped MinIO again on the same ports with the same data and
// credentials, and waits until it is ready.
func (m *MinIO) Start(ctx context.Context) error {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return errors.New("peers: minio is closed")
	}
	// /minio/health/ready waits for the drive; STS answers a little later,
	// once IAM is up (waitSTS).
	ok := func(r *http.Response) bool { return r.StatusCode == http.StatusOK }
	took, err := m.proc.launch(ctx, func(ctx context.Context) error {
		if err := m.proc.waitHTTP(ctx, m.client, m.Endpoint+"/minio/health/ready", ok); err != nil {
			return err
		}
		return m.waitSTS(ctx)
	}, m.proc.stop)
	if err != nil {
		return err
	}
	m.logf("minio: ready at %s after %s", m.Endpoint, took)
	return nil
}

// waitSTS waits until STS answers: MinIO's IAM subsystem comes up after
// /minio/health/ready, and until then AssumeRole says "Server not
// initialized".
func (m *MinIO) waitSTS(ctx context.Context) error {
	cfg := m.AWSConfig()
	client := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(m.Endpoint) })
	for {
		_, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::000000000000:role/peers-probe"), RoleSessionName: aws.String("peers-probe"),
			DurationSeconds: aws.Int32(900),
		})
		if err == nil {
			return nil
		}
		if !strings.Contains(err.Error(), "not initialized") {
			return fmt.Errorf("peers: minio STS probe: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("peers: minio STS never initialized: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops MinIO but keeps its data for Start. Stopping a stopped server is
// a no-op.
func (m *MinIO) Stop() error {
	return m.proc.stop()
}

// Close stops MinIO for good. It is idempotent; Dir is left for its owner.
func (m *MinIO) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return m.proc.stop()
}

// LogTail returns the last lines of MinIO's log, root password redacted.
func (m *MinIO) LogTail() string {
	return m.proc.logTail()
}

// AWSConfig is an aws.Config signed with the root credentials, for building
// STS or S3 clients; set BaseEndpoint to Endpoint on the client (and
// UsePathStyle for S3).
func (m *MinIO) AWSConfig() aws.Config {
	return aws.Config{
		Region:      m.Region,
		Credentials: credentials.NewStaticCredentialsProvider(m.RootUser, m.RootPassword, ""),
		HTTPClient:  m.client,
	}
}

// RootS3 is an S3 client for Endpoint with the root credentials and
// path-style addressing. It is shared; do not modify it.
func (m *MinIO) RootS3() *s3.Client {
	return m.s3
}

// MakeBucket creates bucket name with the root credentials.
//
// MinIO can report ready a moment before it accepts writes (it answers
// XMinioServerNotInitialized); that answer is retried for up to 30s.
func (m *MinIO) MakeBucket(ctx context.Context, name string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := m.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
		var apiErr smithy.APIError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &apiErr) && apiErr.ErrorCode() == "XMinioServerNotInitialized" && time.Now().Before(deadline):
			select {
			case <-ctx.Done():
				return fmt.Errorf("peers: minio make bucket %s: %w", name, ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		default:
			return fmt.Errorf("peers: minio make bucket %s: %w", name, err)
		}
	}
}
