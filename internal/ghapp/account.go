package ghapp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/store"
)

// A GitHub link, and a device login, belong to the hub account that made
// them, not to its name: a hub user deleted and created again under the
// same name is another account, and starts unlinked. The account is told
// apart by the hub's "created" time of it, read with credserver's own
// service token through the Directory (Config.Directory) and stored with
// the link. Without a Directory, links are bound to the name only.

// account returns the hub's created time of user's account; the zero time
// without a Directory. A user the hub no longer knows is ErrNotLinked.
// Hub trouble is returned as the auth sentinel it is (503/502).
func (a *App) account(ctx context.Context, user string) (time.Time, error) {
	if a.dir == nil {
		return time.Time{}, nil
	}
	acct, err := a.dir.Account(ctx, user)
	if errors.Is(err, auth.ErrNoSuchUser) {
		return time.Time{}, fmt.Errorf("%w: the hub has no account of this name any more", ErrNotLinked)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("ghapp: looking up the hub account: %w", err)
	}
	return acct.Created, nil
}

// owns reports whether a record stamped with the account boundTo (zero for
// records from before the store kept it) and created at made belongs to the
// account created at acct (zero: no Directory, nothing to compare).
//
// A record without a stamp belongs to the account if the account already
// existed when the record was made: hub names are unique at any one time.
func owns(acct, boundTo, made time.Time) bool {
	switch {
	case acct.IsZero():
		return true
	case boundTo.IsZero():
		return !acct.After(made)
	}
	return boundTo.Equal(acct)
}

// checkLink returns l if it belongs to the account acct, binding an
// unstamped link to it on the way. A link of another account is deleted
// (with any rescued copy) and reported as ErrNotLinked.
func (a *App) checkLink(ctx context.Context, user string, l *store.GitHubLink, acct time.Time) (*store.GitHubLink, error) {
	if !owns(acct, l.AccountCreated, l.Created) {
		a.dropStale(ctx, user, l)
		return nil, fmt.Errorf("%w: the stored GitHub authorization belongs to an earlier hub account of this name", ErrNotLinked)
	}
	if acct.IsZero() || !l.AccountCreated.IsZero() {
		return l, nil
	}
	bound, err := a.store.UpdateGitHubLink(ctx, a.name, user, func(cur *store.GitHubLink) (*store.GitHubLink, error) {
		if cur.Generation != l.Generation || !cur.AccountCreated.IsZero() {
			return nil, nil
		}
		cur.AccountCreated = acct
		return cur, nil
	})
	if err != nil {
		// It stays unstamped and is checked the same way next time.
		a.log.Warn("could not bind the github link to its hub account", "user", user, "error", err.Error())
		return l, nil
	}
	return bound, nil
}

// dropStale deletes the link of an earlier account of user's name. A new
// login of the current account stored between the read and the delete is
// lost too; the user then logs in again.
func (a *App) dropStale(ctx context.Context, user string, l *store.GitHubLink) {
	a.rescue.drop(user)
	if _, err := a.store.DeleteGitHubLink(ctx, a.name, user); err != nil && !errors.Is(err, store.ErrNotFound) {
		a.log.Warn("could not delete the github link of an earlier hub account", "user", user, "error", err.Error())
		return
	}
	a.log.Info("deleted the github link of an earlier hub account of the same name", "user", user, "login", l.Login)
}
