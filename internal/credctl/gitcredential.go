package credctl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// maxCredentialInput bounds what git may send a helper.
const maxCredentialInput = 64 << 10

// helperPattern matches the credential-helper values credctl writes, so a
// new login replaces ours and leaves every other helper alone.
const helperPattern = `credctl.* git-credential`

// gitCredential implements git's credential-helper protocol. Only get
// answers; store and erase have nothing to do (the server keeps the
// tokens), and unknown actions are ignored as git asks of helpers.
func (c *CLI) gitCredential(ctx context.Context, g globals, args []string) error {
	fs := newFlagSet("git-credential")
	var grant, server string
	fs.StringVar(&grant, "grant", "", "")
	fs.StringVar(&server, "server", "", "")
	// git appends the action to the configured command line, after our
	// flags: "credctl git-credential --grant G get".
	pos, err := parseArgs(fs, args)
	if err != nil {
		return c.flagError("git-credential", err)
	}
	if len(pos) == 0 {
		return usagef("git-credential: which action? git calls it as: credctl git-credential get|store|erase")
	}
	op := pos[0]
	attrs, err := readCredentialAttrs(c.Stdin)
	if err != nil {
		return err
	}
	if op != "get" {
		return nil
	}
	cl, err := c.connect(g.pick(server))
	if err != nil {
		return err
	}
	if grant == "" {
		who, err := cl.whoamiParsed(ctx)
		if err != nil {
			return err
		}
		if grant, _, err = who.githubGrant(""); err != nil {
			return err
		}
	}
	body, err := cl.Credentials(ctx, grant, "", "")
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict {
		return errors.New("your hub account is not linked to GitHub (or the link expired): run 'credctl github login'")
	}
	if err != nil {
		return err
	}
	var b struct {
		Provider  string `json:"provider"`
		Token     string `json:"token"`
		Username  string `json:"username"`
		ExpiresAt string `json:"expires_at"`
		URL       string `json:"url"`
		Host      string `json:"host"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Provider != "github" || b.Token == "" {
		return fmt.Errorf("grant %q did not give a GitHub token", grant)
	}
	// Hand the token only to the GitHub it is for: a helper configured for
	// every host must not give it to another one.
	u, err := url.Parse(b.URL)
	if err != nil || (attrs["host"] != "" && !strings.EqualFold(attrs["host"], u.Host)) ||
		(attrs["protocol"] != "" && !strings.EqualFold(attrs["protocol"], u.Scheme)) {
		return nil
	}
	if b.Username == "" {
		b.Username = "x-access-token"
	}
	for _, v := range []string{b.Username, b.Token} {
		if strings.ContainsAny(v, "\n\x00") {
			return errors.New("the server's answer holds characters git's credential protocol cannot carry")
		}
	}
	out := "username=" + b.Username + "\npassword=" + b.Token + "\n"
	if exp, err := time.Parse(time.RFC3339, b.ExpiresAt); err == nil {
		out += fmt.Sprintf("password_expiry_utc=%d\n", exp.Unix())
	}
	return c.print(out)
}

// readCredentialAttrs reads git's key=value lines, up to a blank line or
// the end of input.
func readCredentialAttrs(r io.Reader) (map[string]string, error) {
	attrs := map[string]string{}
	if r == nil {
		return attrs, nil
	}
	sc := bufio.NewScanner(io.LimitReader(r, maxCredentialInput))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			attrs[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading git's request: %w", err)
	}
	return attrs, nil
}

// configureGit points git's credential helper for webURL at credctl
// (credential.<webURL>.helper in the global config). Other helpers, for
// this URL or any, are kept; an earlier credctl entry is replaced.
func (c *CLI) configureGit(ctx context.Context, webURL, grant, server string, cl *Client) error {
	git, err := c.LookPath("git")
	if err != nil {
		return fmt.Errorf("git is not on PATH, so its credential helper could not be set")
	}
	command, err := c.selfCommand()
	if err != nil {
		return err
	}
	argv := []string{command, "git-credential", "--grant", grant}
	if server != "" {
		argv = append(argv, "--server", cl.BaseURL.String())
	}
	value := "!" + joinArgs(argv)
	key := "credential." + strings.TrimRight(webURL, "/") + ".helper"
	out, err := c.runGit(ctx, git, "config", "--global", "--get-all", key)
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) { // 1: no such key
		return err
	}
	if slices.Contains(strings.Split(strings.TrimSpace(string(out)), "\n"), value) {
		return nil
	}
	if _, err := c.runGit(ctx, git, "config", "--global", "--replace-all", key, value, helperPattern); err != nil {
		return err
	}
	return nil
}

// runGit runs git with the user's home (UserHomeDir) so --global means
// their ~/.gitconfig.
func (c *CLI) runGit(ctx context.Context, git string, args ...string) ([]byte, error) {
	home, err := c.UserHomeDir()
	if err != nil {
		return nil, fmt.Errorf("locating the home directory: %w", err)
	}
	cmd := exec.CommandContext(ctx, git, args...)
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "GIT_CONFIG_GLOBAL=")
	})
	env = append(env, "HOME="+home)
	if v := c.Getenv("GIT_CONFIG_GLOBAL"); v != "" {
		env = append(env, "GIT_CONFIG_GLOBAL="+v)
	}
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 && len(args) > 2 && args[2] == "--get-all" {
			return out, err
		}
		return nil, fmt.Errorf("git %s failed: %s", strings.Join(args[:min(2, len(args))], " "), oneLine(stderr.String()+" "+err.Error()))
	}
	return out, nil
}
