package credctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

func (c *CLI) aws(ctx context.Context, g globals, args []string) error {
	if len(args) == 0 || args[0] != "configure" {
		return usagef("aws: the only subcommand is configure: credctl aws configure [--grant G] [--profile P]")
	}
	set := newFlagSet("aws configure")
	var grant, profile, server string
	set.StringVar(&grant, "grant", "scratch", "")
	set.StringVar(&profile, "profile", "", "")
	set.StringVar(&server, "server", "", "")
	pos, err := parseArgs(set, args[1:])
	if err != nil {
		return c.flagError("aws", err)
	}
	if len(pos) > 0 {
		return usagef("aws configure: unexpected argument %q", pos[0])
	}
	if grant == "" {
		return usagef("aws configure: --grant is empty")
	}
	if profile == "" {
		profile = grant
	}
	if err := validProfile(profile); err != nil {
		return err
	}
	server = g.pick(server)
	cl, err := c.connect(server)
	if err != nil {
		return err
	}
	// One real fetch proves the grant works for this user before the file
	// changes, and tells region and endpoint.
	body, err := cl.Credentials(ctx, grant, "", "")
	if err != nil {
		return err
	}
	cb, err := decodeCredentials(grant, body, true)
	if err != nil {
		return err
	}
	command, err := c.selfCommand()
	if err != nil {
		return err
	}
	argv := []string{command, "get", grant, "--format", formatProcess}
	if server != "" {
		argv = append(argv, "--server", cl.BaseURL.String())
	}
	keys := []keyValue{{"credential_process", joinArgs(argv)}}
	if cb.Region != "" {
		keys = append(keys, keyValue{"region", cb.Region})
	}
	if cb.EndpointURL != "" {
		keys = append(keys, keyValue{"endpoint_url", cb.EndpointURL})
	}
	for _, kv := range keys {
		if strings.ContainsFunc(kv.value, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("the value for %s contains control characters and cannot go in an AWS config file", kv.key)
		}
	}
	path, err := c.awsConfigPath()
	if err != nil {
		return err
	}
	var note string
	if env := c.Getenv("AWS_CONFIG_FILE"); env != "" {
		if why := notYours(path); why != "" {
			personal, seeded, err := c.personalConfig(path)
			if err != nil {
				return err
			}
			note = fallbackNote(path, why, personal, seeded, profile)
			path = personal
		}
	}
	changed, err := writeProfile(path, profile, keys)
	if err != nil {
		return err
	}
	if note != "" {
		return c.print(configureSummary(path, profile, keys, changed, false) + note)
	}
	return c.print(configureSummary(path, profile, keys, changed, true))
}

// validProfile accepts names botocore reads back from a section header: it
// splits "profile P" with shlex and wants exactly two words.
func validProfile(p string) error {
	if p == "" || strings.ContainsFunc(p, func(r rune) bool {
		return r <= ' ' || r == 0x7f || strings.ContainsRune(`[]"'\`, r)
	}) {
		return usagef("aws configure: %q cannot be an AWS profile name", p)
	}
	return nil
}

// selfCommand is how credential_process should invoke this binary: plain
// "credctl" when PATH finds this very file (so upgrades in place keep
// working), else its absolute path.
func (c *CLI) selfCommand() (string, error) {
	exe, err := c.Executable()
	if err != nil {
		return "", fmt.Errorf("locating the credctl binary: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return "", fmt.Errorf("locating the credctl binary: %w", err)
	}
	if onPath, err := c.LookPath("credctl"); err == nil && sameFile(onPath, exe) {
		return "credctl", nil
	}
	return exe, nil
}

func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// awsConfigPath follows botocore: $AWS_CONFIG_FILE (with ~ expanded), else
// ~/.aws/config.
func (c *CLI) awsConfigPath() (string, error) {
	p := c.Getenv("AWS_CONFIG_FILE")
	if p != "" && p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := c.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the home directory for the AWS config file: %w", err)
	}
	if p == "" {
		return filepath.Join(home, ".aws", "config"), nil
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}

// plainArg matches arguments botocore's shlex split leaves intact unquoted.
var plainArg = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// joinArgs builds a credential_process command line. botocore splits it
// with shlex (POSIX rules), so single quotes protect spaces and the like.
func joinArgs(argv []string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		if plainArg.MatchString(a) {
			quoted[i] = a
		} else {
			quoted[i] = shellQuote(a)
		}
	}
	return strings.Join(quoted, " ")
}

// configureSummary describes what was written; howTo adds how to select the
// profile when the file is the one AWS tools read.
func configureSummary(path, profile string, keys []keyValue, changed, howTo bool) string {
	var b strings.Builder
	if changed {
		fmt.Fprintf(&b, "Wrote profile %s to %s:\n\n", profile, path)
	} else {
		fmt.Fprintf(&b, "Profile %s in %s is already up to date:\n\n", profile, path)
	}
	fmt.Fprintf(&b, "  %s\n", sectionHeader(profile))
	for _, kv := range keys {
		fmt.Fprintf(&b, "  %s = %s\n", kv.key, kv.value)
	}
	if !howTo {
		return b.String()
	}
	b.WriteString("\nAWS tools now fetch and refresh credentials through credctl")
	if profile == "default" {
		b.WriteString(" by default.\n")
		return b.String()
	}
	py := pyString(profile)
	b.WriteString(" when you select this profile:\n\n")
	fmt.Fprintf(&b, "  shell, aws CLI:  export AWS_PROFILE=%s\n", joinArgs([]string{profile}))
	fmt.Fprintf(&b, "  boto3:           boto3.Session(profile_name=%s)\n", py)
	fmt.Fprintf(&b, "  s3fs / fsspec:   s3fs.S3FileSystem(profile=%s)\n", py)
	return b.String()
}

// pyString is a Python string literal for s.
func pyString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// writeProfile applies updateProfile to the file at path, creating it (0600,
// parent directories 0700) when missing. The write is atomic: a concurrent
// reader (botocore in a running kernel) sees the old file or the new one.
// A symlinked config file is updated at its target. It reports whether the
// file changed.
func writeProfile(path, profile string, keys []keyValue) (bool, error) {
	target := path
	if p, err := filepath.EvalSymlinks(path); err == nil {
		target = p
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	mode := fs.FileMode(0o600)
	old, err := os.ReadFile(target)
	switch {
	case err == nil:
		if st, err := os.Stat(target); err == nil {
			mode = st.Mode().Perm()
		}
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	default:
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	updated := updateProfile(old, profile, keys)
	if err == nil && bytes.Equal(old, updated) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return false, fmt.Errorf("creating the directory of %s: %w", path, err)
	}
	if err := atomicWrite(target, updated, mode); err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	return true, nil
}

func atomicWrite(path string, data []byte, mode fs.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
