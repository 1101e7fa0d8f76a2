package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/ghapp"
	"github.com/credserver/credserver/internal/policy"
)

// accountCreated is what binds a cached credential to the caller's hub
// account rather than to its name (policy.Decision.Created, part of the
// cache key): for a GitHub grant with mode user, the hub's created time of
// the account, read through the Directory, so a deleted and re-created
// user of the same name never gets the earlier account's cached token.
// It keeps d.Created for other grants (their credentials depend on the
// name alone) and without a Directory (hub.api_token_file unset).
func (s *Server) accountCreated(ctx context.Context, id auth.Identity, d policy.Decision) (time.Time, error) {
	if s.directory == nil || d.GitHub == nil || d.GitHub.Mode != "user" {
		return d.Created, nil
	}
	a, err := s.directory.Account(ctx, id.Name)
	if errors.Is(err, auth.ErrNoSuchUser) {
		return time.Time{}, fmt.Errorf("%w: the hub has no account of this name any more", ghapp.ErrNotLinked)
	}
	if err != nil {
		return time.Time{}, err
	}
	return a.Created, nil
}
