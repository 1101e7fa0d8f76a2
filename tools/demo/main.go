// Command demo tells credserver's user story on a real local stack:
// JupyterHub 3, MinIO and the credserver binary on free loopback ports.
// Two hub users each configure boto3 and the AWS CLI with `credctl aws
// configure`; each works in their own scratch prefix; alice's attempts on
// bob's data are refused by the store itself. It exits 0 only if every step
// of the story held. Run it with `make demo`.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/credserver/credserver/internal/testenv/stack"
)

func main() {
	d := &demo{}
	err := d.run()
	if d.s != nil {
		d.s.Close()
	}
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
	switch {
	case err != nil:
		fmt.Printf("\nDEMO FAILED: %v\n", err)
		os.Exit(1)
	case d.failures > 0:
		fmt.Printf("\nDEMO FAILED: %d step(s) did not hold\n", d.failures)
		os.Exit(1)
	}
	fmt.Println("\nThe story held: each user reached their own prefix and nothing else. Stack stopped, temp files removed.")
}

type demo struct {
	dir      string
	s        *stack.Stack
	bin      string
	failures int
}

func (d *demo) step(title string) { fmt.Printf("\n── %s\n", title) }

// expect prints one outcome and counts it if it is not what the story needs.
func (d *demo) expect(ok bool, what string) {
	mark := "✔"
	if !ok {
		mark = "✘"
		d.failures++
	}
	fmt.Printf("   %s %s\n", mark, what)
}

