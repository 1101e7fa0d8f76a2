package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAuthenticateUser(t *testing.T) {
	for _, api := range []string{"/hub/api", "/hub/api/"} {
		t.Run(api, func(t *testing.T) {
			f := newFakeHub(t)
			f.addUser(aliceToken, hubUser{Kind: "user", Name: "alice", Admin: true,
				Groups: []string{"staff"}, Scopes: []string{"access:services", "custom:credserver:use", "read:users!user=alice", "tokens!user=alice"}})
			h := newTestHub(t, f, HubConfig{APIURL: f.srv.URL + api, RequireScopes: []string{"custom:credserver:use"}})

			got, err := h.Authenticate(t.Context(), aliceToken)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			want := Identity{Name: "alice", Groups: []string{"staff"}, Scopes: []string{"custom:credserver:use"}, Admin: true}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
			if n := f.userCalls(); n != 1 {
				t.Errorf("hub requests = %d, want 1", n)
			}
		})
	}
}

func TestAuthenticateErrors(t *testing.T) {
	status := func(code int) func(http.ResponseWriter, *http.Request, int) {
		return func(w http.ResponseWriter, _ *http.Request, _ int) {
			writeJSON(w, code, map[string]any{"status": code})
		}
	}
	body := func(s string) func(http.ResponseWriter, *http.Request, int) {
		return func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(s))
		}
	}
	user := func(u hubUser) func(http.ResponseWriter, *http.Request, int) {
		return func(w http.ResponseWriter, _ *http.Request, _ int) { writeJSON(w, http.StatusOK, u) }
	}
	service := alice
	service.Kind = "service"
	noKind := alice
	noKind.Kind = ""
	noName := alice
	noName.Name = ""

	tests := []struct {
		name      string
		respond   func(http.ResponseWriter, *http.Request, int)
		scopes    []string
		want      error
		wantCalls int
	}{
		{"hub 403", status(403), nil, ErrInvalidToken, 1},
		{"hub 401", status(401), nil, ErrInvalidToken, 1},
		{"hub 404", status(404), nil, ErrHubMisconfigured, 1},
		{"hub 400", status(400), nil, ErrHubMisconfigured, 1},
		{"hub 204", status(204), nil, ErrHubMisconfigured, 1},
		{"hub 302", func(w http.ResponseWriter, r *http.Request, _ int) {
			http.Redirect(w, r, "/hub/login?next=elsewhere", http.StatusFound)
		}, nil, ErrHubMisconfigured, 1},
		{"hub 500 not retried", status(500), nil, ErrHubUnavailable, 1},
		{"hub 429 not retried", status(429), nil, ErrHubUnavailable, 1},
		{"hub 502 retried once", status(502), nil, ErrHubUnavailable, 2},
		{"hub 503 retried once", status(503), nil, ErrHubUnavailable, 2},
		{"hub 504 retried once", status(504), nil, ErrHubUnavailable, 2},
		{"hub 503 then user", func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				status(503)(w, r, n)
				return
			}
			user(alice)(w, r, n)
		}, nil, nil, 2},
		{"not JSON", body("<html>login</html>"), nil, ErrHubMisconfigured, 1},
		{"JSON array", body(`[{"kind":"user","name":"alice"}]`), nil, ErrHubMisconfigured, 1},
		{"JSON null", body(`null`), nil, ErrHubMisconfigured, 1},
		{"wrong field type", body(`{"kind":"user","name":"alice","groups":"staff"}`), nil, ErrHubMisconfigured, 1},
		{"trailing garbage", body(`{"kind":"user","name":"alice"} x`), nil, ErrHubMisconfigured, 1},
		{"body over 1 MiB", body(`{"kind":"user","name":"alice","x":"` + strings.Repeat("a", maxBody) + `"}`), nil, ErrHubMisconfigured, 1},
		{"no name", user(noName), nil, ErrHubMisconfigured, 1},
		{"service token", user(service), nil, ErrForbidden, 1},
		{"no kind", user(noKind), nil, ErrForbidden, 1},
		{"missing required scope", user(alice), []string{"custom:credserver:use", "custom:other"}, ErrForbidden, 1},
		{"scope match is exact", user(alice), []string{"read:users:groups"}, ErrForbidden, 1},
		{"required scopes present", user(alice), []string{"custom:credserver:use"}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeHub(t)
			f.setRespond(tt.respond)
			h := newTestHub(t, f, HubConfig{RequireScopes: tt.scopes})

			id, err := h.Authenticate(t.Context(), aliceToken)
			if tt.want == nil {
				if err != nil || id.Name != "alice" {
					t.Fatalf("Authenticate = %+v, %v; want alice", id, err)
				}
			} else if !errors.Is(err, tt.want) {
				t.Fatalf("Authenticate error = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), aliceToken) {
				t.Errorf("error contains the token: %v", err)
			}
			if n := f.userCalls(); n != tt.wantCalls {
				t.Errorf("hub requests = %d, want %d", n, tt.wantCalls)
			}
			if n := h.Stats().UpstreamCalls; n != uint64(tt.wantCalls) {
				t.Errorf("Stats().UpstreamCalls = %d, want %d", n, tt.wantCalls)
			}
			if f.requested("/hub/login") {
				t.Error("the redirect was followed")
			}
		})
	}
}

