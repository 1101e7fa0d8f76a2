package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The column lists (linkColumns, loginColumns) are the SQLite store's: the
// two schemas have the same columns.

// scanLink reads one github_links row (linkColumns) and opens its tokens.
func (s *Postgres) scanLink(row pgx.Row, provider, user string) (*GitHubLink, error) {
	l := &GitHubLink{Provider: provider, User: user}
	var at, rt []byte
	var atExp, rtExp, created, updated sql.NullInt64
	err := row.Scan(&l.Login, &l.GitHubID, &at, &atExp, &rt, &rtExp, &l.Generation, &created, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: reading github link: %w", err)
	}
	pt, err := s.seal.Open(at, linkContext("access_token", provider, user)...)
	if err != nil {
		return nil, fmt.Errorf("store: github link access token: %w", err)
	}
	l.AccessToken = string(pt)
	if rt != nil {
		pt, err := s.seal.Open(rt, linkContext("refresh_token", provider, user)...)
		if err != nil {
			return nil, fmt.Errorf("store: github link refresh token: %w", err)
		}
		l.RefreshToken = string(pt)
	}
	l.AccessExpires, l.RefreshExpires = fromMS(atExp), fromMS(rtExp)
	l.Created, l.Updated = fromMS(created), fromMS(updated)
	return l, nil
}

// linkArgs rounds l's times to what is stored and returns its columns in
// the order of linkColumns, tokens sealed for l's own row.
func (s *Postgres) linkArgs(l *GitHubLink) []any {
	l.AccessExpires, l.RefreshExpires = toMS(l.AccessExpires), toMS(l.RefreshExpires)
	l.Created, l.Updated = toMS(l.Created), toMS(l.Updated)
	at := s.seal.Seal([]byte(l.AccessToken), linkContext("access_token", l.Provider, l.User)...)
	var rt []byte
	if l.RefreshToken != "" {
		rt = s.seal.Seal([]byte(l.RefreshToken), linkContext("refresh_token", l.Provider, l.User)...)
	}
	return []any{l.Login, l.GitHubID, at, msOrNil(l.AccessExpires), rt, msOrNil(l.RefreshExpires),
		l.Generation, l.Created.UnixMilli(), l.Updated.UnixMilli()}
}

// GitHubLink implements [Store].
func (s *Postgres) GitHubLink(ctx context.Context, provider, user string) (*GitHubLink, error) {
	return s.scanLink(s.pool.QueryRow(ctx, `SELECT `+linkColumns+` FROM github_links WHERE provider = $1 AND hub_user = $2`, provider, user), provider, user)
}

