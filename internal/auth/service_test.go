package auth

import (
	"errors"
	"strings"
	"testing"
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
