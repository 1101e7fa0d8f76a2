package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/credserver/credserver/internal/app"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/testenv/peers"
	"github.com/credserver/credserver/internal/testenv/stack"
)

// hubSnippet is the jupyterhub_config.py snippet admins are told to use.
const hubSnippet = "../deploy/jupyterhub/jupyterhub_config.py"

// TestHubService runs the real JupyterHub 3 with its real proxy
// (configurable-http-proxy) and the snippet from deploy/jupyterhub, which
// registers credserver as an external service; a user's token then gets
// whoami and S3 credentials through the proxy at
// {hub}/services/credserver/v1/..., and the credentials work on MinIO for
// the user's prefix only.
func TestHubService(t *testing.T) {
	peers.Require(t, "jupyterhub", "configurable-http-proxy", "minio")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	minio := startMinIOIn(ctx, t, dir, 0o700, nil, "hub-scratch")

	// credserver's address must be in the hub's config before the hub
	// starts, and the hub's API URL in credserver's: hold the port first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	credURL := "http://" + ln.Addr().String()
	handler := serve(t, ln)
	snippet, err := os.ReadFile(hubSnippet)
	if err != nil {
		t.Fatal(err)
	}
	// The snippet reads its values from the hub's environment; set them
	// first, as a deployment's environment would.
	extra := fmt.Sprintf("import os\nos.environ[%q] = %q\nos.environ[%q] = %q\n\n%s",
		"CREDSERVER_URL", credURL, "CREDSERVER_API_TOKEN", randomToken(t), snippet)
	// BareRoles: the snippet, not the test harness, gives tokens the
	// scope credserver requires.
	hub, err := peers.StartHub(ctx, peers.HubOptions{Dir: filepath.Join(dir, "hub"), Proxy: true, BareRoles: true, ExtraConfig: extra, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Close() })
	handler.Store(buildCredserver(t, ln.Addr().String(), hub, minio))

	const user = "ada-lovelace"
	if err := hub.CreateUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	tok, err := hub.Token(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	// Everything below goes through the hub's proxy, never to credserver's
	// own address.
	base := hub.URL + "/services/credserver"
	if strings.HasPrefix(base, credURL) {
		t.Fatalf("hub URL %s is credserver's own", hub.URL)
	}

	if r := waitProxied(t, base+"/"); r.Body["service"] != "credserver" {
		t.Errorf("GET %s/ through the proxy = %d %s", base, r.Status, r.Raw)
	}
	if r := call(t, base+"/v1/whoami", ""); r.Status != 401 || errCode(r) != "missing_token" || r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("whoami without a token through the proxy = %d %s", r.Status, r.Raw)
	}

	w := call(t, base+"/v1/whoami", "token "+tok)
	if w.Status != 200 || w.Body["user"] != user {
		t.Fatalf("whoami through the proxy = %d %s\nhub log:\n%s", w.Status, w.Raw, hub.LogTail())
	}
	wantURL := "s3://hub-scratch/" + user + "/"
	if !strings.Contains(w.Raw, `"location":"`+wantURL+`"`) {
		t.Errorf("whoami grants do not show %s: %s", wantURL, w.Raw)
	}

	c := call(t, base+"/v1/credentials/scratch", "token "+tok)
	if c.Status != 200 {
		t.Fatalf("credentials through the proxy = %d %s", c.Status, c.Raw)
	}
	if c.Body["url"] != wantURL || c.Body["provider"] != "aws" || c.Body["endpoint_url"] != minio.Endpoint {
		t.Errorf("credentials body = %s, want url %s on %s", c.Raw, wantURL, minio.Endpoint)
	}
	if c.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control through the proxy = %q", c.Header.Get("Cache-Control"))
	}
	checkScopedS3(t, ctx, minio.Endpoint, c.Body, user)
}

// serve serves ln at once, as a deployed credserver would be serving when
// the hub starts and probes it; until the returned pointer holds a handler
// it answers 503.
func serve(t *testing.T, ln net.Listener) *atomic.Pointer[http.Handler] {
	t.Helper()
	var h atomic.Pointer[http.Handler]
	front := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := h.Load(); p != nil {
			(*p).ServeHTTP(w, r)
			return
		}
		http.Error(w, "starting", http.StatusServiceUnavailable)
	})
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(sctx, ln, front, slog.New(slog.DiscardHandler), 5*time.Second) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("credserver: %v", err)
		}
	})
	return &h
}

// buildCredserver builds credserver configured like the shared stack
// (stack.DefaultConfig) against this hub and MinIO, its responses recorded
// for the OpenAPI check.
func buildCredserver(t *testing.T, listen string, hub *peers.Hub, minio *peers.MinIO) *http.Handler {
	t.Helper()
	return buildCredserverWith(t, listen, hub, minio, app.Options{})
}

// buildCredserverWith is buildCredserver with o's clients and limits (its
// AWS credentials are MinIO's).
func buildCredserverWith(t *testing.T, listen string, hub *peers.Hub, minio *peers.MinIO, o app.Options) *http.Handler {
	t.Helper()
	var buf bytes.Buffer
	vars := stack.Vars{Listen: listen, HubAPI: hub.APIURL, S3: minio.Endpoint}
	if err := template.Must(template.New("config").Parse(stack.DefaultConfig)).Execute(&buf, vars); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BasePath != "/services/credserver" {
		t.Fatalf("base_path %q: the hub's proxy forwards /services/credserver/...", cfg.BasePath)
	}
	o.AWSCredentials = credentials.NewStaticCredentialsProvider(minio.RootUser, minio.RootPassword, "")
	srv, err := app.Build(context.Background(), cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	h := recorded.wrap(srv.Handler())
	return &h
}

// waitProxied polls url until the proxy routes it to credserver: the hub
// adds the service's route as it starts.
func waitProxied(t *testing.T, url string) apiResp {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := call(t, url, "")
		if r.Status == 200 || time.Now().After(deadline) {
			return r
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkScopedS3 uses the issued credentials on MinIO: the user's prefix is
// writable, a neighbour's is not.
func checkScopedS3(t *testing.T, ctx context.Context, endpoint string, body map[string]any, user string) {
	t.Helper()
	cr, _ := body["credentials"].(map[string]any)
	key, _ := cr["access_key_id"].(string)
	secret, _ := cr["secret_access_key"].(string)
	session, _ := cr["session_token"].(string)
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, session),
	})
	put := func(k string) error {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String("hub-scratch"), Key: aws.String(k), Body: strings.NewReader("hello"),
		})
		return err
	}
	if err := put(user + "/hello.txt"); err != nil {
		t.Errorf("put into the user's own prefix: %v", err)
	}
	var apiErr smithy.APIError
	if err := put("someone-else/hello.txt"); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Errorf("put into another prefix = %v, want AccessDenied", err)
	}
}

func randomToken(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