// PutGitHubLink implements [Store]. It is one statement: two replicas
// storing a new login for the same user at once both count in the
// generation. A row that no longer decrypts is replaced like any other.
func (s *Postgres) PutGitHubLink(ctx context.Context, l *GitHubLink) error {
	if l.Provider == "" || l.User == "" || l.AccessToken == "" {
		return errors.New("store: a github link needs provider, user and access token")
	}
	next := *l
	now := s.now().UTC()
	next.Created, next.Updated, next.Generation = now, now, 1
	args := append([]any{next.Provider, next.User}, s.linkArgs(&next)...)
	_, err := s.pool.Exec(ctx, `INSERT INTO github_links (provider, hub_user, `+linkColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (provider, hub_user) DO UPDATE SET
			github_login = excluded.github_login, github_id = excluded.github_id,
			access_token = excluded.access_token, access_expires_ms = excluded.access_expires_ms,
			refresh_token = excluded.refresh_token, refresh_expires_ms = excluded.refresh_expires_ms,
			generation = github_links.generation + 1, created_ms = excluded.created_ms, updated_ms = excluded.updated_ms`,
		args...)
	if err != nil {
		return fmt.Errorf("store: writing github link: %w", err)
	}
	return nil
}

// UpdateGitHubLink implements [Store]. The row stays locked (FOR UPDATE)
// from the read until the commit.
func (s *Postgres) UpdateGitHubLink(ctx context.Context, provider, user string, fn func(*GitHubLink) (*GitHubLink, error)) (*GitHubLink, error) {
	var out *GitHubLink
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := s.scanLink(tx.QueryRow(ctx, `SELECT `+linkColumns+` FROM github_links
			WHERE provider = $1 AND hub_user = $2 FOR UPDATE`, provider, user), provider, user)
		if err != nil {
			return err
		}
		arg := *cur
		next, err := fn(&arg)
		if err != nil || next == nil {
			out = cur
			return err
		}
		n := *next
		n.Provider, n.User = provider, user
		n.Generation, n.Created, n.Updated = cur.Generation+1, cur.Created, s.now().UTC()
		args := append(s.linkArgs(&n), provider, user)
		if _, err := tx.Exec(ctx, `UPDATE github_links SET
			github_login = $1, github_id = $2, access_token = $3, access_expires_ms = $4, refresh_token = $5,
			refresh_expires_ms = $6, generation = $7, created_ms = $8, updated_ms = $9
			WHERE provider = $10 AND hub_user = $11`, args...); err != nil {
			return fmt.Errorf("store: writing github link: %w", err)
		}
		out = &n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteGitHubLink implements [Store]. A row that no longer decrypts is
// deleted all the same, and reported as ErrNotFound.
func (s *Postgres) DeleteGitHubLink(ctx context.Context, provider, user string) (*GitHubLink, error) {
	l, err := s.scanLink(s.pool.QueryRow(ctx, `DELETE FROM github_links WHERE provider = $1 AND hub_user = $2
		RETURNING `+linkColumns, provider, user), provider, user)
	if errors.Is(err, ErrTampered) || errors.Is(err, ErrWrongKey) {
		return nil, ErrNotFound
	}
	return l, err
}

// CreateDeviceLogin implements [Store].
func (s *Postgres) CreateDeviceLogin(ctx context.Context, l *DeviceLogin) error {
	if l.ID == "" || l.Provider == "" || l.User == "" || l.DeviceCode == "" {
		return errors.New("store: a device login needs id, provider, user and device code")
	}
	dc := s.seal.Seal([]byte(l.DeviceCode), loginContext(l.ID, l.Provider, l.User)...)
	_, err := s.pool.Exec(ctx, `INSERT INTO github_device_logins (id, `+loginColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		l.ID, l.Provider, l.User, dc, l.UserCode, l.VerificationURI, l.Interval.Milliseconds(),
		l.ExpiresAt.UnixMilli(), l.NextPollAt.UnixMilli(), l.Status, l.Login, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("store: creating device login: %w", err)
	}
	return nil
}

// DeviceLogin implements [Store].
func (s *Postgres) DeviceLogin(ctx context.Context, id string) (*DeviceLogin, error) {
	return s.scanLogin(s.pool.QueryRow(ctx, `SELECT `+loginColumns+` FROM github_device_logins WHERE id = $1`, id), id)
}

func (s *Postgres) scanLogin(row pgx.Row, id string) (*DeviceLogin, error) {
	l := &DeviceLogin{ID: id}
	var dc []byte
	var interval, expires, next, created sql.NullInt64
	err := row.Scan(&l.Provider, &l.User, &dc, &l.UserCode, &l.VerificationURI, &interval, &expires, &next, &l.Status, &l.Login, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: reading device login: %w", err)
	}
	pt, err := s.seal.Open(dc, loginContext(id, l.Provider, l.User)...)
	if err != nil {
		return nil, fmt.Errorf("store: device login: %w", err)
	}
	l.DeviceCode = string(pt)
	l.Interval = time.Duration(interval.Int64) * time.Millisecond
	l.ExpiresAt, l.NextPollAt, l.Created = fromMS(expires), fromMS(next), fromMS(created)
	return l, nil
}

// UpdateDeviceLogin implements [Store]. The device code, provider and user
// of a login never change; only its progress does.
func (s *Postgres) UpdateDeviceLogin(ctx context.Context, id string, fn func(*DeviceLogin) (*DeviceLogin, error)) (*DeviceLogin, error) {
	var out *DeviceLogin
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := s.scanLogin(tx.QueryRow(ctx, `SELECT `+loginColumns+` FROM github_device_logins WHERE id = $1 FOR UPDATE`, id), id)
		if err != nil {
			return err
		}
		arg := *cur
		next, err := fn(&arg)
		if err != nil || next == nil {
			out = cur
			return err
		}
		n := *cur
		n.Interval, n.Status, n.Login = next.Interval.Truncate(time.Millisecond), next.Status, next.Login
		n.ExpiresAt, n.NextPollAt = toMS(next.ExpiresAt), toMS(next.NextPollAt)
		if _, err := tx.Exec(ctx, `UPDATE github_device_logins
			SET interval_ms = $1, expires_ms = $2, next_poll_ms = $3, status = $4, github_login = $5 WHERE id = $6`,
			n.Interval.Milliseconds(), n.ExpiresAt.UnixMilli(), n.NextPollAt.UnixMilli(), n.Status, n.Login, id); err != nil {
			return fmt.Errorf("store: updating device login: %w", err)
		}
		out = &n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteDeviceLoginsBefore implements [Store].
func (s *Postgres) DeleteDeviceLoginsBefore(ctx context.Context, t time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM github_device_logins WHERE expires_ms < $1`, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: deleting old device logins: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
