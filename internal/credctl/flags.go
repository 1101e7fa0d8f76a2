package credctl

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
)

const usage = `credctl fetches short-lived credentials from credserver with your JupyterHub token.

Usage:
  credctl [--server URL] COMMAND [ARGS] [FLAGS]

Commands:
  whoami [--json]
      Show your user, groups and the grants you may ask for.
  get GRANT [--access read|readwrite] [--duration D] [--format json|env|credential-process]
      Fetch credentials for GRANT. --format json (default) prints the server's
      answer; env prints shell export lines (eval "$(credctl get scratch --format env)"),
      GDAL's S3 variables included; credential-process prints botocore's
      credential_process JSON.
  aws configure [--grant G] [--profile P]
      Write profile P (default: the grant name) for grant G (default: scratch)
      to $AWS_CONFIG_FILE or ~/.aws/config, with credential_process calling
      credctl, so boto3, s3fs and the aws CLI refresh credentials themselves.
      An AWS_CONFIG_FILE that is read-only or not yours is left alone:
      ~/.aws/config is written, and credctl says how to select it.
  github login [--force] [--grant G]
      Link your GitHub account once (you approve a code at GitHub), then set
      git's credential helper for that GitHub to credctl: git push just works,
      with fresh 8-hour tokens, from any of your servers. Prints where to
      install the hub's GitHub App on your repositories.
  github logout [--grant G]
      Forget the link (and revoke it at GitHub where the server can).
  token create --grant G [--grant G2] [--access A] [--expires-in D] [--note N] [--format json|env]
      A delegation token for Dask workers, batch jobs or a laptop: only these
      grants, at most access A; --format env prints CREDSERVER_URL= and
      CREDSERVER_TOKEN= lines for their environment. Shown this once.
  token list [--json]
      Your delegation tokens (never the secret).
  token revoke ID
      Revoke one of your delegation tokens.
  git-credential get|store|erase [--grant G]
      git's credential-helper protocol; github login configures it for you.
  install DIR
      Copy this credctl binary to DIR/credctl (how the z2jh init container
      puts credctl into every user server, whatever its image).
  version
      Print credctl's version.
  help [COMMAND]
      Print this text, or one command's.

Every command also accepts --server URL after its name.

Environment:
  CREDSERVER_URL         the server, e.g. http://127.0.0.1:8080/services/credserver
                         (--server overrides it)
  CREDSERVER_TOKEN       the token sent to the server: a delegation token
                         (credctl token create) or a hub token; wins when set
  JUPYTERHUB_API_TOKEN   the token sent otherwise; set in every JupyterHub
                         single-user server
  AWS_CONFIG_FILE        the file aws configure writes (default ~/.aws/config)

Errors are one line: credctl: GRANT: CODE: MESSAGE (the server's code).
Exit status: 0 success, 1 server, network or file error, 2 usage error.
`

