package ghapp_test

import (
	"context"
	"errors"
	"testing"

	"github.com/credserver/credserver/internal/ghapp"
)

func TestUnlink(t *testing.T) {
	tests := []struct {
		name        string
		secret      bool
		wantRevoked bool
	}{
		{"with client secret", true, true},
		{"without client secret", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.secret {
				e.app = e.newApp(e.store, withSecret(e))
				e.links = ghapp.NewLinks(e.store, e.app)
			}
			ctx := context.Background()
			if res, err := e.links.Unlink(ctx, "github", "alice"); err != nil || res.WasLinked {
				t.Fatalf("unlink before any link: %+v, %v", res, err)
			}
			e.link("alice", "octocat")
			b, err := e.issue(userRequest("alice"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.links.Unlink(ctx, "github", "alice")
			if err != nil {
				t.Fatal(err)
			}
			if !res.WasLinked || res.Revoked != tt.wantRevoked {
				t.Errorf("Unlink = %+v, want was linked, revoked %v", res, tt.wantRevoked)
			}
			if _, err := e.fake.Check(b.Token); (err == nil) == tt.wantRevoked {
				t.Errorf("token still valid at GitHub: %v (revoked %v)", err == nil, tt.wantRevoked)
			}
			if _, err := e.issue(userRequest("alice")); !errors.Is(err, ghapp.ErrNotLinked) {
				t.Errorf("Issue after unlink: %v, want ErrNotLinked", err)
			}
			if info, _ := e.links.Link(ctx, "github", "alice"); info.Linked {
				t.Error("still linked after unlink")
			}
		})
	}
}
