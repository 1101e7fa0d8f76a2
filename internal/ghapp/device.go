package ghapp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/credserver/credserver/internal/store"
)

// Device-flow timing.
const (
	// defaultInterval is RFC 8628's when GitHub names none.
	defaultInterval = 5 * time.Second
	// slowDownStep is what GitHub asks to add on slow_down.
	slowDownStep = 5 * time.Second
	// keepEnded is how long an ended login stays readable, so a client
	// polling late still learns how it ended.
	keepEnded = time.Hour
	// flowTimeout bounds a poll's GitHub calls and store writes, which run
	// detached from the request: once GitHub hands out tokens for a device
	// code, nothing but this may stop them being stored.
	flowTimeout = 30 * time.Second
)

// Login is a device flow just started: what the user must do.
type Login struct {
	// ID names the login for PollLogin; unguessable.
	ID string
	// UserCode is what the user types at VerificationURI.
	UserCode        string
	VerificationURI string
	// ExpiresAt is when the code stops working.
	ExpiresAt time.Time
	// Interval is how often the client should poll.
	Interval time.Duration
	// AppURL is where the user installs the App on repositories; "" when
	// not configured.
	AppURL string
}

// LoginStatus is how a device login stands.
type LoginStatus struct {
	// Provider is the github provider the login is for.
	Provider string
	// Status is pending, complete, expired or denied.
	Status string
	// Login is the GitHub login once Status is complete ("" if GitHub did
	// not say).
	Login string
	// Interval is how long the client should wait before asking again.
	Interval time.Duration
}

// minReuseLife is the least life a pending device login must have left to
// be handed out again instead of starting a new one.
const minReuseLife = time.Minute

// StartLogin starts a device flow at GitHub for the hub user, or returns
// the user's pending one: a user has at most one pending device login per
// provider, so repeated or concurrent starts cost one device code at
// GitHub. Concurrent starts of one user share one attempt; a caller whose
// ctx ends stops waiting, the attempt carries on for the others.
func (a *App) StartLogin(ctx context.Context, user string) (Login, error) {
	if err := a.canUserMode(); err != nil {
		return Login{}, err
	}
	acct, err := a.account(ctx, user)
	if err != nil {
		return Login{}, err
	}
	ch := a.starts.DoChan(user, func() (any, error) {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flowTimeout)
		defer cancel()
		return a.startLogin(sctx, user, acct)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return Login{}, res.Err
		}
		return res.Val.(Login), nil
	case <-ctx.Done():
		return Login{}, ctx.Err()
	}
}

func (a *App) startLogin(ctx context.Context, user string, acct time.Time) (Login, error) {
	now := a.now()
	if _, err := a.store.DeleteDeviceLoginsBefore(ctx, now.Add(-keepEnded)); err != nil {
		a.log.Warn("could not delete old device logins", "error", err.Error())
	}
	// Twice at most: when another replica stores its login between our
	// look and our insert, the second look finds that one.
	for range 2 {
		p, err := a.store.PendingDeviceLogin(ctx, a.name, user)
		switch {
		case err == nil && owns(acct, p.AccountCreated, p.Created) && p.ExpiresAt.Sub(now) >= minReuseLife:
			return a.loginOf(p), nil
		case err == nil:
			// Nearly expired, or an earlier account's: end it to make room.
			if _, err := a.endLogin(ctx, p.ID, store.LoginExpired, ""); err != nil {
				return Login{}, err
			}
		case !errors.Is(err, store.ErrNotFound):
			return Login{}, fmt.Errorf("ghapp: reading the pending device login: %w", err)
		}
		if err := a.calls.allow(user); err != nil {
			return Login{}, err
		}
		r, err := a.requestDeviceCode(ctx)
		if err != nil {
			return Login{}, err
		}
		interval := time.Duration(r.Interval) * time.Second
		if interval <= 0 {
			interval = defaultInterval
		}
		life := time.Duration(r.ExpiresIn) * time.Second
		if life <= 0 {
			life = 15 * time.Minute
		}
		l := &store.DeviceLogin{
			ID: newLoginID(), Provider: a.name, User: user, DeviceCode: r.DeviceCode,
			UserCode: r.UserCode, VerificationURI: r.VerificationURI, Interval: interval,
			ExpiresAt: now.Add(life), NextPollAt: now.Add(interval), Status: store.LoginPending,
			AccountCreated: acct,
		}
		err = a.store.CreateDeviceLogin(ctx, l)
		if errors.Is(err, store.ErrPendingLogin) {
			continue
		}
		if err != nil {
			return Login{}, fmt.Errorf("ghapp: storing the device login: %w", err)
		}
		a.log.Info("github device login started", "user", user)
		return a.loginOf(l), nil
	}
	return Login{}, errors.New("ghapp: device logins of this user keep changing; try again")
}

func (a *App) loginOf(l *store.DeviceLogin) Login {
	return Login{ID: l.ID, UserCode: l.UserCode, VerificationURI: l.VerificationURI, ExpiresAt: l.ExpiresAt, Interval: l.Interval, AppURL: a.appURL}
}

func newLoginID() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic("ghapp: crypto/rand: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func statusOf(l *store.DeviceLogin) LoginStatus {
	return LoginStatus{Provider: l.Provider, Status: l.Status, Login: l.Login, Interval: l.Interval}
}

// errNotDue means another poll claimed this turn.
var errNotDue = errors.New("not due")