func (d *demo) run() error {
	var err error
	if d.dir, err = os.MkdirTemp("", "credserver-demo-"); err != nil {
		return err
	}
	d.bin = filepath.Join(d.dir, "bin")
	d.step("Building credserver and credctl")
	build := exec.Command("go", "build", "-o", d.bin+"/", "./cmd/credserver", "./cmd/credctl")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if err := os.WriteFile(filepath.Join(d.dir, "store.key"), []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return err
	}
	d.step("Starting JupyterHub 3, MinIO and credserver on free loopback ports")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d.s, err = stack.Start(ctx, stack.Options{
		Dir:          d.dir,
		Users:        []string{"alice", "bob"},
		Buckets:      []string{"hub-scratch", "hub-shared"},
		ServerBinary: filepath.Join(d.bin, "credserver"),
		Config:       demoConfig,
	})
	if err != nil {
		return err
	}
	fmt.Printf("   JupyterHub API  %s (users alice and bob, each with a hub token)\n", d.s.Hub.APIURL)
	fmt.Printf("   MinIO (S3+STS)  %s (bucket hub-scratch)\n", d.s.MinIO.Endpoint)
	fmt.Printf("   credserver      %s (grant scratch: prefix {user}/, readwrite)\n", d.s.URL)

	bob, err := d.notebook("bob")
	if err != nil {
		return err
	}
	d.step("bob, in his notebook: credctl aws configure, then boto3 writes his results")
	if err := d.configure(bob); err != nil {
		return err
	}
	res, err := bob.Boto3("scratch", put("bob/results.csv", "run,score\n1,0.93\n"))
	if err != nil {
		return err
	}
	d.expect(res[0].OK, "bob put s3://hub-scratch/bob/results.csv")

	alice, err := d.notebook("alice")
	if err != nil {
		return err
	}
	d.step("alice, in her notebook: credctl whoami")
	out, err := alice.Credctl("whoami")
	if err != nil {
		return err
	}
	fmt.Print(indent(out))

	d.step("alice: credctl aws configure (no keys anywhere: credential_process)")
	if err := d.configure(alice); err != nil {
		return err
	}

	d.step("alice's boto3 works in her own prefix")
	res, err = alice.Boto3("scratch",
		put("alice/hello.txt", "hello from alice"),
		stack.Op{Op: "list", Bucket: "hub-scratch", Prefix: "alice/"},
		stack.Op{Op: "get", Bucket: "hub-scratch", Key: "alice/hello.txt"},
		stack.Op{Op: "multipart", Bucket: "hub-scratch", Key: "alice/big.bin"},
	)
	if err != nil {
		return err
	}
	d.expect(res[0].OK, "put  s3://hub-scratch/alice/hello.txt")
	d.expect(res[1].OK && strings.Contains(string(res[1].Value), "alice/hello.txt"), "list s3://hub-scratch/alice/ → "+string(res[1].Value))
	d.expect(res[2].OK && string(res[2].Value) == `"hello from alice"`, "get  s3://hub-scratch/alice/hello.txt → "+string(res[2].Value))
	d.expect(res[3].OK, "multipart upload s3://hub-scratch/alice/big.bin (2 × 5 MiB) → "+string(res[3].Value)+" bytes")

	d.step("alice's AWS CLI, same profile")
	stdout, stderr, code, err := alice.AWS("scratch", "s3", "ls", "s3://hub-scratch/alice/")
	if err != nil {
		return err
	}
	fmt.Print(indent(stdout))
	d.expect(code == 0, "aws s3 ls s3://hub-scratch/alice/ "+strings.TrimSpace(stderr))

	d.step("alice reaches for bob's data: the store refuses, because her session policy covers only alice/")
	res, err = alice.Boto3("scratch",
		stack.Op{Op: "list", Bucket: "hub-scratch", Prefix: "bob/"},
		stack.Op{Op: "get", Bucket: "hub-scratch", Key: "bob/results.csv"},
		put("bob/results.csv", "overwritten by alice"),
		stack.Op{Op: "delete", Bucket: "hub-scratch", Key: "bob/results.csv"},
		stack.Op{Op: "list", Bucket: "hub-scratch", Prefix: ""},
	)
	if err != nil {
		return err
	}
	for i, what := range []string{"list s3://hub-scratch/bob/", "get  s3://hub-scratch/bob/results.csv",
		"put  s3://hub-scratch/bob/results.csv", "delete s3://hub-scratch/bob/results.csv", "list s3://hub-scratch/ (the bucket root)"} {
		d.expect(!res[i].OK && res[i].Code == "AccessDenied", what+" → "+orOK(res[i]))
	}
	res, err = bob.Boto3("scratch", stack.Op{Op: "get", Bucket: "hub-scratch", Key: "bob/results.csv"})
	if err != nil {
		return err
	}
	d.expect(res[0].OK && strings.Contains(string(res[0].Value), "0.93"), "bob's results.csv is untouched")

	d.step("alice gives a Dask worker a read-only delegation token (credctl token create), never her hub token")
	out, err = alice.Credctl("token", "create", "--grant", "scratch", "--access", "read", "--expires-in", "2h", "--note", "dask workers", "--format", "env")
	if err != nil {
		return err
	}
	workerEnv := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok {
			workerEnv[k] = strings.Trim(v, `'"`)
		}
	}
	d.expect(strings.HasPrefix(workerEnv["CREDSERVER_TOKEN"], "csd_") && workerEnv["CREDSERVER_URL"] != "",
		"CREDSERVER_URL and CREDSERVER_TOKEN (csd_…) for the workers' environment")
	worker, err := d.notebook("alice-worker")
	if err != nil {
		return err
	}
	worker.Env = append(withoutHubToken(worker.Env), "CREDSERVER_URL="+workerEnv["CREDSERVER_URL"], "CREDSERVER_TOKEN="+workerEnv["CREDSERVER_TOKEN"])
	if err := d.configure(worker); err != nil {
		return err
	}
	res, err = worker.Boto3("scratch",
		stack.Op{Op: "get", Bucket: "hub-scratch", Key: "alice/hello.txt"},
		put("alice/from-worker.txt", "a worker writing"),
		stack.Op{Op: "get", Bucket: "hub-scratch", Key: "bob/results.csv"},
	)
	if err != nil {
		return err
	}
	d.expect(res[0].OK, "the worker reads s3://hub-scratch/alice/hello.txt with the token alone")
	d.expect(!res[1].OK && res[1].Code == "AccessDenied", "the worker cannot write (the token is read-only) → "+orOK(res[1]))
	d.expect(!res[2].OK && res[2].Code == "AccessDenied", "the worker cannot read bob's data → "+orOK(res[2]))
	_, err = worker.Credctl("token", "create", "--grant", "scratch")
	d.expect(err != nil && strings.Contains(err.Error(), "delegation_not_allowed"), "the token cannot make more tokens")
	list, err := alice.Credctl("token", "list", "--json")
	if err != nil {
		return err
	}
	var tokens struct {
		Tokens []struct{ ID string } `json:"tokens"`
	}
	if err := json.Unmarshal([]byte(list), &tokens); err != nil || len(tokens.Tokens) != 1 {
		return fmt.Errorf("credctl token list: %v: %s", err, list)
	}
	if _, err := alice.Credctl("token", "revoke", tokens.Tokens[0].ID); err != nil {
		return err
	}
	_, err = worker.Credctl("get", "scratch")
	d.expect(err != nil && strings.Contains(err.Error(), "invalid_token"), "after credctl token revoke, the worker gets nothing")
	d.expect(!strings.Contains(d.s.Audit()+d.s.Logs(), workerEnv["CREDSERVER_TOKEN"]), "the delegation token is in no audit line or log (its id is)")

	d.step("With a token the hub does not know, credserver issues nothing")
	mallory, err := d.notebook("mallory")
	if err != nil {
		return err
	}
	mallory.Env = append(mallory.Env, "JUPYTERHUB_API_TOKEN=0123456789abcdef0123456789abcdef") // the last value wins
	_, err = mallory.Credctl("get", "scratch")
	d.expect(err != nil && strings.Contains(err.Error(), "exit 1"), fmt.Sprintf("credctl get scratch → %v", err))

	d.step("The audit trail (stdout of credserver): one JSON line per issuance or denial")
	lines := strings.Split(strings.TrimSpace(d.s.Audit()), "\n")
	for _, l := range lines[:min(3, len(lines))] {
		fmt.Println("   " + l)
	}
	fmt.Printf("   … %d lines in all\n", len(lines))
	d.expect(!strings.Contains(d.s.Audit()+d.s.Logs(), d.s.Tokens["alice"]), "no hub token in the audit trail or the logs")
	return nil
}

