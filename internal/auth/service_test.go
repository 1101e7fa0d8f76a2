package auth

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestServiceAccess: a user's token is accepted only when the hub lists an
// access scope for this service; tokens the hub issued to other OAuth
// clients carry theirs instead and are refused, without a second hub call
// while the refusal is cached.
func TestServiceAccess(t *testing.T) {
	base := []string{"read:users:name!user=alice", "read:users:groups!user=alice"}
	with := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	for _, tc := range []struct {
		name    string
		service string // HubConfig.ServiceName; "" = default
		any     bool   // HubConfig.AnyService
		scopes  []string
		wantErr error
	}{
		{"filtered scope for credserver", "", false, with("access:services!service=credserver"), nil},
		{"unfiltered access:services", "", false, with("access:services"), nil},
		{"renamed service", "creds", false, with("access:services!service=creds"), nil},
		{"renamed service, default name's scope", "creds", false, with("access:services!service=credserver"), ErrNotForService},
		// A dashboard service's OAuth token: the hub adds that service's
		// access scope, not ours.
		{"another service's OAuth token", "", false, with("access:services!service=dashboard"), ErrNotForService},
		// The OAuth token a user server gets when someone opens it.
		{"a user server's OAuth token", "", false, with("access:servers!server=alice/"), ErrNotForService},
		{"name is a prefix of ours", "", false, with("access:services!service=credserver-evil"), ErrNotForService},
		{"ours is a prefix of the name", "", false, with("access:services!service=credserv"), ErrNotForService},
		{"filter on a user, not a service", "", false, with("access:services!user=alice"), ErrNotForService},
		{"no scopes at all", "", false, nil, ErrNotForService},
		{"check off", "", true, with("access:services!service=dashboard"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeHub(t)
			f.addUser(aliceToken, hubUser{Kind: "user", Name: "alice", Groups: []string{"staff"}, Scopes: tc.scopes})
			h := newTestHub(t, f, HubConfig{ServiceName: tc.service, AnyService: tc.any, Now: newFakeClock().Now})
			for range 2 {
				id, err := h.Authenticate(t.Context(), aliceToken)
				if !errors.Is(err, tc.wantErr) || (err != nil) != (tc.wantErr != nil) {
					t.Fatalf("Authenticate = %v, want %v", err, tc.wantErr)
				}
				if err == nil && id.Name != "alice" {
					t.Errorf("identity = %+v", id)
				}
				if err != nil && (errors.Is(err, ErrForbidden) || errors.Is(err, ErrInvalidToken)) {
					t.Errorf("error %v also matches another sentinel", err)
				}
			}
			if n := f.userCalls(); n != 1 {
				t.Errorf("hub calls = %d, want 1 (the answer is cached)", n)
			}
		})
	}
}

// TestServiceAccessMessage: the refusal names the scope the token lacks and
// the admin's fix, and holds no token.
func TestServiceAccessMessage(t *testing.T) {
	f := newFakeHub(t)
	f.addUser(aliceToken, hubUser{Kind: "user", Name: "alice", Scopes: []string{"access:services!service=dashboard"}})
	h := newTestHub(t, f, HubConfig{ServiceName: "creds"})
	_, err := h.Authenticate(t.Context(), aliceToken)
	if !errors.Is(err, ErrNotForService) {
		t.Fatalf("Authenticate = %v, want ErrNotForService", err)
	}
	msg := err.Error()
	for _, want := range []string{"access:services!service=creds", "load_roles", "'user' and 'server' roles", "server_token_scopes"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, aliceToken) {
		t.Errorf("message contains the token")
	}
}

// TestServiceAccessCheckedBeforeRequiredScopes: a token for another client
// is refused as such even when it holds hub.require_scopes.
func TestServiceAccessCheckedBeforeRequiredScopes(t *testing.T) {
	f := newFakeHub(t)
	f.addUser(aliceToken, hubUser{Kind: "user", Name: "alice", Scopes: []string{"custom:credserver:use", "access:services!service=dashboard"}})
	h := newTestHub(t, f, HubConfig{RequireScopes: []string{"custom:credserver:use"}})
	if _, err := h.Authenticate(t.Context(), aliceToken); !errors.Is(err, ErrNotForService) {
		t.Fatalf("Authenticate = %v, want ErrNotForService", err)
	}
}

