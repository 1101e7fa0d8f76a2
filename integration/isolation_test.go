package integration

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const bucket = "hub-scratch"

func put(key, body string) op        { return op{Op: "put", Bucket: bucket, Key: key, Body: body} }
func get(key string) op              { return op{Op: "get", Bucket: bucket, Key: key} }
func del(key string) op              { return op{Op: "delete", Bucket: bucket, Key: key} }
func list(prefix string) op          { return op{Op: "list", Bucket: bucket, Prefix: prefix} }
func multipart(key string) op        { return op{Op: "multipart", Bucket: bucket, Key: key} }
func onBucket(o op, b string) op     { o.Bucket = b; return o }
func want(o op, ok bool) expectation { return expectation{o, ok} }

type expectation struct {
	op op
	ok bool // false: must be refused with AccessDenied
}

// check runs the expectations through boto3 and reports every mismatch.
func check(t *testing.T, n *notebook, profile string, exps ...expectation) []opResult {
	t.Helper()
	ops := make([]op, len(exps))
	for i, e := range exps {
		ops[i] = e.op
	}
	res := n.boto3(profile, ops...)
	for i, e := range exps {
		r := res[i]
		switch {
		case e.ok && !r.OK:
			t.Errorf("%s: %s %s/%s%s: refused (%s), want allowed", n.user, e.op.Op, e.op.Bucket, e.op.Key, e.op.Prefix, r.Code)
		case !e.ok && r.OK:
			t.Errorf("%s: %s %s/%s%s: ALLOWED (%s), want AccessDenied", n.user, e.op.Op, e.op.Bucket, e.op.Key, e.op.Prefix, r.Value)
		case !e.ok && r.Code != "AccessDenied":
			t.Errorf("%s: %s %s/%s%s: refused with %q, want AccessDenied", n.user, e.op.Op, e.op.Bucket, e.op.Key, e.op.Prefix, r.Code)
		}
	}
	return res
}

// configure runs `credctl aws configure` as the user would and checks the
// profile it wrote uses credential_process.
func configure(t *testing.T, n *notebook, grant string) {
	t.Helper()
	n.credctl("aws", "configure", "--grant", grant, "--profile", grant)
	cfg, err := os.ReadFile(filepath.Join(n.home, ".aws", "config"))
	if err != nil {
		t.Fatal(err)
	}
	wantLine := "credential_process = credctl get " + grant + " --format credential-process"
	if !strings.Contains(string(cfg), wantLine) {
		t.Fatalf("~/.aws/config lacks %q:\n%s", wantLine, cfg)
	}
}

func TestIsolationBoto3(t *testing.T) {
	s := sharedStack(t)
	requireFiles(t, "/usr/bin/python3", "/usr/lib/python3/dist-packages/boto3")
	bob := newNotebook(t, s, "bob")
	configure(t, bob, "scratch")
	check(t, bob, "scratch", want(put("bob/notes.txt", "bob's notes"), true))
	alice2 := newNotebook(t, s, "alice2")
	configure(t, alice2, "scratch")
	check(t, alice2, "scratch", want(put("alice2/secret.txt", "alice2's secret"), true))

	alice := newNotebook(t, s, "alice")
	configure(t, alice, "scratch")
	res := check(t, alice, "scratch",
		// Inside her prefix: everything s3fs and boto3 need.
		want(put("alice/hello.txt", "hello from alice"), true),
		want(get("alice/hello.txt"), true),
		want(list("alice/"), true),
		want(multipart("alice/big.bin"), true),
		want(put("alice/deeper/nested/file.txt", "nested"), true),
		want(del("alice/big.bin"), true),
		// The bucket root and every other user's prefix.
		want(list(""), false),
		want(list("bob/"), false),
		want(get("bob/notes.txt"), false),
		want(put("bob/evil.txt", "x"), false),
		want(del("bob/notes.txt"), false),
		want(multipart("bob/big.bin"), false),
		// A user whose name starts with hers.
		want(list("alice2/"), false),
		want(list("alice"), false), // would list alice2's keys
		want(get("alice2/secret.txt"), false),
		want(put("alice2/evil.txt", "x"), false),
		want(del("alice2/secret.txt"), false),
		// Keys that only look like her prefix.
		want(put("alice", "x"), false),
		want(put("alice2", "x"), false),
		// Another bucket.
		want(onBucket(list(""), "hub-shared"), false),
	)
	if len(res) > 1 && res[1].OK {
		var body string
		_ = json.Unmarshal(res[1].Value, &body)
		if body != "hello from alice" {
			t.Errorf("alice read back %q", body)
		}
	}
	if len(res) > 3 && res[3].OK && string(res[3].Value) != "10485760" {
		t.Errorf("multipart object size = %s, want 10485760", res[3].Value)
	}

	// Read-only grant on the same prefix: reads work, writes do not.
	configure(t, alice, "scratch-ro")
	check(t, alice, "scratch-ro",
		want(get("alice/hello.txt"), true),
		want(list("alice/"), true),
		want(put("alice/ro.txt", "x"), false),
		want(del("alice/hello.txt"), false),
		want(multipart("alice/ro.bin"), false),
		want(get("bob/notes.txt"), false),
	)

	// The store itself confirms nothing of bob's or alice2's changed.
	root := s.MinIO.RootS3()
	for key, body := range map[string]string{"bob/notes.txt": "bob's notes", "alice2/secret.txt": "alice2's secret"} {
		assertObject(t, root, key, body)
	}
	for _, key := range []string{"bob/evil.txt", "alice2/evil.txt", "alice", "alice2", "alice/ro.txt", "bob/big.bin"} {
		if _, err := root.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err == nil {
			t.Errorf("object %s exists: a refused write went through", key)
		}
	}
}

