package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/ghapp"
	"github.com/credserver/credserver/internal/policy"
)

// accountKey binds a cached credential to the caller's hub account rather
// than to its name: for a GitHub grant with mode user, it is the hub's
// created time of the account (auth.Account.Created, unix microseconds), so
// a deleted and re-created user of the same name never gets the earlier
// account's cached token. "" for other grants (their credentials depend
// on the name alone) and without a Directory (hub.api_token_file unset).
// The cache key is the vend key with this appended: it begins with the
// user and the grant all the same, so Cache.Forget still finds it.
func (s *Server) accountKey(ctx context.Context, id auth.Identity, d policy.Decision) (string, error) {
	if s.directory == nil || d.GitHub == nil || d.GitHub.Mode != "user" {
		return "", nil
	}
	a, err := s.directory.Account(ctx, id.Name)
	if errors.Is(err, auth.ErrNoSuchUser) {
		return "", fmt.Errorf("%w: the hub has no account of this name any more", ghapp.ErrNotLinked)
	}
	if err != nil {
		return "", err
	}
	return "\x00account=" + strconv.FormatInt(a.Created.UnixMicro(), 10), nil
}
