package credctl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// testToken is distinctive so any leak into a URL or stderr is found by a
// plain substring search.
const testToken = "hubtok-5f1c9e0a7b"

// basePath is where the fake serves the API, as behind the hub's proxy.
const basePath = "/services/credserver"

// reply is a canned answer of the fake server.
type reply struct {
	status int
	body   string
	header map[string]string
}

// seen is what the fake recorded of one credentials request.
type seen struct {
	grant       string // unescaped from the path
	escapedPath string
	query       url.Values
}

// fakeCredserver implements GET /v1/whoami and GET /v1/credentials/{grant}
// under basePath. It checks the Authorization header on every request and
// fails the test if the token ever appears in a URL; any other route fails
// the test and answers 501.
type fakeCredserver struct {
	t      *testing.T
	srv    *httptest.Server
	whoami string
	grants map[string]reply

	mu       sync.Mutex
	requests []seen
}

func newFakeCredserver(t *testing.T) *fakeCredserver {
	t.Helper()
	f := &fakeCredserver{t: t, grants: map[string]reply{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the value for CREDSERVER_URL.
func (f *fakeCredserver) URL() string { return f.srv.URL + basePath }

func (f *fakeCredserver) seen() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.requests...)
}

func (f *fakeCredserver) serve(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.RequestURI, testToken) || strings.Contains(r.URL.RawQuery, testToken) {
		f.t.Errorf("token sent in the URL: %s", r.RequestURI)
	}
	path := r.URL.EscapedPath()
	if r.Method != http.MethodGet || !strings.HasPrefix(path, basePath+"/v1/") {
		f.unhandled(w, r)
		return
	}
	if got := r.Header.Get("Authorization"); got != "token "+testToken {
		writeReply(w, reply{status: 401, body: `{"error":{"code":"invalid_token","message":"the hub did not accept this token"}}`})
		return
	}
	switch rest := strings.TrimPrefix(path, basePath+"/v1/"); {
	case rest == "whoami":
		writeReply(w, reply{status: 200, body: f.whoami})
	case strings.HasPrefix(rest, "credentials/") && !strings.Contains(strings.TrimPrefix(rest, "credentials/"), "/"):
		grant, err := url.PathUnescape(strings.TrimPrefix(rest, "credentials/"))
		if err != nil {
			f.t.Errorf("bad escaping in %s: %v", path, err)
		}
		f.mu.Lock()
		f.requests = append(f.requests, seen{grant: grant, escapedPath: path, query: r.URL.Query()})
		f.mu.Unlock()
		rep, ok := f.grants[grant]
		if !ok {
			msg, _ := json.Marshal(fmt.Sprintf("there is no grant named %q", grant))
			rep = reply{status: 404, body: fmt.Sprintf(`{"error":{"code":"unknown_grant","message":%s}}`, msg)}
		}
		writeReply(w, rep)
	default:
		f.unhandled(w, r)
	}
}

func (f *fakeCredserver) unhandled(w http.ResponseWriter, r *http.Request) {
	f.t.Errorf("fake credserver: unhandled %s %s", r.Method, r.URL.EscapedPath())
	http.Error(w, "not implemented by the fake", http.StatusNotImplemented)
}

func writeReply(w http.ResponseWriter, rep reply) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

// harness runs the CLI in-process with a fake environment.
type harness struct {
	t    *testing.T
	env  map[string]string
	exe  string            // what Executable returns
	path map[string]string // what LookPath finds
	home string
	http *http.Client
}

func newHarness(t *testing.T, f *fakeCredserver) *harness {
	t.Helper()
	h := &harness{
		t:    t,
		env:  map[string]string{"JUPYTERHUB_API_TOKEN": testToken},
		home: t.TempDir(),
		path: map[string]string{},
		http: NewHTTPClient(),
	}
	if f != nil {
		h.env["CREDSERVER_URL"] = f.URL()
	}
	h.exe = filepath.Join(t.TempDir(), "bin", "credctl")
	writeFile(t, h.exe, "#!/bin/sh\n", 0o755)
	return h
}

type result struct {
	stdout, stderr string
	code           int
}

// run executes one command line and checks the invariants every command
// keeps: the token never reaches stderr, and stderr is empty on success or
// exactly one "credctl: " line on failure.
func (h *harness) run(args ...string) result {
	h.t.Helper()
	var out, errb bytes.Buffer
	c := &CLI{
		Stdin:      strings.NewReader(""),
		Stdout:     &out,
		Stderr:     &errb,
		Getenv:     func(k string) string { return h.env[k] },
		HTTPClient: h.http,
		Executable: func() (string, error) { return h.exe, nil },
		LookPath: func(name string) (string, error) {
			if p, ok := h.path[name]; ok {
				return p, nil
			}
			return "", fmt.Errorf("%s: not in PATH", name)
		},
		UserHomeDir: func() (string, error) { return h.home, nil },
	}
	r := result{code: c.Run(context.Background(), args)}
	r.stdout, r.stderr = out.String(), errb.String()
	if strings.Contains(r.stderr, testToken) {
		h.t.Errorf("credctl %q: token on stderr: %q", args, r.stderr)
	}
	switch {
	case r.code == 0 && r.stderr != "":
		h.t.Errorf("credctl %q: exit 0 with stderr %q", args, r.stderr)
	case r.code != 0 && (!strings.HasPrefix(r.stderr, "credctl: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n")):
		h.t.Errorf("credctl %q: exit %d, stderr is not one 'credctl: ' line: %q", args, r.code, r.stderr)
	}
	return r
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