func TestAuthenticateForbiddenSaysWhichScope(t *testing.T) {
	f := newFakeHub(t)
	f.addUser(aliceToken, alice)
	h := newTestHub(t, f, HubConfig{RequireScopes: []string{"custom:credserver:use", "custom:credserver:admin"}})

	_, err := h.Authenticate(t.Context(), aliceToken)
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "custom:credserver:admin") ||
		strings.Contains(err.Error(), "custom:credserver:use") {
		t.Errorf("error = %v, want ErrForbidden naming only custom:credserver:admin", err)
	}
}

func TestAuthenticateTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	api := srv.URL + "/hub/api"
	srv.Close()
	h, err := NewHub(HubConfig{APIURL: api})
	if err != nil {
		t.Fatal(err)
	}
	h.retryDelay = time.Millisecond

	_, err = h.Authenticate(t.Context(), aliceToken)
	if !errors.Is(err, ErrHubUnavailable) {
		t.Fatalf("error = %v, want ErrHubUnavailable", err)
	}
	if strings.Contains(err.Error(), aliceToken) {
		t.Errorf("error contains the token: %v", err)
	}
	if n := h.Stats().UpstreamCalls; n != 2 {
		t.Errorf("UpstreamCalls = %d, want 2 (one retry)", n)
	}
}

func TestAuthenticateRetriesDroppedConnection(t *testing.T) {
	f := newFakeHub(t)
	f.setRespond(func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			_ = conn.Close()
			return
		}
		writeJSON(w, http.StatusOK, alice)
	})
	h := newTestHub(t, f, HubConfig{})

	id, err := h.Authenticate(t.Context(), aliceToken)
	if err != nil || id.Name != "alice" {
		t.Fatalf("Authenticate = %+v, %v; want alice after one retry", id, err)
	}
	if n := f.userCalls(); n != 2 {
		t.Errorf("hub requests = %d, want 2", n)
	}
}

// hangingHub returns a fake hub whose user endpoint answers only when the
// test ends.
func hangingHub(t *testing.T) *fakeHub {
	f := newFakeHub(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	f.setRespond(func(w http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	return f
}

func TestAuthenticateCallerDeadline(t *testing.T) {
	f := hangingHub(t)
	h := newTestHub(t, f, HubConfig{})

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.Authenticate(ctx, aliceToken)
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Authenticate took %v past a 100ms deadline", elapsed)
	}
	if !errors.Is(err, ErrHubUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want ErrHubUnavailable and DeadlineExceeded", err)
	}
}

func TestAuthenticateLookupTimeout(t *testing.T) {
	f := hangingHub(t)
	h := newTestHub(t, f, HubConfig{Timeout: 100 * time.Millisecond})

	start := time.Now()
	_, err := h.Authenticate(context.Background(), aliceToken)
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Authenticate took %v past a 100ms lookup timeout", elapsed)
	}
	if !errors.Is(err, ErrHubUnavailable) {
		t.Errorf("error = %v, want ErrHubUnavailable", err)
	}
	if n := h.Stats().UpstreamCalls; n != 1 {
		t.Errorf("UpstreamCalls = %d, want 1 (no retry once the time is up)", n)
	}
}

func TestAuthenticateMalformedTokenNeverAsksHub(t *testing.T) {
	f := newFakeHub(t)
	h := newTestHub(t, f, HubConfig{})
	for _, tok := range []string{"", "a b", "a\nb", strings.Repeat("a", maxTokenLen+1)} {
		if _, err := h.Authenticate(t.Context(), tok); !errors.Is(err, ErrNoToken) {
			t.Errorf("Authenticate(%q) error = %v, want ErrNoToken", tok, err)
		}
	}
	if n := f.userCalls(); n != 0 {
		t.Errorf("hub requests = %d, want 0", n)
	}
}

// TestScopesNotRetained: only the required scopes (all held) come back;
// the hub's full list is not kept in the cache.
func TestScopesNotRetained(t *testing.T) {
	f := newFakeHub(t)
	f.addUser(aliceToken, alice)
	h := newTestHub(t, f, HubConfig{})
	id, err := h.Authenticate(t.Context(), aliceToken)
	if err != nil {
		t.Fatal(err)
	}
	if id.Scopes != nil {
		t.Errorf("Scopes = %q with no required scopes, want nil", id.Scopes)
	}
}

func TestAuthenticateCallerOwnsSlices(t *testing.T) {
	f := newFakeHub(t)
	f.addUser(aliceToken, alice)
	h := newTestHub(t, f, HubConfig{RequireScopes: []string{"custom:credserver:use"}})

	first, err := h.Authenticate(t.Context(), aliceToken)
	if err != nil {
		t.Fatal(err)
	}
	first.Groups[0] = "admins"
	first.Scopes[0] = "admin:users"
	second, err := h.Authenticate(t.Context(), aliceToken)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(alice.Groups, second.Groups); diff != "" {
		t.Errorf("cached groups changed by a caller (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"custom:credserver:use"}, second.Scopes); diff != "" {
		t.Errorf("cached scopes changed by a caller (-want +got):\n%s", diff)
	}
}