func assertObject(t *testing.T, c *s3.Client, key, body string) {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Errorf("object %s: %v", key, err)
		return
	}
	defer out.Body.Close()
	buf := new(strings.Builder)
	_, _ = io.Copy(buf, out.Body)
	if buf.String() != body {
		t.Errorf("object %s = %q, want %q", key, buf.String(), body)
	}
}

func TestIsolationAWSCLI(t *testing.T) {
	s := sharedStack(t)
	requireFiles(t, "/usr/bin/aws")
	carol := newNotebook(t, s, "carol")
	configure(t, carol, "scratch")
	small := carol.writeFile("small.txt", "carol's data\n")
	big := carol.writeFile("big.bin", strings.Repeat("b", 9<<20)) // over the CLI's 8 MiB multipart threshold

	allowed := [][]string{
		{"s3", "cp", small, "s3://hub-scratch/carol/small.txt"},
		{"s3", "cp", big, "s3://hub-scratch/carol/big.bin"},
		{"s3", "ls", "s3://hub-scratch/carol/"},
		{"s3", "cp", "s3://hub-scratch/carol/small.txt", filepath.Join(carol.home, "back.txt")},
		{"s3", "rm", "s3://hub-scratch/carol/big.bin"},
		{"s3api", "list-objects-v2", "--bucket", "hub-scratch", "--prefix", "carol/"},
	}
	for _, args := range allowed {
		if out, errOut, code := carol.aws(s, "scratch", args...); code != 0 {
			t.Errorf("aws %s: exit %d, want success: %s%s", strings.Join(args, " "), code, out, errOut)
		}
	}
	if b, err := os.ReadFile(filepath.Join(carol.home, "back.txt")); err != nil || string(b) != "carol's data\n" {
		t.Errorf("downloaded %q, %v", b, err)
	}
	denied := [][]string{
		{"s3", "ls", "s3://hub-scratch/"},
		{"s3", "ls", "s3://hub-scratch/bob/"},
		{"s3", "cp", "s3://hub-scratch/bob/notes.txt", filepath.Join(carol.home, "stolen.txt")},
		{"s3", "cp", small, "s3://hub-scratch/bob/from-carol.txt"},
		{"s3", "cp", big, "s3://hub-scratch/bob/from-carol.bin"},
		{"s3", "rm", "s3://hub-scratch/bob/notes.txt"},
		{"s3api", "list-objects-v2", "--bucket", "hub-scratch", "--prefix", "car"},
	}
	for _, args := range denied {
		out, errOut, code := carol.aws(s, "scratch", args...)
		// HEAD requests carry no error body: the CLI reports those as "(403) ... Forbidden".
		if code == 0 || !(strings.Contains(errOut, "AccessDenied") || strings.Contains(errOut, "(403)")) {
			t.Errorf("aws %s: exit %d, want AccessDenied: %s%s", strings.Join(args, " "), code, out, errOut)
		}
	}
}
