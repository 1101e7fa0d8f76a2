// Package stack brings up a complete local credserver stack on free loopback
// ports: a real JupyterHub, a real MinIO, and credserver configured against
// both, either in-process (tests, which count upstream calls) or as the
// credserver binary (the demo). Both the integration tests and `make demo`
// use it, so the demo shows what the tests check.
package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/credserver/credserver/internal/app"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/server"
	"github.com/credserver/credserver/internal/testenv/peers"
)

// BasePath is where the stack mounts the API, as behind a hub's proxy.
const BasePath = "/services/credserver"

// DefaultConfig is the credserver config the stack serves unless told
// otherwise. It is a text/template over Vars.
const DefaultConfig = `listen: {{.Listen}}
base_path: ` + BasePath + `
hub:
  api_url: {{.HubAPI}}
providers:
  minio:
    type: aws
    region: us-east-1
    role_arn: arn:aws:iam::000000000000:role/hub-users
    sts_endpoint: {{.S3}}
    s3_endpoint: {{.S3}}
grants:
  - name: scratch
    provider: minio
    bucket: hub-scratch
    prefix: "{user}/"
    access: readwrite
    max_duration: 12h
    allow: {users: ["*"]}
  - name: scratch-ro
    provider: minio
    bucket: hub-scratch
    prefix: "{user}/"
    access: read
    allow: {users: ["*"]}
  - name: shared
    provider: minio
    bucket: hub-shared
    prefix: ""
    access: read
    allow: {groups: [staff]}
    overlaps: [team]             # staff read every project's data
  - name: team
    provider: minio
    bucket: hub-shared
    prefix: "projects/{group}/"
    access: readwrite
    allow: {groups: ["proj-*"]}
`

// Vars are what a config template may refer to.
type Vars struct {
	Listen string // 127.0.0.1:PORT credserver listens on
	HubAPI string // the hub's API URL
	S3     string // MinIO's endpoint (S3 and STS)
	// Dir is Options.Dir, for files the config names (a store, ...).
	Dir string
	// HubTokenFile holds a hub service token with admin:users (so also
	// read:users), for hub.api_token_file.
	HubTokenFile string
}

// Options shape the stack.
type Options struct {
	// Dir holds every peer's files and logs; required.
	Dir string
	// Users are created at the hub, each with a token; Groups map a group
	// to its members.
	Users  []string
	Groups map[string][]string
	// Buckets are created in MinIO.
	Buckets []string
	// Config is a text/template over Vars; "" uses DefaultConfig.
	Config string
	// ServerBinary, when set, runs that credserver binary; otherwise the
	// server runs in-process through app.Build with the clients below.
	ServerBinary string
	HubClient    *http.Client
	STSClient    *http.Client
	// Limits overrides the server's rate limits (in-process only).
	Limits *server.Limits
	// AuditTo receives the in-process server's audit trail instead of the
	// in-memory buffer Audit reads, and LogLevel sets its log level (default
	// debug, kept in memory for Logs). Benchmarks use a file and info, as
	// in production: a buffer growing by tens of megabytes under load would
	// measure the harness, not the server.
	AuditTo  io.Writer
	LogLevel *slog.Level
	Logf     func(format string, args ...any)
	// Wrap, when set, wraps the in-process server's handler (not the
	// binary's); the integration tests record every response with it.
	Wrap func(http.Handler) http.Handler
}

// Stack is a running stack. Close stops everything it started.
type Stack struct {
	Hub   *peers.Hub
	MinIO *peers.MinIO
	// URL is credserver's API root, e.g. http://127.0.0.1:PORT/services/credserver.
	URL        string
	ConfigPath string
	// Tokens maps each user to a hub API token of theirs.
	Tokens map[string]string

	audit   *syncBuffer
	logs    *syncBuffer
	cancel  context.CancelFunc
	done    chan error
	cmd     *exec.Cmd
	closers []func() error
	once    sync.Once
}

