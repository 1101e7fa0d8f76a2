package credctl

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const testDelegToken = "csd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// tokenFake serves /v1/tokens as credserver does, checking each request.
func tokenFake(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "token "+testToken {
			t.Errorf("%s %s: Authorization %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.Method + " " + r.URL.EscapedPath() {
		case "POST " + basePath + "/v1/tokens":
			var body map[string]any
			b, _ := io.ReadAll(r.Body)
			if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &body) != nil {
				t.Errorf("create body %q (%s)", b, r.Header.Get("Content-Type"))
			}
			if got, _ := json.Marshal(body); string(got) != `{"access":"read","expires_in":"48h","grants":["scratch","shared"],"note":"dask cluster"}` {
				t.Errorf("create body = %s", got)
			}
			w.WriteHeader(201)
			io.WriteString(w, `{"id":"abc","token":"`+testDelegToken+`","grants":["scratch","shared"],"access":"read","expires_at":"2030-01-03T00:00:00Z","note":"dask cluster","created_at":"2030-01-01T00:00:00Z"}`)
		case "GET " + basePath + "/v1/tokens":
			io.WriteString(w, `{"tokens":[{"id":"abc","grants":["scratch"],"access":"read","expires_at":"2030-01-03T00:00:00Z","note":"dask\u001b[31m","created_at":"2030-01-01T00:00:00Z","last_used_at":null}]}`)
		case "DELETE " + basePath + "/v1/tokens/a%2Fb":
			w.WriteHeader(204)
		case "DELETE " + basePath + "/v1/tokens/nope":
			w.WriteHeader(404)
			io.WriteString(w, `{"error":{"code":"token_not_found","message":"you have no delegation token with this id"}}`)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.EscapedPath())
			w.WriteHeader(501)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestTokenCommands(t *testing.T) {
	srv := tokenFake(t)
	h := newHarness(t, nil)
	h.env["CREDSERVER_URL"] = srv.URL + basePath
	create := []string{"token", "create", "--grant", "scratch", "--grant", "shared", "--access", "read", "--expires-in", "48h", "--note", "dask cluster"}

	r := h.run(append(create, "--format", "env")...)
	if r.code != 0 || r.stdout != "CREDSERVER_URL="+srv.URL+basePath+"\nCREDSERVER_TOKEN="+testDelegToken+"\n" {
		t.Errorf("create --format env: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := h.run(create...); r.code != 0 || !strings.Contains(r.stdout, `"token": "`+testDelegToken+`"`) {
		t.Errorf("create (json): exit %d, stdout %q", r.code, r.stdout)
	}
	r = h.run("token", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "abc") || !strings.Contains(r.stdout, "never") || strings.Contains(r.stdout, "\x1b") {
		t.Errorf("list: exit %d, stdout %q", r.code, r.stdout)
	}
	if r := h.run("token", "revoke", "a/b"); r.code != 0 || r.stdout != "revoked a/b\n" {
		t.Errorf("revoke: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := h.run("token", "revoke", "nope"); r.code != 1 || !strings.Contains(r.stderr, "no delegation token") {
		t.Errorf("revoke unknown: exit %d, %q", r.code, r.stderr)
	}
	for _, args := range [][]string{
		{"token"}, {"token", "mint"}, {"token", "create"}, {"token", "create", "--grant", "g", "--format", "yaml"},
		{"token", "create", "--grant", "g", "extra"}, {"token", "revoke"}, {"token", "revoke", "a", "b"}, {"token", "list", "x"},
	} {
		if r := h.run(args...); r.code != 2 || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want a one-line usage error", args, r.code, r.stderr)
		}
	}
}
