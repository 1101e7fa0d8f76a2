package credctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"time"
)

// Version is credctl's version, set at link time with
// -ldflags "-X github.com/credserver/credserver/internal/credctl.Version=v1.2.3".
// When empty, the module version recorded in the build info is used.
var Version = ""

// Exit statuses returned by [Main] and [CLI.Run].
const (
	ExitOK    = 0 // success
	ExitError = 1 // the server refused, the network failed, or a local file could not be written
	ExitUsage = 2 // bad command line or missing CREDSERVER_URL / token
)

// requestTimeout bounds every call to the server; botocore waits on
// credential_process with no timeout of its own, so credctl must not hang.
const requestTimeout = 30 * time.Second

// CLI is the environment of one credctl invocation. Every field must be set;
// [Main] fills them from the process, tests with fakes.
type CLI struct {
	// Stdin is read by commands that speak a protocol on it (git-credential).
	Stdin io.Reader
	// Stdout receives command output, including secrets.
	Stdout io.Writer
	// Stderr receives the one-line failure reason and nothing secret.
	Stderr io.Writer
	// Getenv reads CREDSERVER_URL, the token variables and AWS_CONFIG_FILE.
	Getenv func(string) string
	// HTTPClient calls the server; see [NewHTTPClient] for the settings the
	// CLI relies on (timeout, no redirects).
	HTTPClient *http.Client
	// Executable reports the path of the running binary (os.Executable); aws
	// configure writes it into credential_process when it is not on PATH.
	Executable func() (string, error)
	// LookPath resolves a command name on PATH (exec.LookPath).
	LookPath func(string) (string, error)
	// UserHomeDir locates the home directory (os.UserHomeDir) for
	// ~/.aws/config.
	UserHomeDir func() (string, error)
}

// Main runs credctl with args (without the program name) and returns the exit
// status. It is all cmd/credctl calls.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &CLI{
		Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: getenv,
		HTTPClient:  NewHTTPClient(),
		Executable:  os.Executable,
		LookPath:    exec.LookPath,
		UserHomeDir: os.UserHomeDir,
	}
	return c.Run(context.Background(), args)
}

// NewHTTPClient returns the client credctl uses: a 30s overall timeout, and
// redirects are not followed, so the token is only ever sent to the URL the
// user configured.
func NewHTTPClient() *http.Client {
	return &http.Client{
		Timeout: requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Run executes one command line and returns the exit status. A failure is
// reported as one line on Stderr.
func (c *CLI) Run(ctx context.Context, args []string) int {
	err := c.run(ctx, args)
	if err == nil || errors.Is(err, errHelpShown) {
		return ExitOK
	}
	fmt.Fprintf(c.Stderr, "credctl: %s\n", oneLine(err.Error()))
	var ue *usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitError
}

// globals are the options given before the command name.
type globals struct {
	server string
}

func (c *CLI) run(ctx context.Context, args []string) error {
	fs := newFlagSet("credctl")
	var g globals
	fs.StringVar(&g.server, "server", "", "")
	if err := fs.Parse(args); err != nil {
		return c.flagError("", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usagef("no command given; run 'credctl help' for usage")
	}
	cmd, rest := rest[0], rest[1:]
	switch cmd {
	case "whoami":
		return c.whoami(ctx, g, rest)
	case "get":
		return c.get(ctx, g, rest)
	case "aws":
		return c.aws(ctx, g, rest)
	case "github":
		return c.github(ctx, g, rest)
	case "token":
		return c.token(ctx, g, rest)
	case "git-credential":
		return c.gitCredential(ctx, g, rest)
	case "install":
		return c.install(rest)
	case "version":
		return c.version(rest)
	case "help":
		if len(rest) > 0 {
			if u, ok := commandUsage[rest[0]]; ok {
				return c.print(u)
			}
		}
		return c.print(usage)
	}
	return usagef("unknown command %q; run 'credctl help' for usage", cmd)
}

func (c *CLI) version(args []string) error {
	if len(args) > 0 {
		return usagef("version: unexpected argument %q", args[0])
	}
	return c.print("credctl " + versionString() + "\n")
}

func versionString() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// print writes s to Stdout; a failed write (closed pipe) is an error so the
// caller never reports success for output nobody received.
func (c *CLI) print(s string) error {
	if _, err := io.WriteString(c.Stdout, s); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

// usageError marks a failure of the command line or the environment; it
// maps to exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

// errHelpShown means usage was printed on request: exit 0, nothing on stderr.
var errHelpShown = errors.New("help shown")

// flagError turns a flag.Parse error of command cmd ("" for the global
// flags) into a one-line usage error, or prints help for -h.
func (c *CLI) flagError(cmd string, err error) error {
	if errors.Is(err, flag.ErrHelp) {
		u, ok := commandUsage[cmd]
		if !ok {
			u = usage
		}
		if perr := c.print(u); perr != nil {
			return perr
		}
		return errHelpShown
	}
	if cmd == "" {
		return usagef("%v; run 'credctl help' for usage", err)
	}
	return usagef("%s: %v; run 'credctl help %s' for usage", cmd, err, strings.Fields(cmd)[0])
}

// oneLine keeps a message to one printable line, whatever the server or the
// OS put in it.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	const limit = 1000
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "") + "…"
	}
	return strings.TrimSpace(s)
}
