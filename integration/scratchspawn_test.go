package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/credserver/credserver/internal/testenv/peers"
)

// seedWrite is the seed notebook's pattern with boto3 instead of s3fs
// (not installable here): a zarr store written to f"{SCRATCH_BUCKET}/rasm.zarr",
// credentials from the AWS profile only. argv[1] is the S3 endpoint, which
// the distribution's botocore (< 1.31) does not read from the profile.
const seedWrite = `
import os, sys, boto3
SCRATCH_BUCKET = os.environ["SCRATCH_BUCKET"]
target = f"{SCRATCH_BUCKET}/rasm.zarr"
bucket, _, key = target[len("s3://"):].partition("/")
s3 = boto3.Session().client("s3", endpoint_url=sys.argv[1])
for name in (".zgroup", ".zattrs", "Tair/.zarray", "Tair/0.0.0"):
    s3.put_object(Bucket=bucket, Key=key + "/" + name, Body=b"{}")
print(target)
`

// TestSpawnedServerScratchBucket runs the real JupyterHub 3 with
// deploy/jupyterhub/jupyterhub_config.py and spawns real
// jupyterhub-singleuser servers (SimpleLocalProcessSpawner) for users whose
// names are not plain path segments. Each server's own environment (read
// from /proc) holds SCRATCH_BUCKET and SCRATCH_URL as credserver computes
// them, and the seed's pattern, run with that environment and an AWS
// profile from credctl aws configure, writes inside the user's prefix and
// nowhere else. A server spawned while credserver cannot answer gets no
// SCRATCH_BUCKET rather than a guessed one.
func TestSpawnedServerScratchBucket(t *testing.T) {
	peers.Require(t, "jupyterhub", "jupyterhub-singleuser", "minio", "python3")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	minio := startMinIOIn(ctx, t, dir, 0o755, []string{"home"}, "hub-scratch")
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
	singleuser, err := peers.Bin("jupyterhub-singleuser")
	if err != nil {
		t.Fatal(err)
	}
	credctl := credctlPath(t)
	allowRoot := "[]"
	if os.Geteuid() == 0 { // the notebook server refuses root without it
		allowRoot = `["--allow-root"]`
	}
	extra := fmt.Sprintf(`import os
os.environ["CREDSERVER_URL"] = %q
%s
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = %q
c.Spawner.cmd = [%q]
c.Spawner.environment.update({"PATH": %q})
c.Spawner.args = %s
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 90
`, credURL, snippet, filepath.Join(dir, "home", "{username}"), singleuser, filepath.Dir(credctl)+":/usr/bin:/bin", allowRoot)
	hub, err := peers.StartHub(ctx, peers.HubOptions{Dir: filepath.Join(dir, "hub"), ExtraConfig: extra, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Close() })

	// credserver still answers 503 ("starting"): the spawn goes on without
	// SCRATCH_BUCKET.
	const early = "early-bird"
	if err := hub.CreateUser(ctx, early); err != nil {
		t.Fatal(err)
	}
	env := spawn(t, ctx, hub, early)
	for _, k := range []string{"SCRATCH_BUCKET", "SCRATCH_URL"} {
		if v, ok := env[k]; ok {
			t.Errorf("credserver unavailable, yet the server has %s=%q", k, v)
		}
	}
	if env["CREDSERVER_URL"] == "" || env["JUPYTERHUB_API_TOKEN"] == "" {
		t.Fatalf("the spawned server lacks CREDSERVER_URL or its token: %v", keys(env))
	}

	handler.Store(buildCredserver(t, ln.Addr().String(), hub, minio))
	root := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(minio.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(minio.RootUser, minio.RootPassword, ""),
	})
	for _, user := range []string{"a b", "émile"} {
		t.Run(user, func(t *testing.T) {
			if err := hub.CreateUser(ctx, user); err != nil {
				t.Fatal(err)
			}
			env := spawn(t, ctx, hub, user)
			tok, err := hub.Token(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			// What credserver says, asked independently with another token.
			w := call(t, credURL+"/services/credserver/v1/whoami", "token "+tok)
			var location string
			for _, g := range w.Body["grants"].([]any) {
				if g := g.(map[string]any); g["name"] == "scratch" {
					location, _ = g["location"].(string)
				}
			}
			if !strings.HasPrefix(location, "s3://hub-scratch/") || !strings.HasSuffix(location, "/") ||
				location == "s3://hub-scratch/"+user+"/" {
				t.Fatalf("credserver's scratch location for %q is %q", user, location)
			}
			if env["SCRATCH_URL"] != location || env["SCRATCH_BUCKET"] != strings.TrimSuffix(location, "/") {
				t.Fatalf("spawned server has SCRATCH_URL=%q SCRATCH_BUCKET=%q, want %q and no trailing slash",
					env["SCRATCH_URL"], env["SCRATCH_BUCKET"], location)
			}

			t.Logf("spawned server of %q: SCRATCH_BUCKET=%s", user, env["SCRATCH_BUCKET"])
			// In the server's own environment: configure the default
			// profile, then the seed's write.
			srvEnv := environ(env)
			if out, err := runIn(srvEnv, env["HOME"], credctl, "aws", "configure", "--profile", "default"); err != nil {
				t.Fatalf("credctl aws configure: %v\n%s", err, out)
			}
			py, _ := peers.Bin("python3")
			out, err := runIn(srvEnv, env["HOME"], py, "-c", seedWrite, minio.Endpoint)
			if err != nil {
				t.Fatalf("seed write: %v\n%s", err, out)
			}
			prefix := strings.TrimPrefix(location, "s3://hub-scratch/")
			list, err := root.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("hub-scratch")})
			if err != nil {
				t.Fatal(err)
			}
			found := 0
			for _, o := range list.Contents {
				if strings.HasPrefix(*o.Key, prefix+"rasm.zarr/") {
					found++
				}
			}
			if found != 4 {
				var all []string
				for _, o := range list.Contents {
					all = append(all, *o.Key)
				}
				t.Errorf("%d of 4 zarr objects under %s; bucket holds %q", found, prefix, all)
			}
		})
	}
	// Nothing but the two users' prefixes was written.
	list, err := root.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("hub-scratch")})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.Contents); n != 8 {
		t.Errorf("hub-scratch holds %d objects, want the 8 the two users wrote", n)
	}
}

