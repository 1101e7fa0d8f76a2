package ghapp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/credserver/credserver/internal/store"
)

// refreshTimeout bounds one whole refresh (lock, GitHub call, write). The
// store's busy timeout (30 s) exceeds the GitHub part (callTimeout), so a
// refresh holding the lock never starves another writer into failing.
const refreshTimeout = 25 * time.Second

// usable reports whether l's access token may be handed out now.
func (a *App) usable(l *store.GitHubLink) bool {
	return l.AccessExpires.IsZero() || l.AccessExpires.Sub(a.now()) >= a.refreshBefore
}

// refreshable reports whether l's refresh token may still be spent.
func (a *App) refreshable(l *store.GitHubLink) bool {
	return l.RefreshToken != "" && (l.RefreshExpires.IsZero() || a.now().Before(l.RefreshExpires))
}

// linked reports whether l can yield a token without a new login.
func (a *App) linked(l *store.GitHubLink) bool { return a.usable(l) || a.refreshable(l) }

// userToken returns user's link with an access token that has at least
// RefreshBefore left, refreshing it first when needed. Concurrent callers
// for one user share one refresh; a caller whose ctx ends stops waiting,
// but the refresh carries on for the others.
func (a *App) userToken(ctx context.Context, user string) (*store.GitHubLink, error) {
	if err := a.canUserMode(); err != nil {
		return nil, err
	}
	acct, err := a.account(ctx, user)
	if err != nil {
		return nil, err
	}
	if l, ok := a.rescue.get(user); ok && a.usable(l) && owns(acct, l.AccountCreated, l.Created) {
		a.rescue.persist(a, user)
		return l, nil
	}
	l, err := a.store.GitHubLink(ctx, a.name, user)
	if err == nil {
		l, err = a.checkLink(ctx, user, l, acct)
	}
	switch {
	case errors.Is(err, ErrNotLinked):
		return nil, err
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("%w: no GitHub authorization stored for this user", ErrNotLinked)
	case errors.Is(err, store.ErrTampered), errors.Is(err, store.ErrWrongKey):
		a.log.Error("stored github link does not decrypt; the user must log in again", "user", user, "error", err.Error())
		return nil, fmt.Errorf("%w: the stored GitHub authorization is unreadable", ErrNotLinked)
	case err != nil:
		return nil, fmt.Errorf("ghapp: reading the github link: %w", err)
	case a.usable(l):
		return l, nil
	case !a.refreshable(l):
		return nil, fmt.Errorf("%w: the GitHub authorization expired", ErrNotLinked)
	}
	ch := a.refreshes.DoChan(user, func() (any, error) {
		if err := a.calls.allow(user); err != nil {
			return nil, err
		}
		return a.refresh(user)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*store.GitHubLink), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// errRefreshDead marks a refresh token GitHub no longer accepts.
var errRefreshDead = errors.New("refresh token no longer accepted")

// refresh spends the stored refresh token inside a store transaction that
// holds the user's link, so no other refresh (in this process or another)
// can spend the same single-use token, and the rotated pair is written in
// that same transaction. If the write fails after GitHub rotated, the new
// pair is rescued: kept in memory, served, and written later.
func (a *App) refresh(user string) (*store.GitHubLink, error) {
	ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
	defer cancel()
	var rotated, rescued *store.GitHubLink
	var base int64
	stored, err := a.store.UpdateGitHubLink(ctx, a.name, user, func(cur *store.GitHubLink) (*store.GitHubLink, error) {
		base = cur.Generation
		// A rotation the store has not taken yet holds the live refresh
		// token; the stored one is spent. Refresh from it, over the row it
		// was meant to replace.
		if r, ok := a.rescue.over(user, cur.Generation); ok {
			next := *r
			next.Generation = cur.Generation
			cur, rescued = &next, r
		}
		if a.usable(cur) {
			return nil, nil // refreshed meanwhile, by another replica
		}
		if !a.refreshable(cur) {
			return nil, errRefreshDead
		}
		r, err := a.refreshUserToken(ctx, cur.RefreshToken)
		var oe *oauthError
		if errors.As(err, &oe) && oe.Code == codeBadRefresh {
			// Revoked at GitHub or expired early: forget the refresh
			// token, in this transaction, so nobody spends it again.
			a.log.Warn("github refused the stored refresh token; the user must log in again", "user", user)
			cur.RefreshToken, cur.RefreshExpires = "", time.Time{}
			return cur, nil
		}
		if err != nil {
			return nil, asUpstream(err)
		}
		now := a.now()
		next := *cur
		next.AccessToken, next.AccessExpires = r.AccessToken, secondsFrom(now, r.ExpiresIn)
		next.RefreshToken, next.RefreshExpires = r.RefreshToken, secondsFrom(now, r.RefreshTokenExpiresIn)
		if next.RefreshToken == "" {
			next.RefreshExpires = time.Time{}
		}
		rotated = &next
		return &next, nil
	})
	switch {
	case err != nil && rotated != nil:
		a.log.Error("github token refreshed but the store did not take it; keeping it in memory until it does", "user", user, "error", err.Error())
		a.rescue.put(a, user, rotated, base)
		return rotated, nil
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("%w: the GitHub authorization was removed", ErrNotLinked)
	case errors.Is(err, errRefreshDead):
		return nil, fmt.Errorf("%w: the GitHub authorization expired", ErrNotLinked)
	case err != nil:
		return nil, err
	case !a.usable(stored):
		return nil, fmt.Errorf("%w: GitHub no longer accepts the stored authorization", ErrNotLinked)
	}
	if rescued != nil {
		a.rescue.dropIf(user, rescued) // superseded by what was just stored
	}
	if rotated != nil {
		a.log.Info("github user token refreshed", "user", user)
	}
	return stored, nil
}

// rescuer keeps rotated links the store failed to take. A refresh token
// exists only here until written: losing it would log the user out.
type rescuer struct {
	mu    sync.Mutex
	links map[string]rescuedLink
}

type rescuedLink struct {
	link *store.GitHubLink
	// base is the generation the refresh started from: the link is
	// written only over that one, never over a newer login.
	base     int64
	retrying bool
}

func (r *rescuer) get(user string) (*store.GitHubLink, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.links[user]
	return e.link, ok
}

// over returns the rescued link of user when it was meant to replace the
// stored generation gen: then it, not the stored row, is current.
func (r *rescuer) over(user string, gen int64) (*store.GitHubLink, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.links[user]
	if !ok || e.base != gen {
		return nil, false
	}
	return e.link, true
}

// dropIf forgets user's rescued link if it is still l.
func (r *rescuer) dropIf(user string, l *store.GitHubLink) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.links[user]; ok && e.link == l {
		delete(r.links, user)
	}
}

func (r *rescuer) drop(user string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.links, user)
}

