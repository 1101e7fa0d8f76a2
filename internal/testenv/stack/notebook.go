package stack

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// s3ops is a boto3 script that runs S3 operations with nothing but an AWS
// profile and reports each outcome; see the file's docstring.
//
//go:embed s3ops.py
var s3ops []byte

// Notebook is one hub user's notebook server: a home directory and the
// environment JupyterHub gives a single-user server (CREDSERVER_URL,
// JUPYTERHUB_API_TOKEN), with the real credctl on PATH.
type Notebook struct {
	User string
	Home string
	Env  []string
	s3   string // MinIO endpoint, for the AWS CLI
}

// NewNotebook prepares user's notebook environment in home; credctlDir is
// the directory holding the credctl binary.
func (s *Stack) NewNotebook(user, home, credctlDir string) (*Notebook, error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(home, "s3ops.py"), s3ops, 0o600); err != nil {
		return nil, err
	}
	env := []string{
		"HOME=" + home,
		"PATH=" + credctlDir + ":/usr/bin:/bin",
		"CREDSERVER_URL=" + s.URL,
		"JUPYTERHUB_API_TOKEN=" + s.Tokens[user],
		"JUPYTERHUB_USER=" + user,
		"AWS_CONFIG_FILE=" + filepath.Join(home, ".aws", "config"),
		// No shared credentials file: credential_process is the only source.
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, ".aws", "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"LANG=C.UTF-8",
	}
	return &Notebook{User: user, Home: home, Env: env, s3: s.MinIO.Endpoint}, nil
}

// Run runs a command in the notebook's environment. A non-zero exit is not
// an error; err is only for a command that could not run.
func (n *Notebook) Run(stdin, name string, args ...string) (stdout, stderr string, code int, err error) {
	cmd := exec.Command(n.lookPath(name), args...)
	cmd.Env = n.Env
	cmd.Dir = n.Home
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), errb.String(), ee.ExitCode(), nil
	}
	return out.String(), errb.String(), 0, err
}

// lookPath resolves name on the notebook's PATH: exec.Command would search
// this process's PATH instead.
func (n *Notebook) lookPath(name string) string {
	if strings.Contains(name, "/") {
		return name
	}
	path := ""
	for _, kv := range n.Env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return name
}

// Credctl runs credctl and returns its stdout; a non-zero exit is an error
// carrying credctl's one-line reason.
func (n *Notebook) Credctl(args ...string) (string, error) {
	out, errOut, code, err := n.Run("", "credctl", args...)
	if err != nil {
		return "", err
	}
	if code != 0 {
		return out, fmt.Errorf("credctl %s: exit %d: %s", strings.Join(args, " "), code, strings.TrimSpace(errOut))
	}
	return out, nil
}

// Op is one S3 operation for the boto3 script: put, get, delete, list
// (Prefix), multipart (a 10 MiB two-part upload) or identity.
type Op struct {
	Op     string `json:"op"`
	Bucket string `json:"bucket"`
	Key    string `json:"key,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	Body   string `json:"body,omitempty"`
}

// OpResult is an operation's outcome: OK with its Value, or the S3 error Code.
type OpResult struct {
	OK    bool            `json:"ok"`
	Code  string          `json:"code"`
	Value json.RawMessage `json:"value"`
}

// Boto3 runs ops with Debian's boto3, whose only credentials are the AWS
// profile's credential_process.
func (n *Notebook) Boto3(profile string, ops ...Op) ([]OpResult, error) {
	in, err := json.Marshal(map[string]any{"profile": profile, "ops": ops})
	if err != nil {
		return nil, err
	}
	out, errOut, code, err := n.Run(string(in), "/usr/bin/python3", filepath.Join(n.Home, "s3ops.py"))
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("boto3 script: exit %d: %s", code, errOut)
	}
	var res []OpResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return nil, fmt.Errorf("boto3 script output %q: %w", out, err)
	}
	if len(res) != len(ops) {
		return nil, fmt.Errorf("boto3 script answered %d of %d operations", len(res), len(ops))
	}
	return res, nil
}

// AWS runs Debian's AWS CLI with the given profile against the stack's S3
// endpoint (awscli 2.9 predates endpoint_url in the config file).
func (n *Notebook) AWS(profile string, args ...string) (stdout, stderr string, code int, err error) {
	full := append([]string{"--profile", profile, "--endpoint-url", n.s3, "--no-cli-pager"}, args...)
	return n.Run("", "/usr/bin/aws", full...)
}