func TestServiceNameChecked(t *testing.T) {
	for _, name := range []string{"a!b", "a=b", "a b"} {
		if _, err := NewHub(HubConfig{APIURL: "http://hub/hub/api", ServiceName: name}); err == nil {
			t.Errorf("NewHub accepted service name %q", name)
		}
	}
}

// TestAuthenticateCached: cached answers, identities and refusals alike,
// are given until they expire; nothing else is, and the hub is never asked.
func TestAuthenticateCached(t *testing.T) {
	f := newFakeHub(t)
	f.addUser(aliceToken, alice)
	clock := newFakeClock()
	h := newTestHub(t, f, HubConfig{Now: clock.Now, CacheTTL: time.Minute, NegativeTTL: 10 * time.Second})
	const bad = "nope-token-0123456789"
	cached := func(tok string) (Identity, bool, error) { return h.AuthenticateCached(tok) }
	if _, ok, _ := cached(aliceToken); ok {
		t.Fatal("answered before any lookup")
	}
	if _, ok, _ := cached(bad); ok {
		t.Fatal("answered before any lookup")
	}
	if _, ok, err := cached("has space"); !ok || !errors.Is(err, ErrNoToken) {
		t.Errorf("malformed token = %v %v, want ErrNoToken without a lookup", ok, err)
	}
	_, _ = h.Authenticate(t.Context(), aliceToken)
	_, _ = h.Authenticate(t.Context(), bad)
	calls := f.userCalls()
	if id, ok, err := cached(aliceToken); !ok || err != nil || id.Name != "alice" {
		t.Errorf("cached identity = %+v %v %v", id, ok, err)
	}
	if _, ok, err := cached(bad); !ok || !errors.Is(err, ErrInvalidToken) {
		t.Errorf("cached refusal = %v %v", ok, err)
	}
	clock.Advance(11 * time.Second)
	if _, ok, _ := cached(bad); ok {
		t.Error("the refusal should have expired")
	}
	if _, ok, _ := cached(aliceToken); !ok {
		t.Error("the identity should still be cached")
	}
	if f.userCalls() != calls {
		t.Error("AuthenticateCached asked the hub")
	}
}

// FuzzHubAnswer feeds arbitrary /user answers to the check: it never
// panics, and whatever it accepts lists one of the service's access scopes
// exactly and is a user's.
func FuzzHubAnswer(f *testing.F) {
	f.Add([]byte(`{"kind":"user","name":"alice","scopes":["access:services!service=credserver"]}`))
	f.Add([]byte(`{"kind":"user","name":"alice","scopes":["access:services"]}`))
	f.Add([]byte(`{"kind":"user","name":"alice","scopes":["access:services!service=dashboard"]}`))
	f.Add([]byte(`{"kind":"user","name":"alice","scopes":"access:services"}`))
	f.Add([]byte(`{"kind":"service","name":"x","scopes":["access:services"]}`))
	f.Add([]byte(`null`))
	h, err := NewHub(HubConfig{APIURL: "http://hub.invalid/hub/api"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		id, _, err := h.identity(t.Context(), strings.NewReader(string(body)))
		if err != nil {
			return
		}
		var u hubUser
		if json.Unmarshal(body, &u) != nil {
			t.Fatalf("accepted an answer that does not decode: %q", body)
		}
		if u.Kind != "user" || id.Name == "" {
			t.Fatalf("accepted a non-user answer %q", body)
		}
		if !slices.Contains(u.Scopes, "access:services") && !slices.Contains(u.Scopes, "access:services!service=credserver") {
			t.Fatalf("accepted scopes %q without credserver's access scope", u.Scopes)
		}
	})
}
