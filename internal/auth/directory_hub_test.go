package auth_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/testenv/peers"
)

// TestDirectoryRealHub: on the real JupyterHub 3, a deleted and re-created
// account of the same name has a different Created, and a deleted one is
// ErrNoSuchUser.
func TestDirectoryRealHub(t *testing.T) {
	peers.Require(t, "jupyterhub")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	hub, err := peers.StartHub(ctx, peers.HubOptions{Dir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hub log:\n%s", hub.LogTail())
		}
		_ = hub.Close()
	})
	// A fresh directory per lookup: no cache between the steps.
	lookup := func(name string) (auth.Account, error) {
		d, err := auth.NewDirectory(auth.DirectoryConfig{APIURL: hub.APIURL, Token: hub.AdminToken})
		if err != nil {
			t.Fatal(err)
		}
		return d.Account(ctx, name)
	}
	const name = "eve.re-created"
	if err := hub.CreateUser(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := hub.CreateGroup(ctx, "team-eve", name); err != nil {
		t.Fatal(err)
	}
	first, err := lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	if first.Name != name || first.Created.IsZero() || len(first.Groups) != 1 || first.Groups[0] != "team-eve" {
		t.Fatalf("first account = %+v", first)
	}
	if err := hub.API(ctx, http.MethodDelete, "/users/"+name, nil, http.StatusNoContent, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := lookup(name); !errors.Is(err, auth.ErrNoSuchUser) {
		t.Fatalf("deleted user: err = %v, want ErrNoSuchUser", err)
	}
	time.Sleep(10 * time.Millisecond) // the hub's clock must move on
	if err := hub.CreateUser(ctx, name); err != nil {
		t.Fatal(err)
	}
	second, err := lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	if second.Created.Equal(first.Created) {
		t.Errorf("re-created account has the old created time %v", first.Created)
	}

	// A token without read:users (the service with no role) is a misconfiguration.
	d, err := auth.NewDirectory(auth.DirectoryConfig{APIURL: hub.APIURL, Token: hub.ServiceAPIToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Account(ctx, name); !errors.Is(err, auth.ErrHubMisconfigured) {
		t.Errorf("token without read:users: err = %v, want ErrHubMisconfigured", err)
	}
}