// Start brings the stack up. On error everything already started is stopped.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	s := &Stack{Tokens: map[string]string{}, audit: &syncBuffer{}, logs: &syncBuffer{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	for _, sub := range []string{"minio", "hub"} {
		if err := os.MkdirAll(filepath.Join(o.Dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	if s.MinIO, err = peers.StartMinIO(ctx, peers.MinIOOptions{Dir: filepath.Join(o.Dir, "minio"), Logf: o.Logf}); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.MinIO.Close)
	for _, b := range o.Buckets {
		if err := s.MinIO.MakeBucket(ctx, b); err != nil {
			return nil, err
		}
	}
	if s.Hub, err = peers.StartHub(ctx, peers.HubOptions{Dir: filepath.Join(o.Dir, "hub"), Logf: o.Logf}); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.Hub.Close)
	for _, u := range o.Users {
		if err := s.Hub.CreateUser(ctx, u); err != nil {
			return nil, err
		}
		if s.Tokens[u], err = s.Hub.Token(ctx, u); err != nil {
			return nil, err
		}
	}
	for g, members := range o.Groups {
		if err := s.Hub.CreateGroup(ctx, g, members...); err != nil {
			return nil, err
		}
	}
	if err := s.startServer(ctx, o); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Stack) startServer(ctx context.Context, o Options) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	vars := Vars{Listen: ln.Addr().String(), HubAPI: s.Hub.APIURL, S3: s.MinIO.Endpoint, Dir: o.Dir,
		HubTokenFile: filepath.Join(o.Dir, "hub-api-token")}
	if err := os.WriteFile(vars.HubTokenFile, []byte(s.Hub.AdminToken+"\n"), 0o600); err != nil {
		ln.Close()
		return err
	}
	text := o.Config
	if text == "" {
		text = DefaultConfig
	}
	var buf bytes.Buffer
	if err := template.Must(template.New("config").Parse(text)).Execute(&buf, vars); err != nil {
		ln.Close()
		return fmt.Errorf("config template: %w", err)
	}
	s.ConfigPath = filepath.Join(o.Dir, "credserver.yaml")
	if err := os.WriteFile(s.ConfigPath, buf.Bytes(), 0o600); err != nil {
		ln.Close()
		return err
	}
	s.URL = "http://" + vars.Listen + BasePath
	if o.ServerBinary != "" {
		ln.Close() // the binary listens on the same address itself
		return s.startBinary(ctx, o)
	}
	cfg, err := config.Load(s.ConfigPath)
	if err != nil {
		ln.Close()
		return err
	}
	level, audit := slog.LevelDebug, io.Writer(s.audit)
	if o.LogLevel != nil {
		level = *o.LogLevel
	}
	if o.AuditTo != nil {
		audit = o.AuditTo
	}
	log := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: level}))
	srv, err := app.Build(ctx, cfg, app.Options{
		Logger: log, Audit: audit, HubClient: o.HubClient, STSClient: o.STSClient, Limits: o.Limits,
		AWSCredentials: credentials.NewStaticCredentialsProvider(s.MinIO.RootUser, s.MinIO.RootPassword, ""),
	})
	if err != nil {
		ln.Close()
		return err
	}
	sctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan error, 1)
	h := srv.Handler()
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	go func() { s.done <- app.Serve(sctx, ln, h, log, 5*time.Second) }()
	return nil
}

func (s *Stack) startBinary(ctx context.Context, o Options) error {
	cmd := exec.Command(o.ServerBinary, "serve", "-config", s.ConfigPath)
	// The aws provider reads its own credentials from the AWS SDK's default
	// chain; here that is the environment, holding MinIO's root user.
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+s.MinIO.RootUser, "AWS_SECRET_ACCESS_KEY="+s.MinIO.RootPassword,
		"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true")
	cmd.Stdout, cmd.Stderr = s.audit, s.logs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start credserver: %w", err)
	}
	s.cmd = cmd
	s.done = make(chan error, 1)
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("credserver exited at start (%v): %s", err, tail(s.logs.String()))
		default:
		}
		resp, err := http.Get(strings.TrimSuffix(s.URL, BasePath) + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("credserver did not become healthy: %s", tail(s.logs.String()))
}

// Audit returns the audit trail written so far.
func (s *Stack) Audit() string { return s.audit.String() }

// Signal sends sig to the credserver binary (ServerBinary stacks only).
func (s *Stack) Signal(sig os.Signal) error {
	if s.cmd == nil {
		return errors.New("stack: Signal needs a stack running the credserver binary")
	}
	return s.cmd.Process.Signal(sig)
}

// Logs returns credserver's logs so far.
func (s *Stack) Logs() string { return s.logs.String() }

// StopServer stops credserver gracefully (SIGTERM for the binary) and
// returns how it exited.
func (s *Stack) StopServer() error {
	if s.done == nil {
		return nil
	}
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
	} else {
		s.cancel()
	}
	select {
	case err := <-s.done:
		s.done = nil
		return err
	case <-time.After(15 * time.Second):
		if s.cmd != nil {
			_ = s.cmd.Process.Kill()
		}
		return errors.New("credserver did not stop within 15s")
	}
}

// Close stops everything. It is safe to call more than once.
func (s *Stack) Close() {
	s.once.Do(func() {
		_ = s.StopServer()
		for i := len(s.closers) - 1; i >= 0; i-- {
			_ = s.closers[i]()
		}
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}