func (d *demo) notebook(user string) (*stack.Notebook, error) {
	return d.s.NewNotebook(user, filepath.Join(d.dir, "home", user), d.bin)
}

func (d *demo) configure(n *stack.Notebook) error {
	out, err := n.Credctl("aws", "configure", "--grant", "scratch", "--profile", "scratch")
	if err != nil {
		return err
	}
	fmt.Print(indent(out))
	return nil
}

// demoConfig is the stack's default config with delegation tokens on:
// credserver's own hub token (for the owners' groups) and a store.
var demoConfig = strings.Replace(stack.DefaultConfig, "  api_url: {{.HubAPI}}\n",
	"  api_url: {{.HubAPI}}\n  api_token_file: {{.HubTokenFile}}\n", 1) +
	"web:\n  enabled: false\nstore:\n  dsn: {{.Dir}}/credserver.db\n  encryption_key_file: {{.Dir}}/store.key\n"

// withoutHubToken drops JUPYTERHUB_API_TOKEN: a worker holds only its
// delegation token.
func withoutHubToken(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "JUPYTERHUB_API_TOKEN=") {
			out = append(out, kv)
		}
	}
	return out
}

func put(key, body string) stack.Op {
	return stack.Op{Op: "put", Bucket: "hub-scratch", Key: key, Body: body}
}

func orOK(r stack.OpResult) string {
	if r.OK {
		return "ALLOWED"
	}
	return r.Code
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "   │ " + strings.ReplaceAll(s, "\n", "\n   │ ") + "\n"
}