// put keeps l and starts a background writer that retries until the store
// takes it (or a newer login or an unlink makes it moot).
func (r *rescuer) put(a *App, user string, l *store.GitHubLink, base int64) {
	r.mu.Lock()
	r.links[user] = rescuedLink{link: l, base: base}
	r.mu.Unlock()
	r.persist(a, user)
}

// persist starts the background writer for user unless one runs.
func (r *rescuer) persist(a *App, user string) {
	r.mu.Lock()
	e, ok := r.links[user]
	if !ok || e.retrying {
		r.mu.Unlock()
		return
	}
	e.retrying = true
	r.links[user] = e
	r.mu.Unlock()
	go func() {
		for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
			if r.write(a, user, e) {
				return
			}
			time.Sleep(wait)
		}
	}()
}

// write tries once to store a rescued link; true when it is done with.
func (r *rescuer) write(a *App, user string, e rescuedLink) bool {
	ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
	defer cancel()
	_, err := a.store.UpdateGitHubLink(ctx, a.name, user, func(cur *store.GitHubLink) (*store.GitHubLink, error) {
		if cur.Generation != e.base {
			return nil, nil // a new login replaced it: ours is moot
		}
		return e.link, nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.log.Error("still cannot store the refreshed github token", "user", user, "error", err.Error())
		return false
	}
	r.mu.Lock()
	if cur, ok := r.links[user]; ok && cur.link == e.link {
		delete(r.links, user)
	}
	r.mu.Unlock()
	return true
}
