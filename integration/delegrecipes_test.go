package integration

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/credserver/credserver/internal/app"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/testenv/peers"
	"github.com/credserver/credserver/internal/testenv/stack"
)

// The user guide's delegation recipes (docs/user-guide.md, "Delegation
// tokens"), run as written where the peers allow: dask itself is not
// installed here, so the Dask recipe's mechanism is run instead — separate
// worker processes whose environment holds nothing of the user's but
// CREDSERVER_URL and CREDSERVER_TOKEN, each configuring credctl as boto3's
// credential_process and using S3.

// tokenEnv parses `credctl token create --format env` as the recipe's
// Python does: whitespace-separated NAME=value pairs.
func tokenEnv(t *testing.T, out string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, f := range strings.Fields(out) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			t.Fatalf("token create --format env printed %q", out)
		}
		env[k] = v
	}
	if len(env) != 2 || !strings.HasPrefix(env["CREDSERVER_TOKEN"], "csd_") || env["CREDSERVER_URL"] == "" {
		t.Fatalf("token create --format env printed %q", out)
	}
	delegSeen.add(env["CREDSERVER_TOKEN"])
	return env
}

func TestRecipeDaskWorkers(t *testing.T) {
	s := delegStack(t)
	requireFiles(t, "/usr/bin/python3", "/usr/lib/python3/dist-packages/boto3")
	alice := newNotebook(t, s, "alice")
	env := tokenEnv(t, alice.credctl("token", "create", "--grant", "scratch", "--access", "readwrite",
		"--expires-in", "48h", "--note", "dask", "--format", "env"))
	configure(t, alice, "scratch")
	check(t, alice, "scratch", want(put("alice/dask/input.txt", "input"), true))

	const workers = 4
	var wg sync.WaitGroup
	errs := make([]error, workers)
	nbs := make([]*notebook, workers)
	for i := range workers {
		nbs[i] = worker(t, s, env["CREDSERVER_URL"], env["CREDSERVER_TOKEN"])
		for _, kv := range nbs[i].Env {
			if strings.HasPrefix(kv, "JUPYTERHUB_") {
				t.Fatalf("worker environment holds %s", kv)
			}
		}
	}
	for i := range workers {
		wg.Go(func() {
			n := nbs[i]
			// The recipe's worker callback, then boto3 with the default profile.
			if _, err := n.Credctl("aws", "configure", "--grant", "scratch", "--profile", "default"); err != nil {
				errs[i] = err
				return
			}
			res, err := n.Boto3("default",
				op{Op: "get", Bucket: bucket, Key: "alice/dask/input.txt"},
				op{Op: "put", Bucket: bucket, Key: fmt.Sprintf("alice/dask/out-%d.txt", i), Body: "done"},
				op{Op: "put", Bucket: bucket, Key: fmt.Sprintf("bob/dask-%d.txt", i), Body: "x"})
			switch {
			case err != nil:
				errs[i] = err
			case !res[0].OK || !res[1].OK:
				errs[i] = fmt.Errorf("worker %d: read %v (%s), write %v (%s)", i, res[0].OK, res[0].Code, res[1].OK, res[1].Code)
			case res[2].OK:
				errs[i] = fmt.Errorf("worker %d wrote outside alice's prefix", i)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	root := s.MinIO.RootS3()
	for i := range workers {
		assertObject(t, root, fmt.Sprintf("alice/dask/out-%d.txt", i), "done")
	}
}

func TestRecipeBatchJob(t *testing.T) {
	s := delegStack(t)
	requireFiles(t, "/usr/bin/aws", "/bin/bash")
	alice := newNotebook(t, s, "alice")
	out := alice.credctl("token", "create", "--grant", "scratch", "--access", "readwrite", "--expires-in", "72h", "--note", "nightly", "--format", "env")
	tokenEnv(t, out)
	job := worker(t, s, "", "")
	var env []string
	for _, kv := range job.Env { // the job has nothing of the user's but the file
		if !strings.HasPrefix(kv, "CREDSERVER_") {
			env = append(env, kv)
		}
	}
	job.Env = env
	job.writeFile("nightly.env", out)
	job.writeFile("results.nc", "results")
	script := `set -euo pipefail
set -a; . ./nightly.env; set +a
eval "$(credctl get scratch --format env)"
aws s3 cp results.nc "$SCRATCH_BUCKET/results.nc" --endpoint-url "$AWS_ENDPOINT_URL" --no-progress
`
	stdout, stderr, code, err := job.Run(script, "/bin/bash", "-s")
	if err != nil || code != 0 {
		t.Fatalf("batch job: exit %d %v\n%s\n%s", code, err, stdout, stderr)
	}
	assertObject(t, s.MinIO.RootS3(), "alice/results.nc", "results")
}

// TestRecipeLaptopThroughProxy: the laptop recipe through the hub's real
// proxy: CREDSERVER_URL is the hub's public .../services/credserver, the
// token made there with the user's hub token, then used from an
// environment with nothing else.
func TestRecipeLaptopThroughProxy(t *testing.T) {
	peers.Require(t, "jupyterhub", "configurable-http-proxy", "minio")
	requireFiles(t, "/usr/bin/python3", "/usr/lib/python3/dist-packages/boto3")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	minio := startMinIOIn(ctx, t, dir, 0o700, nil, "hub-scratch", "hub-shared")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	handler := serve(t, ln)
	snippet, err := os.ReadFile(hubSnippet)
	if err != nil {
		t.Fatal(err)
	}
	extra := fmt.Sprintf("import os\nos.environ[%q] = %q\nos.environ[%q] = %q\n\n%s",
		"CREDSERVER_URL", "http://"+ln.Addr().String(), "CREDSERVER_API_TOKEN", randomToken(t), snippet)
	hub, err := peers.StartHub(ctx, peers.HubOptions{Dir: filepath.Join(dir, "hub"), Proxy: true, ExtraConfig: extra, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Close() })

	tokenFile := filepath.Join(dir, "hub-api-token")
	if err := os.WriteFile(tokenFile, []byte(hub.AdminToken), 0o600); err != nil {
		t.Fatal(err)
	}
	writeStoreKey(t, dir)
	var buf bytes.Buffer
	vars := stack.Vars{Listen: ln.Addr().String(), HubAPI: hub.APIURL, S3: minio.Endpoint, Dir: dir, HubTokenFile: tokenFile}
	if err := template.Must(template.New("config").Parse(delegConfig)).Execute(&buf, vars); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := app.Build(ctx, cfg, app.Options{AWSCredentials: credentials.NewStaticCredentialsProvider(minio.RootUser, minio.RootPassword, "")})
	if err != nil {
		t.Fatal(err)
	}
	h := recorded.wrap(srv.Handler())
	handler.Store(&h)

	const user = "lena"
	if err := hub.CreateUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	hubTok, err := hub.Token(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	public := hub.URL + "/services/credserver"
	if r := waitProxied(t, public+"/"); r.Status != 200 {
		t.Fatalf("%s/ through the proxy: %d", public, r.Status)
	}
	s := &stack.Stack{Hub: hub, MinIO: minio, URL: public, Tokens: map[string]string{user: hubTok}}
	nb := newNotebook(t, s, user)
	env := tokenEnv(t, nb.credctl("token", "create", "--grant", "scratch", "--access", "readwrite", "--note", "laptop", "--format", "env"))
	if env["CREDSERVER_URL"] != public {
		t.Errorf("CREDSERVER_URL printed %q, want the hub's public %q", env["CREDSERVER_URL"], public)
	}
	laptop := worker(t, s, env["CREDSERVER_URL"], env["CREDSERVER_TOKEN"])
	if who := laptop.credctl("whoami"); !strings.Contains(who, user) {
		t.Errorf("whoami from the laptop: %s", who)
	}
	laptop.credctl("aws", "configure", "--grant", "scratch")
	check(t, laptop, "scratch",
		want(put(user+"/from-laptop.txt", "hi"), true),
		want(get(user+"/from-laptop.txt"), true),
		want(put("someone-else/x.txt", "x"), false),
	)
}