// commandUsage is the help for one command, printed by -h and
// "credctl help COMMAND".
var commandUsage = map[string]string{
	"whoami": `Usage: credctl whoami [--json] [--server URL]

Show your user, groups and the grants you may ask for.
  --json    print the server's answer as JSON
`,
	"get": `Usage: credctl get GRANT [--access read|readwrite] [--duration D] [--format F] [--server URL]

Fetch credentials for GRANT.
  --access read|readwrite   the access to ask for (default: the grant's)
  --duration D              how long they should last: 1h, 90m or seconds
                            (default: the grant's; capped by the grant)
  --format json             the server's answer (default)
  --format env              shell export lines: eval "$(credctl get GRANT --format env)";
                            for aws grants also GDAL's AWS_S3_ENDPOINT, AWS_HTTPS,
                            AWS_VIRTUAL_HOSTING and CPL_VSIL_USE_TEMP_FILE_FOR_RANDOM_WRITE
  --format credential-process
                            botocore's credential_process JSON (aws grants)
`,
	"aws": `Usage: credctl aws configure [--grant G] [--profile P] [--server URL]

Write or update [profile P] in $AWS_CONFIG_FILE (default ~/.aws/config) with
credential_process = credctl get G --format credential-process, and the
grant's region and endpoint_url. Other profiles and comments are kept.
When AWS_CONFIG_FILE is read-only or owned by someone else (the hub admin's
file), it is left alone: the profile goes to ~/.aws/config (first a copy of
that file), and credctl prints how to select that file and profile.
  --grant G     the grant (default: scratch)
  --profile P   the profile name (default: the grant name; "default" writes [default])
`,
	"github": `Usage: credctl github login [--force] [--grant G] [--server URL]
       credctl github logout [--grant G] [--server URL]

login links your GitHub account to your hub account through credserver: it
prints a code and a URL, waits while you approve at GitHub, then sets
credential.<github-url>.helper in ~/.gitconfig to credctl (other helpers are
kept). Already linked: only checks git's setting, unless --force.
  --grant G   the GitHub grant (default: your first GitHub grant with mode user)
`,
	"git-credential": `Usage: credctl git-credential get|store|erase [--grant G] [--server URL]

git's credential-helper protocol: get prints username=x-access-token, a fresh
token as password, and password_expiry_utc. store and erase do nothing.
`,
	"install": `Usage: credctl install DIR

Copy the running credctl binary to DIR/credctl (mode 0755), atomically. The
credserver image has no shell; its init container in a user pod runs
"credctl install /opt/credserver/bin" to share credctl with the user's server.
`,
	"token": `Usage: credctl token create --grant G [--grant G2 ...] [--access read|readwrite] [--expires-in D] [--note N] [--format json|env] [--server URL]
       credctl token list [--json] [--server URL]
       credctl token revoke ID [--server URL]

create makes a delegation token (needs your hub token, not another
delegation token): it may fetch credentials only for the grants named, at
most --access (default read), until --expires-in (default 24h; the hub
sets the maximum). The token is printed once:
  --format json   the server's answer (default)
  --format env    CREDSERVER_URL=... and CREDSERVER_TOKEN=... lines for a
                  Dask cluster's, a batch job's or a laptop's environment
list shows your tokens without their secret; revoke ID ends one at once.
`,
	"version": "Usage: credctl version\n",
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// Errors are reported by flagError as one line; the flag package's own
	// multi-line usage dump would break that contract.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseArgs parses args with fs, allowing flags after positional arguments
// ("credctl get scratch --format env"), which the flag package alone stops
// at. Everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// connect resolves the server (flag, then CREDSERVER_URL) and the token
// (CREDSERVER_TOKEN, then JUPYTERHUB_API_TOKEN). serverFlag is the
// command's --server, falling back to the global one.
func (c *CLI) connect(serverFlag string) (*Client, error) {
	raw, from := serverFlag, "--server"
	if raw == "" {
		raw, from = c.Getenv("CREDSERVER_URL"), "CREDSERVER_URL"
	}
	if raw == "" {
		return nil, usagef("no server: set CREDSERVER_URL or pass --server URL")
	}
	base, err := parseServerURL(raw)
	if err != nil {
		return nil, usagef("%s: %v", from, err)
	}
	// CREDSERVER_TOKEN wins (DESIGN §6): a delegation token set inside a
	// notebook server is what the user means to try.
	tok, from := strings.TrimSpace(c.Getenv("CREDSERVER_TOKEN")), "CREDSERVER_TOKEN"
	if tok == "" {
		tok, from = strings.TrimSpace(c.Getenv("JUPYTERHUB_API_TOKEN")), "JUPYTERHUB_API_TOKEN"
	}
	if tok == "" {
		return nil, usagef("no token: set CREDSERVER_TOKEN or JUPYTERHUB_API_TOKEN")
	}
	for _, r := range tok {
		if r <= ' ' || r >= 0x7f {
			return nil, usagef("%s contains characters a token cannot have", from)
		}
	}
	return &Client{BaseURL: base, Token: tok, HTTP: c.HTTPClient, UserAgent: "credctl/" + versionString()}, nil
}

// pick returns the command's --server if given, else the global one.
func (g globals) pick(local string) string {
	if local != "" {
		return local
	}
	return g.server
}

func parseServerURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil && !strings.HasPrefix(raw, "http://") && !strings.HasPrefix(raw, "https://"),
		err == nil && u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q must start with http:// or https://", raw)
	case err != nil:
		return nil, errors.New("not a valid URL")
	case u.Host == "":
		return nil, fmt.Errorf("%q has no host", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%q must not have a query or fragment", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}