// spawn starts user's default server through the hub API, waits until the
// hub reports it ready, and returns the environment of its
// jupyterhub-singleuser process.
func spawn(t *testing.T, ctx context.Context, hub *peers.Hub, user string) map[string]string {
	t.Helper()
	// The test-admin service may not start servers; the user's own token
	// (every scope the user holds) may, as the hub's spawn page does.
	tok, err := hub.Token(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	userAPI := func(ctx context.Context, method, path string, out any) int {
		req, err := http.NewRequestWithContext(ctx, method, hub.APIURL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "token "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			_ = json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}
	path := "/users/" + url.PathEscape(user) + "/server"
	if code := userAPI(ctx, http.MethodPost, path, nil); code != http.StatusCreated && code != http.StatusAccepted {
		t.Fatalf("spawn %q: %d\n%s", user, code, hub.LogTail())
	}
	t.Cleanup(func() { userAPI(context.Background(), http.MethodDelete, path, nil) })
	for {
		var u struct {
			Servers map[string]struct {
				Ready bool `json:"ready"`
			} `json:"servers"`
		}
		userAPI(ctx, http.MethodGet, "/users/"+url.PathEscape(user), &u)
		if u.Servers[""].Ready {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("server of %q not ready: %s", user, hub.LogTail())
		case <-time.After(300 * time.Millisecond):
		}
	}
	env, err := singleuserEnv(user)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// singleuserEnv finds the running jupyterhub-singleuser process of user in
// /proc and returns its environment.
func singleuserEnv(user string) (map[string]string, error) {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cmd, err := os.ReadFile(filepath.Join(p, "cmdline"))
		if err != nil || !bytes.Contains(cmd, []byte("jupyterhub-singleuser")) {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(p, "environ"))
		if err != nil {
			continue
		}
		env := map[string]string{}
		for _, kv := range bytes.Split(raw, []byte{0}) {
			if k, v, ok := strings.Cut(string(kv), "="); ok {
				env[k] = v
			}
		}
		if env["JUPYTERHUB_USER"] == user {
			return env, nil
		}
	}
	return nil, fmt.Errorf("no jupyterhub-singleuser process for %q", user)
}

func environ(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func keys(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k := range env {
		out = append(out, k)
	}
	return out
}

func runIn(env []string, dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env, cmd.Dir = env, dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}
