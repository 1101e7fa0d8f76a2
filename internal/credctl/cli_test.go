package credctl

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string // replaces the harness's
		args   []string
		code   int
		stderr string
	}{
		{name: "no command", args: nil, code: 2,
			stderr: "credctl: no command given; run 'credctl help' for usage\n"},
		{name: "unknown command", args: []string{"fetch"}, code: 2,
			stderr: "credctl: unknown command \"fetch\"; run 'credctl help' for usage\n"},
		{name: "unknown global flag", args: []string{"--token", "x", "whoami"}, code: 2,
			stderr: "credctl: flag provided but not defined: -token; run 'credctl help' for usage\n"},
		{name: "get without grant", args: []string{"get", "--format", "env"}, code: 2,
			stderr: "credctl: get: which grant? usage: credctl get GRANT [--format json|env|credential-process]\n"},
		{name: "get two grants", args: []string{"get", "a", "b"}, code: 2,
			stderr: "credctl: get: one grant at a time, got 2 arguments\n"},
		{name: "get bad format", args: []string{"get", "scratch", "--format", "yaml"}, code: 2,
			stderr: "credctl: get: --format must be json, env or credential-process, not \"yaml\"\n"},
		{name: "get bad access", args: []string{"get", "scratch", "--access", "write"}, code: 2,
			stderr: "credctl: get: --access must be read or readwrite, not \"write\"\n"},
		{name: "get bad duration", args: []string{"get", "scratch", "--duration", "1 hour"}, code: 2,
			stderr: "credctl: get: --duration must be a Go duration such as 1h or 90m, or seconds, not \"1 hour\"\n"},
		{name: "get unknown flag", args: []string{"get", "scratch", "--region", "x"}, code: 2,
			stderr: "credctl: get: flag provided but not defined: -region; run 'credctl help get' for usage\n"},
		{name: "missing server", env: map[string]string{"JUPYTERHUB_API_TOKEN": testToken}, args: []string{"whoami"}, code: 2,
			stderr: "credctl: no server: set CREDSERVER_URL or pass --server URL\n"},
		{name: "missing token", env: map[string]string{"CREDSERVER_URL": "http://127.0.0.1:1"}, args: []string{"get", "scratch"}, code: 2,
			stderr: "credctl: no token: set CREDSERVER_TOKEN or JUPYTERHUB_API_TOKEN\n"},
		{name: "blank token", env: map[string]string{"CREDSERVER_URL": "http://127.0.0.1:1", "JUPYTERHUB_API_TOKEN": "  \n"}, args: []string{"whoami"}, code: 2,
			stderr: "credctl: no token: set CREDSERVER_TOKEN or JUPYTERHUB_API_TOKEN\n"},
		{name: "token with a newline inside", env: map[string]string{"CREDSERVER_URL": "http://127.0.0.1:1", "CREDSERVER_TOKEN": "ab\ncd"}, args: []string{"whoami"}, code: 2,
			stderr: "credctl: CREDSERVER_TOKEN contains characters a token cannot have\n"},
		{name: "server not http", env: map[string]string{"CREDSERVER_URL": "127.0.0.1:8080", "JUPYTERHUB_API_TOKEN": testToken}, args: []string{"whoami"}, code: 2,
			stderr: "credctl: CREDSERVER_URL: \"127.0.0.1:8080\" must start with http:// or https://\n"},
		{name: "server with query", env: map[string]string{"JUPYTERHUB_API_TOKEN": testToken}, args: []string{"whoami", "--server", "http://h/x?token=1"}, code: 2,
			stderr: "credctl: --server: \"http://h/x?token=1\" must not have a query or fragment\n"},
		{name: "aws without configure", args: []string{"aws"}, code: 2,
			stderr: "credctl: aws: the only subcommand is configure: credctl aws configure [--grant G] [--profile P]\n"},
		{name: "aws configure bad profile", args: []string{"aws", "configure", "--profile", "a]b"}, code: 2,
			stderr: "credctl: aws configure: \"a]b\" cannot be an AWS profile name\n"},
		{name: "aws configure profile with a space", args: []string{"aws", "configure", "--profile", "my prof"}, code: 2,
			stderr: "credctl: aws configure: \"my prof\" cannot be an AWS profile name\n"},
		{name: "version with argument", args: []string{"version", "x"}, code: 2,
			stderr: "credctl: version: unexpected argument \"x\"\n"},
		{name: "github without subcommand", args: []string{"github"}, code: 2,
			stderr: "credctl: github: which subcommand? usage: credctl github login [--force] | logout\n"},
		{name: "github unknown subcommand", args: []string{"github", "push"}, code: 2,
			stderr: "credctl: github: unknown subcommand \"push\"; use login or logout\n"},
		{name: "github login argument", args: []string{"github", "login", "me"}, code: 2,
			stderr: "credctl: github login: unexpected argument \"me\"\n"},
		{name: "git-credential without action", args: []string{"git-credential"}, code: 2,
			stderr: "credctl: git-credential: which action? git calls it as: credctl git-credential get|store|erase\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.env["CREDSERVER_URL"] = "http://127.0.0.1:1/unused"
			if tt.env != nil {
				h.env = tt.env
			}
			r := h.run(tt.args...)
			if r.code != tt.code || r.stderr != tt.stderr || r.stdout != "" {
				t.Errorf("got exit %d stderr %q stdout %q\nwant exit %d stderr %q", r.code, r.stderr, r.stdout, tt.code, tt.stderr)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"help"}, usage},
		{[]string{"--help"}, usage},
		{[]string{"help", "get"}, commandUsage["get"]},
		{[]string{"get", "-h"}, commandUsage["get"]},
		{[]string{"aws", "configure", "--help"}, commandUsage["aws"]},
		{[]string{"whoami", "-help"}, commandUsage["whoami"]},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := newHarness(t, nil).run(tt.args...)
			if r.code != 0 || r.stdout != tt.want {
				t.Errorf("exit %d stdout %q, want 0 and %q", r.code, r.stdout, tt.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	old := Version
	t.Cleanup(func() { Version = old })
	Version = "v1.2.3"
	r := newHarness(t, nil).run("version")
	if r.code != 0 || r.stdout != "credctl v1.2.3\n" {
		t.Errorf("exit %d stdout %q", r.code, r.stdout)
	}
}

func TestServerAndTokenSources(t *testing.T) {
	f := credentialFake(t)
	dead := "http://127.0.0.1:1/services/credserver"
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
	}{
		{"CREDSERVER_URL", map[string]string{"CREDSERVER_URL": f.URL(), "JUPYTERHUB_API_TOKEN": testToken},
			[]string{"get", "scratch"}, 0},
		{"global --server wins over the env", map[string]string{"CREDSERVER_URL": dead, "JUPYTERHUB_API_TOKEN": testToken},
			[]string{"--server", f.URL(), "get", "scratch"}, 0},
		{"command --server wins over the global one", map[string]string{"JUPYTERHUB_API_TOKEN": testToken},
			[]string{"--server", dead, "get", "scratch", "--server", f.URL() + "/"}, 0},
		{"CREDSERVER_TOKEN wins", map[string]string{"CREDSERVER_URL": f.URL(), "JUPYTERHUB_API_TOKEN": "wrong", "CREDSERVER_TOKEN": testToken},
			[]string{"get", "scratch"}, 0},
		{"JUPYTERHUB_API_TOKEN is the fallback", map[string]string{"CREDSERVER_URL": f.URL(), "JUPYTERHUB_API_TOKEN": testToken},
			[]string{"get", "scratch"}, 0},
		{"JUPYTERHUB_API_TOKEN not used when CREDSERVER_TOKEN is set", map[string]string{"CREDSERVER_URL": f.URL(), "JUPYTERHUB_API_TOKEN": testToken, "CREDSERVER_TOKEN": "wrong"},
			[]string{"get", "scratch"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.env = tt.env
			if r := h.run(tt.args...); r.code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
		})
	}
}

func TestServerErrors(t *testing.T) {
	tests := []struct {
		name   string
		rep    reply
		stderr string // with {base} standing for the base URL
	}{{
		name:   "error body",
		rep:    reply{status: 403, body: `{"error":{"code":"forbidden","message":"grant \"g\" is not available to alice"}}`},
		stderr: "credctl: g: forbidden: grant \"g\" is not available to alice\n",
	}, {
		name:   "multi-line message",
		rep:    reply{status: 502, body: `{"error":{"code":"upstream","message":"STS refused:\nAccessDenied\r\n\tno"}}`},
		stderr: "credctl: g: upstream: STS refused: AccessDenied   no\n",
	}, {
		name:   "rate limited",
		rep:    reply{status: 429, body: `{"error":{"code":"rate_limited","message":"too many requests; retry in 30s"}}`, header: map[string]string{"Retry-After": "30"}},
		stderr: "credctl: g: rate_limited: too many requests; retry in 30s\n",
	}, {
		name:   "proxy page instead of JSON",
		rep:    reply{status: 502, body: "<html><body>Bad Gateway</body></html>"},
		stderr: "credctl: g: {base} answered 502 Bad Gateway\n",
	}, {
		name:   "not found without a body",
		rep:    reply{status: 404, body: ""},
		stderr: "credctl: g: {base} answered 404 Not Found; check CREDSERVER_URL\n",
	}, {
		name:   "redirect is not followed",
		rep:    reply{status: 302, header: map[string]string{"Location": "/hub/login?next=x"}},
		stderr: "credctl: g: {base} answered with a redirect (302 Found) to \"/hub/login?next=x\"; check CREDSERVER_URL\n",
	}, {
		name:   "200 that is not JSON",
		rep:    reply{status: 200, body: "<html>JupyterHub</html>"},
		stderr: "credctl: {base} answered 200 OK with something other than JSON; check CREDSERVER_URL\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCredserver(t)
			f.grants["g"] = tt.rep
			r := newHarness(t, f).run("get", "g", "--format", "env")
			want := strings.ReplaceAll(tt.stderr, "{base}", f.URL())
			if r.code != 1 || r.stderr != want || r.stdout != "" {
				t.Errorf("got exit %d stderr %q stdout %q\nwant exit 1 stderr %q", r.code, r.stderr, r.stdout, want)
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		h := newHarness(t, nil)
		h.env["CREDSERVER_URL"] = url + "/services/credserver"
		r := h.run("get", "scratch")
		prefix := "credctl: cannot reach credserver at " + url + "/services/credserver: "
		if r.code != 1 || !strings.HasPrefix(r.stderr, prefix) {
			t.Errorf("exit %d stderr %q, want 1 and prefix %q", r.code, r.stderr, prefix)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		h := newHarness(t, nil)
		h.env["CREDSERVER_URL"] = srv.URL
		h.http = NewHTTPClient()
		h.http.Timeout = 50 * time.Millisecond
		r := h.run("whoami")
		want := "credctl: no answer from credserver at " + srv.URL + " within 50ms\n"
		if r.code != 1 || r.stderr != want {
			t.Errorf("exit %d stderr %q, want 1 and %q", r.code, r.stderr, want)
		}
	})
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args    []string
		wantPos []string
		wantF   string
	}{
		{[]string{"a", "--f", "x", "b"}, []string{"a", "b"}, "x"},
		{[]string{"--f=x", "a"}, []string{"a"}, "x"},
		{[]string{"a", "--", "--f", "y"}, []string{"a", "--f", "y"}, ""},
		{[]string{"-", "--f", "x"}, []string{"-"}, "x"},
		{nil, nil, ""},
	}
	for _, tt := range tests {
		fs := newFlagSet("t")
		f := fs.String("f", "", "")
		pos, err := parseArgs(fs, tt.args)
		if err != nil {
			t.Fatalf("parseArgs(%q): %v", tt.args, err)
		}
		if strings.Join(pos, "|") != strings.Join(tt.wantPos, "|") || *f != tt.wantF {
			t.Errorf("parseArgs(%q) = %q, f=%q; want %q, f=%q", tt.args, pos, *f, tt.wantPos, tt.wantF)
		}
	}
}

// TestBasePathHint: a CREDSERVER_URL without the server's base path reaches
// the server, which answers not_found for every route; credctl says what is
// wrong with the URL instead of only "no such endpoint".
func TestBasePathHint(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":{"code":"not_found","message":"no such endpoint"}}`)
	}))
	defer srv.Close()
	for _, tt := range []struct{ url, want string }{
		{srv.URL, "credctl: not_found: no such endpoint; CREDSERVER_URL " + srv.URL + " has no base path: it must include the server's base_path, e.g. " + srv.URL + "/services/credserver\n"},
		{srv.URL + "/", "credctl: not_found: no such endpoint; CREDSERVER_URL " + srv.URL + " has no base path: it must include the server's base_path, e.g. " + srv.URL + "/services/credserver\n"},
		{srv.URL + "/credserver", "credctl: not_found: no such endpoint; check that CREDSERVER_URL " + srv.URL + "/credserver ends in the server's base_path (e.g. " + srv.URL + "/services/credserver)\n"},
	} {
		h := newHarness(t, nil)
		h.env["CREDSERVER_URL"] = tt.url
		if r := h.run("whoami"); r.code != 1 || r.stderr != tt.want {
			t.Errorf("CREDSERVER_URL=%s: exit %d stderr %q\nwant %q", tt.url, r.code, r.stderr, tt.want)
		}
	}
}

// TestInstall copies the running binary (here: the harness's executable) to
// DIR/credctl, executable, replacing an older copy; bad arguments change
// nothing.
func TestInstall(t *testing.T) {
	h := newHarness(t, nil)
	writeFile(t, h.exe, "#!/bin/sh\necho new credctl\n", 0o700)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "credctl"), "old", 0o644)
	r := h.run("install", dir)
	if r.code != 0 || !strings.Contains(r.stdout, filepath.Join(dir, "credctl")) {
		t.Fatalf("install: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if got := readFile(t, filepath.Join(dir, "credctl")); got != "#!/bin/sh\necho new credctl\n" {
		t.Errorf("installed file = %q", got)
	}
	if m := mode(t, filepath.Join(dir, "credctl")); m != 0o755 {
		t.Errorf("mode %v, want 0755 (the user's server runs it as another uid)", m)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("install left %d files in %s, want only credctl", len(ents), dir)
	}
	for _, args := range [][]string{{"install"}, {"install", dir, dir}, {"install", filepath.Join(dir, "missing")}, {"install", filepath.Join(dir, "credctl")}} {
		if r := h.run(args...); r.code == 0 {
			t.Errorf("credctl %q: exit 0", args)
		}
	}
}