// poll advances l: it asks GitHub at most once per interval (whoever asks
// first claims the turn in the store, so several replicas or impatient
// clients never make GitHub answer slow_down), and stores the link when
// the user has approved.
func (a *App) poll(ctx context.Context, l *store.DeviceLogin) (LoginStatus, error) {
	now := a.now()
	switch l.Status {
	case store.LoginFailed:
		// Not a status of the public API: the poll that failed returned
		// GitHub's reason; later ones repeat that the flow is over.
		return LoginStatus{}, upstreamErr(0, "login_failed", "this GitHub login failed at GitHub; start a new one with 'credctl github login'", nil)
	case store.LoginPending:
	default:
		return statusOf(l), nil
	}
	if !now.Before(l.ExpiresAt) {
		return a.endLogin(ctx, l.ID, store.LoginExpired, "")
	}
	if now.Before(l.NextPollAt) {
		return statusOf(l), nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flowTimeout)
	defer cancel()
	claimed, err := a.store.UpdateDeviceLogin(ctx, l.ID, func(cur *store.DeviceLogin) (*store.DeviceLogin, error) {
		if cur.Status != store.LoginPending || now.Before(cur.NextPollAt) {
			return nil, errNotDue
		}
		cur.NextPollAt = now.Add(cur.Interval)
		return cur, nil
	})
	if errors.Is(err, errNotDue) {
		cur, err := a.store.DeviceLogin(ctx, l.ID)
		if err != nil {
			return LoginStatus{}, fmt.Errorf("ghapp: reading a device login: %w", err)
		}
		return statusOf(cur), nil
	}
	if err != nil {
		return LoginStatus{}, fmt.Errorf("ghapp: claiming a device poll: %w", err)
	}
	if err := a.calls.allow(l.User); err != nil {
		return LoginStatus{}, err // the turn is spent: the next one is an interval away
	}
	r, err := a.pollDeviceToken(ctx, claimed.DeviceCode)
	var oe *oauthError
	switch {
	case errors.As(err, &oe) && oe.Code == codePending:
		return statusOf(claimed), nil
	case errors.As(err, &oe) && oe.Code == codeSlowDown:
		return a.slowDown(ctx, claimed, time.Duration(oe.Interval)*time.Second)
	case errors.As(err, &oe) && oe.Code == codeExpired:
		return a.endLogin(ctx, l.ID, store.LoginExpired, "")
	case errors.As(err, &oe) && oe.Code == codeDenied:
		return a.endLogin(ctx, l.ID, store.LoginDenied, "")
	case errors.As(err, &oe):
		// device_flow_disabled, incorrect_client_credentials, ...: the
		// flow cannot succeed; say why this once, then report "failed".
		a.log.Warn("github device login failed", "user", l.User, "code", oe.Code)
		if _, serr := a.endLogin(ctx, l.ID, store.LoginFailed, ""); serr != nil {
			return LoginStatus{}, serr
		}
		return LoginStatus{}, asUpstream(err)
	case err != nil:
		return LoginStatus{}, err
	}
	login, err := a.link(ctx, l.User, l.AccountCreated, r)
	if err != nil {
		return LoginStatus{}, err
	}
	return a.endLogin(ctx, l.ID, store.LoginComplete, login)
}

// slowDown widens the interval by GitHub's step, or to what GitHub named
// if that is more.
func (a *App) slowDown(ctx context.Context, l *store.DeviceLogin, named time.Duration) (LoginStatus, error) {
	now := a.now()
	got, err := a.store.UpdateDeviceLogin(ctx, l.ID, func(cur *store.DeviceLogin) (*store.DeviceLogin, error) {
		cur.Interval = max(cur.Interval+slowDownStep, named)
		cur.NextPollAt = now.Add(cur.Interval)
		return cur, nil
	})
	if err != nil {
		return LoginStatus{}, fmt.Errorf("ghapp: storing slow_down: %w", err)
	}
	return statusOf(got), nil
}

func (a *App) endLogin(ctx context.Context, id, status, login string) (LoginStatus, error) {
	got, err := a.store.UpdateDeviceLogin(ctx, id, func(cur *store.DeviceLogin) (*store.DeviceLogin, error) {
		if cur.Status != store.LoginPending {
			return nil, nil // another poll ended it first
		}
		cur.Status, cur.Login = status, login
		return cur, nil
	})
	if err != nil {
		return LoginStatus{}, fmt.Errorf("ghapp: ending a device login: %w", err)
	}
	return statusOf(got), nil
}

// link stores the tokens of an approved device flow as the user's link,
// replacing any earlier one, bound to the account (acct) that started the
// flow, and returns the GitHub login.
func (a *App) link(ctx context.Context, user string, acct time.Time, r *oauthResponse) (string, error) {
	now := a.now()
	l := &store.GitHubLink{
		Provider: a.name, User: user, AccountCreated: acct,
		AccessToken: r.AccessToken, AccessExpires: secondsFrom(now, r.ExpiresIn),
		RefreshToken: r.RefreshToken, RefreshExpires: secondsFrom(now, r.RefreshTokenExpiresIn),
	}
	if l.RefreshToken == "" {
		l.RefreshExpires = time.Time{}
	}
	login, id, err := a.githubUser(ctx, r.AccessToken)
	if err != nil {
		// The tokens work without it; whoami just cannot name the account.
		a.log.Warn("github login: GET /user failed; linking without the account name", "user", user, "error", err.Error())
	}
	l.Login, l.GitHubID = login, id
	if err := a.store.PutGitHubLink(ctx, l); err != nil {
		return "", fmt.Errorf("ghapp: storing the github link: %w", err)
	}
	a.rescue.drop(user)
	a.log.LogAttrs(ctx, slog.LevelInfo, "github account linked", slog.String("user", user), slog.String("login", login),
		slog.Bool("expiring", !l.AccessExpires.IsZero()))
	return login, nil
}
