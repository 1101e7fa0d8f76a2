package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The row codec both drivers share: which columns hold what, how tokens are
// sealed for their own row, and how a scanned row becomes a value. Only the
// SQL around it differs between SQLite and PostgreSQL.

// Sealing contexts: the table, the column, and the row's owner, so a value
// cannot be moved to another row or column.
func linkContext(column, provider, user string) []string {
	return []string{"github_links", column, provider, user}
}

func loginContext(id, provider, user string) []string {
	return []string{"github_device_logins", "device_code", id, provider, user}
}

const linkColumns = `github_login, github_id, access_token, access_expires_ms, refresh_token,
	refresh_expires_ms, generation, created_ms, updated_ms, account_created_us`

const loginColumns = `provider, hub_user, device_code, user_code, verification_uri, interval_ms,
	expires_ms, next_poll_ms, status, github_login, created_ms, account_created_us`

// Migration 2 (both drivers): links and device logins remember the hub
// account they belong to (account_created_us), and a user has at most one
// pending device login per provider. Pending logins beyond the newest of
// each user are ended first, so that the unique index can be built.
const endDuplicatePendingLogins = `UPDATE github_device_logins SET status = 'expired'
	WHERE status = 'pending' AND EXISTS (
		SELECT 1 FROM github_device_logins n
		WHERE n.provider = github_device_logins.provider AND n.hub_user = github_device_logins.hub_user
			AND n.status = 'pending' AND (n.created_ms > github_device_logins.created_ms
				OR (n.created_ms = github_device_logins.created_ms AND n.id > github_device_logins.id)))`

// onePendingIndex makes a second pending login of one user and provider
// fail to insert (ErrPendingLogin), also between replicas.
const onePendingIndex = "github_device_logins_one_pending"

const createOnePendingIndex = `CREATE UNIQUE INDEX ` + onePendingIndex +
	` ON github_device_logins (provider, hub_user) WHERE status = 'pending'`

// rowScanner is what *sql.Row and pgx.Row both offer.
type rowScanner interface {
	Scan(dest ...any) error
}

// scanLink reads one row of linkColumns and opens its tokens. noRows is the
// driver's "no such row" error, reported as ErrNotFound.
func scanLink(seal *Sealer, row rowScanner, noRows error, provider, user string) (*GitHubLink, error) {
	l := &GitHubLink{Provider: provider, User: user}
	var at, rt []byte
	var atExp, rtExp, created, updated, account sql.NullInt64
	err := row.Scan(&l.Login, &l.GitHubID, &at, &atExp, &rt, &rtExp, &l.Generation, &created, &updated, &account)
	if errors.Is(err, noRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: reading github link: %w", err)
	}
	pt, err := seal.Open(at, linkContext("access_token", provider, user)...)
	if err != nil {
		return nil, fmt.Errorf("store: github link access token: %w", err)
	}
	l.AccessToken = string(pt)
	if rt != nil {
		pt, err := seal.Open(rt, linkContext("refresh_token", provider, user)...)
		if err != nil {
			return nil, fmt.Errorf("store: github link refresh token: %w", err)
		}
		l.RefreshToken = string(pt)
	}
	l.AccessExpires, l.RefreshExpires = fromMS(atExp), fromMS(rtExp)
	l.Created, l.Updated = fromMS(created), fromMS(updated)
	l.AccountCreated = fromUS(account)
	return l, nil
}

// linkArgs rounds l's times to what is stored and returns its columns in
// the order of linkColumns, tokens sealed for l's own row.
func linkArgs(seal *Sealer, l *GitHubLink) []any {
	l.AccessExpires, l.RefreshExpires = toMS(l.AccessExpires), toMS(l.RefreshExpires)
	l.Created, l.Updated = toMS(l.Created), toMS(l.Updated)
	l.AccountCreated = toUS(l.AccountCreated)
	at := seal.Seal([]byte(l.AccessToken), linkContext("access_token", l.Provider, l.User)...)
	var rt []byte
	if l.RefreshToken != "" {
		rt = seal.Seal([]byte(l.RefreshToken), linkContext("refresh_token", l.Provider, l.User)...)
	}
	return []any{l.Login, l.GitHubID, at, msOrNil(l.AccessExpires), rt, msOrNil(l.RefreshExpires),
		l.Generation, l.Created.UnixMilli(), l.Updated.UnixMilli(), usOrNil(l.AccountCreated)}
}

// scanLogin reads one row of loginColumns and opens its device code.
func scanLogin(seal *Sealer, row rowScanner, noRows error, id string) (*DeviceLogin, error) {
	l := &DeviceLogin{ID: id}
	var dc []byte
	var interval, expires, next, created, account sql.NullInt64
	err := row.Scan(&l.Provider, &l.User, &dc, &l.UserCode, &l.VerificationURI, &interval, &expires, &next, &l.Status, &l.Login, &created, &account)
	if errors.Is(err, noRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: reading device login: %w", err)
	}
	pt, err := seal.Open(dc, loginContext(id, l.Provider, l.User)...)
	if err != nil {
		return nil, fmt.Errorf("store: device login: %w", err)
	}
	l.DeviceCode = string(pt)
	l.Interval = time.Duration(interval.Int64) * time.Millisecond
	l.ExpiresAt, l.NextPollAt, l.Created = fromMS(expires), fromMS(next), fromMS(created)
	l.AccountCreated = fromUS(account)
	return l, nil
}

// nextLink applies an Update callback to the current link: fn gets a copy;
// nil or an error keeps cur (ok false). The result keeps cur's owner and
// creation time, and bumps the generation so a caller holding the old one
// sees the change.
func nextLink(cur *GitHubLink, fn func(*GitHubLink) (*GitHubLink, error), now time.Time) (n GitHubLink, ok bool, err error) {
	arg := *cur
	next, err := fn(&arg)
	if err != nil || next == nil {
		return GitHubLink{}, false, err
	}
	n = *next
	n.Provider, n.User = cur.Provider, cur.User
	n.Generation, n.Created, n.Updated = cur.Generation+1, cur.Created, now.UTC()
	return n, true, nil
}

// nextLogin applies an Update callback to a device login: only its
// progress (interval, expiry, next poll, status, login) may change, at the
// precision stored.
func nextLogin(cur *DeviceLogin, fn func(*DeviceLogin) (*DeviceLogin, error)) (n DeviceLogin, ok bool, err error) {
	arg := *cur
	next, err := fn(&arg)
	if err != nil || next == nil {
		return DeviceLogin{}, false, err
	}
	n = *cur
	n.Interval, n.Status, n.Login = next.Interval.Truncate(time.Millisecond), next.Status, next.Login
	n.ExpiresAt, n.NextPollAt = toMS(next.ExpiresAt), toMS(next.NextPollAt)
	return n, true, nil
}
