package ghapp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/credserver/credserver/internal/store"
)

// LinkInfo is what whoami reports about a user's link.
type LinkInfo struct {
	// Provider is the github provider's name.
	Provider string
	// Linked says a token can be had without a new login.
	Linked bool
	// Login is the GitHub account, when known.
	Login string
	// ExpiresAt is when the link itself runs out (the refresh token's
	// expiry) and a new login is needed; zero when it does not expire.
	ExpiresAt time.Time
	// WebURL is the GitHub the link is for.
	WebURL string
}

// Unlinked reports what an unlink did.
type Unlinked struct {
	// WasLinked says there was a link to remove.
	WasLinked bool
	// Revoked says GitHub confirmed it revoked the authorization. It is
	// false without a client secret, or when GitHub could not be reached
	// (the stored tokens are gone all the same).
	Revoked bool
}

// Links serves the account-link endpoints (login, poll, unlink, status) for
// every github provider. Safe for concurrent use.
type Links struct {
	store store.Store
	apps  map[string]*App
}

// NewLinks returns the link service over the store the apps share.
func NewLinks(st store.Store, apps ...*App) *Links {
	l := &Links{store: st, apps: map[string]*App{}}
	for _, a := range apps {
		l.apps[a.name] = a
	}
	return l
}

func (l *Links) app(provider string) (*App, error) {
	a, ok := l.apps[provider]
	if !ok {
		return nil, fmt.Errorf("ghapp: no github provider %q with user grants", provider)
	}
	return a, nil
}

// StartLogin starts a device flow for user at provider.
func (l *Links) StartLogin(ctx context.Context, provider, user string) (Login, error) {
	a, err := l.app(provider)
	if err != nil {
		return Login{}, err
	}
	return a.StartLogin(ctx, user)
}

// PollLogin reports (and advances) the device login id of user. Another
// user's login id is ErrLoginNotFound, as is one that never existed.
func (l *Links) PollLogin(ctx context.Context, user, id string) (LoginStatus, error) {
	dl, err := l.store.DeviceLogin(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && dl.User != user) {
		return LoginStatus{}, ErrLoginNotFound
	}
	if err != nil {
		return LoginStatus{}, fmt.Errorf("ghapp: reading the device login: %w", err)
	}
	a, ok := l.apps[dl.Provider]
	if !ok {
		return LoginStatus{}, ErrLoginNotFound // its provider left the config
	}
	acct, err := a.account(ctx, user)
	if errors.Is(err, ErrNotLinked) || (err == nil && !owns(acct, dl.AccountCreated, dl.Created)) {
		return LoginStatus{}, ErrLoginNotFound // an earlier account's login
	}
	if err != nil {
		return LoginStatus{}, err
	}
	return a.poll(ctx, dl)
}

// Link reports user's link at provider.
func (l *Links) Link(ctx context.Context, provider, user string) (LinkInfo, error) {
	a, err := l.app(provider)
	if err != nil {
		return LinkInfo{}, err
	}
	info := LinkInfo{Provider: provider, WebURL: a.webURL}
	acct, err := a.account(ctx, user)
	if errors.Is(err, ErrNotLinked) {
		return info, nil
	}
	if err != nil {
		return LinkInfo{}, err
	}
	if r, ok := a.rescue.get(user); ok && owns(acct, r.AccountCreated, r.Created) {
		info.Linked, info.Login, info.ExpiresAt = a.linked(r), r.Login, r.RefreshExpires
		return info, nil
	}
	link, err := l.store.GitHubLink(ctx, provider, user)
	if err == nil {
		link, err = a.checkLink(ctx, user, link, acct)
	}
	switch {
	case errors.Is(err, ErrNotLinked), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrTampered), errors.Is(err, store.ErrWrongKey):
		return info, nil
	case err != nil:
		return LinkInfo{}, fmt.Errorf("ghapp: reading the github link: %w", err)
	}
	info.Linked, info.Login = a.linked(link), link.Login
	if info.Linked && link.RefreshToken != "" {
		info.ExpiresAt = link.RefreshExpires
	}
	return info, nil
}

// Unlink forgets user's authorization at provider and, when the App has a
// client secret, revokes it at GitHub. Unlinking a user with no link is
// not an error.
func (l *Links) Unlink(ctx context.Context, provider, user string) (Unlinked, error) {
	a, err := l.app(provider)
	if err != nil {
		return Unlinked{}, err
	}
	rescued, hadRescue := a.rescue.get(user)
	a.rescue.drop(user)
	link, err := l.store.DeleteGitHubLink(ctx, provider, user)
	switch {
	case errors.Is(err, store.ErrNotFound) && !hadRescue:
		return Unlinked{}, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return Unlinked{}, fmt.Errorf("ghapp: deleting the github link: %w", err)
	}
	if hadRescue {
		link = rescued // newer than the stored one
	}
	res := Unlinked{WasLinked: true}
	// The link is gone whatever GitHub says; revoking is a courtesy that
	// must not hang on the user's request.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
	defer cancel()
	if err = a.calls.allow(user); err == nil {
		res.Revoked, err = a.revokeGrant(rctx, link.AccessToken)
	}
	if err != nil {
		a.log.Warn("github link removed, but revoking it at GitHub failed", "user", user, "error", err.Error())
	}
	a.log.Info("github account unlinked", "user", user, "revoked", res.Revoked)
	return res, nil
}
