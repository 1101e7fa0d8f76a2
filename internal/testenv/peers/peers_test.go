package peers_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/testenv/peers"
)

// whoami is the part of GET /hub/api/user that credserver relies on.
type whoami struct {
	Name   string   `json:"name"`
	Kind   string   `json:"kind"`
	Groups []string `json:"groups"`
	Admin  bool     `json:"admin"`
	Scopes []string `json:"scopes"`
}

// hubUser asks the hub who header's token belongs to; it returns the status
// and, for a 200, the decoded answer.
func hubUser(t *testing.T, rawURL, header string) (int, whoami) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	var w whoami
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&w); err != nil {
			t.Fatalf("GET %s: decode: %v", rawURL, err)
		}
	}
	return resp.StatusCode, w
}

func startHub(t *testing.T, o peers.HubOptions) *peers.Hub {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o.Dir = t.TempDir()
	o.Logf = t.Logf
	h, err := peers.StartHub(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("hub log:\n%s", h.LogTail())
		}
	})
	return h
}

func TestHub(t *testing.T) {
	peers.Require(t, "jupyterhub")
	h := startHub(t, peers.HubOptions{})
	ctx := t.Context()

	// A name with a space, ? and # checks that CreateUser and Token escape it.
	const odd = "jo smith?x#1@example.org"
	for _, u := range []string{"alice", "bob", odd} {
		if err := h.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.CreateGroup(ctx, "staff", "alice"); err != nil {
		t.Fatal(err)
	}
	aliceToken, err := h.Token(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("user token", func(t *testing.T) {
		tests := []struct {
			user       string
			wantGroups []string
		}{
			{"alice", []string{"staff"}},
			{"bob", []string{}},
			{odd, []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.user, func(t *testing.T) {
				tok, err := h.Token(ctx, tt.user)
				if err != nil {
					t.Fatal(err)
				}
				status, got := hubUser(t, h.APIURL+"/user", "token "+tok)
				if status != http.StatusOK {
					t.Fatalf("status = %d, want 200", status)
				}
				want := whoami{Name: tt.user, Kind: "user", Groups: tt.wantGroups}
				if diff := cmp.Diff(want, got, ignoreScopes); diff != "" {
					t.Errorf("/hub/api/user (-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("bad tokens are 403", func(t *testing.T) {
		tests := []struct{ name, url, header string }{
			{"garbage", h.APIURL + "/user", "token garbage"},
			{"no header", h.APIURL + "/user", ""},
			{"query string", h.APIURL + "/user?token=" + url.QueryEscape(aliceToken), ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if status, _ := hubUser(t, tt.url, tt.header); status != http.StatusForbidden {
					t.Errorf("status = %d, want 403", status)
				}
			})
		}
	})

	t.Run("bearer scheme", func(t *testing.T) {
		status, got := hubUser(t, h.APIURL+"/user", "bearer "+aliceToken)
		if status != http.StatusOK || got.Name != "alice" {
			t.Errorf("got %d %q, want 200 alice", status, got.Name)
		}
	})

	t.Run("service token", func(t *testing.T) {
		status, got := hubUser(t, h.APIURL+"/user", "token "+h.ServiceAPIToken)
		want := whoami{Name: "test-service", Kind: "service", Scopes: []string{}}
		if status != http.StatusOK {
			t.Fatalf("status = %d, want 200", status)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("/hub/api/user (-want +got):\n%s", diff)
		}
	})

	t.Run("scoped token", func(t *testing.T) {
		tok, err := h.TokenWithScopes(ctx, "alice", []string{"access:servers!user=alice"})
		if err != nil {
			t.Fatal(err)
		}
		_, got := hubUser(t, h.APIURL+"/user", "token "+tok)
		// The identify scopes are always granted on /hub/api/user.
		want := whoami{
			Name: "alice", Kind: "user", Groups: []string{"staff"},
			Scopes: []string{"access:servers!user=alice", "read:users:groups!user=alice", "read:users:name!user=alice"},
		}
		sort.Strings(got.Scopes)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("/hub/api/user (-want +got):\n%s", diff)
		}
	})

	t.Run("scope the user lacks", func(t *testing.T) {
		_, err := h.TokenWithScopes(ctx, "alice", []string{"admin:users"})
		var apiErr *peers.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
			t.Errorf("err = %v, want an APIError with status 400", err)
		}
	})

	t.Run("duplicate user", func(t *testing.T) {
		err := h.CreateUser(ctx, "alice")
		var apiErr *peers.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
			t.Errorf("err = %v, want an APIError with status 409", err)
		}
	})

	// Last: the restart leaves the hub running but its connections reset.
	t.Run("stop and start", func(t *testing.T) {
		if err := h.Stop(); err != nil {
			t.Fatal(err)
		}
		if _, err := http.Get(h.APIURL + "/"); err == nil {
			t.Fatal("hub still answers after Stop")
		}
		if err := h.Start(ctx); err != nil {
			t.Fatal(err)
		}
		status, got := hubUser(t, h.APIURL+"/user", "token "+aliceToken)
		if status != http.StatusOK || got.Name != "alice" || !cmp.Equal(got.Groups, []string{"staff"}) {
			t.Errorf("after restart: %d %+v, want alice in staff", status, got)
		}
	})
}

// ignoreScopes drops the scopes a default token carries, which list every
// permission of the user role and are not what these tests are about.
var ignoreScopes = cmp.FilterPath(func(p cmp.Path) bool {
	return p.Last().String() == ".Scopes"
}, cmp.Ignore())

func TestHubWithProxy(t *testing.T) {
	peers.Require(t, "jupyterhub", "configurable-http-proxy")
	h := startHub(t, peers.HubOptions{Proxy: true})
	if h.URL == strings.TrimSuffix(h.APIURL, "/hub/api") {
		t.Fatalf("URL %s is the hub's own, want the proxy's", h.URL)
	}
	if err := h.CreateUser(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	tok, err := h.Token(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	status, got := hubUser(t, h.URL+"/hub/api/user", "token "+tok)
	if status != http.StatusOK || got.Name != "alice" {
		t.Fatalf("through the proxy: %d %q, want 200 alice", status, got.Name)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	// The proxy is the hub's child: closing the hub must take it down too.
	proxyAddr := strings.TrimPrefix(h.URL, "http://")
	if c, err := net.DialTimeout("tcp", proxyAddr, time.Second); err == nil {
		c.Close()
		t.Errorf("proxy still listening on %s after Close", proxyAddr)
	}
}
