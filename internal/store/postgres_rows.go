package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The column lists and the row codec are shared with the SQLite store
// (rows.go); only the SQL differs.
//
// Every method runs through withRetry: a connection-level failure is
// ErrUnavailable, and is retried once on a fresh connection when that is
// safe — reads always; writes only when the failure came before anything
// was sent, or (Updates) before the callback ran.

func (s *Postgres) scanLink(row pgx.Row, provider, user string) (*GitHubLink, error) {
	return scanLink(s.seal, row, pgx.ErrNoRows, provider, user)
}

func (s *Postgres) linkArgs(l *GitHubLink) []any { return linkArgs(s.seal, l) }

// GitHubLink implements [Store].
func (s *Postgres) GitHubLink(ctx context.Context, provider, user string) (*GitHubLink, error) {
	var l *GitHubLink
	err := s.withRetry(ctx, retryRead, func() (bool, error) {
		var err error
		l, err = s.scanLink(s.pool.QueryRow(ctx, `SELECT `+linkColumns+` FROM github_links WHERE provider = $1 AND hub_user = $2`, provider, user), provider, user)
		return false, err
	})
	return l, err
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
	return s.withRetry(ctx, retryBeforeSend, func() (bool, error) {
		_, err := s.pool.Exec(ctx, `INSERT INTO github_links (provider, hub_user, `+linkColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (provider, hub_user) DO UPDATE SET
			github_login = excluded.github_login, github_id = excluded.github_id,
			access_token = excluded.access_token, access_expires_ms = excluded.access_expires_ms,
			refresh_token = excluded.refresh_token, refresh_expires_ms = excluded.refresh_expires_ms,
			generation = github_links.generation + 1, created_ms = excluded.created_ms, updated_ms = excluded.updated_ms,
			account_created_us = excluded.account_created_us`,
			args...)
		if err != nil {
			return true, fmt.Errorf("store: writing github link: %w", err)
		}
		return true, nil
	})
}

// UpdateGitHubLink implements [Store]. The row stays locked (FOR UPDATE)
// from the read until the commit.
func (s *Postgres) UpdateGitHubLink(ctx context.Context, provider, user string, fn func(*GitHubLink) (*GitHubLink, error)) (*GitHubLink, error) {
	var out *GitHubLink
	err := s.withRetry(ctx, retryBeforeSend, func() (called bool, err error) {
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			cur, err := s.scanLink(tx.QueryRow(ctx, `SELECT `+linkColumns+` FROM github_links
			WHERE provider = $1 AND hub_user = $2 FOR UPDATE`, provider, user), provider, user)
			if err != nil {
				return err
			}
			called = true
			n, ok, err := nextLink(cur, fn, s.now())
			if !ok {
				out = cur
				if err != nil {
					return callbackError{err}
				}
				return nil
			}
			args := append(s.linkArgs(&n), provider, user)
			if _, err := tx.Exec(ctx, `UPDATE github_links SET
			github_login = $1, github_id = $2, access_token = $3, access_expires_ms = $4, refresh_token = $5,
			refresh_expires_ms = $6, generation = $7, created_ms = $8, updated_ms = $9, account_created_us = $10
			WHERE provider = $11 AND hub_user = $12`, args...); err != nil {
				return fmt.Errorf("store: writing github link: %w", err)
			}
			out = &n
			return nil
		})
		return called, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteGitHubLink implements [Store]. A row that no longer decrypts is
// deleted all the same, and reported as ErrNotFound.
func (s *Postgres) DeleteGitHubLink(ctx context.Context, provider, user string) (*GitHubLink, error) {
	var l *GitHubLink
	err := s.withRetry(ctx, retryBeforeSend, func() (bool, error) {
		var err error
		l, err = s.scanLink(s.pool.QueryRow(ctx, `DELETE FROM github_links WHERE provider = $1 AND hub_user = $2
		RETURNING `+linkColumns, provider, user), provider, user)
		return true, err
	})
	if errors.Is(err, ErrTampered) || errors.Is(err, ErrWrongKey) {
		return nil, ErrNotFound
	}
	return l, err
}

// CreateDeviceLogin implements [Store]. A second pending login of one
// user and provider breaks a unique index: ErrPendingLogin.
func (s *Postgres) CreateDeviceLogin(ctx context.Context, l *DeviceLogin) error {
	if l.ID == "" || l.Provider == "" || l.User == "" || l.DeviceCode == "" {
		return errors.New("store: a device login needs id, provider, user and device code")
	}
	dc := s.seal.Seal([]byte(l.DeviceCode), loginContext(l.ID, l.Provider, l.User)...)
	err := s.withRetry(ctx, retryBeforeSend, func() (bool, error) {
		_, err := s.pool.Exec(ctx, `INSERT INTO github_device_logins (id, `+loginColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			l.ID, l.Provider, l.User, dc, l.UserCode, l.VerificationURI, l.Interval.Milliseconds(),
			l.ExpiresAt.UnixMilli(), l.NextPollAt.UnixMilli(), l.Status, l.Login, s.now().UnixMilli(), usOrNil(l.AccountCreated))
		return true, err
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == onePendingIndex {
		return ErrPendingLogin
	}
	if err != nil {
		return fmt.Errorf("store: creating device login: %w", err)
	}
	return nil
}

// DeviceLogin implements [Store].
func (s *Postgres) DeviceLogin(ctx context.Context, id string) (*DeviceLogin, error) {
	var l *DeviceLogin
	err := s.withRetry(ctx, retryRead, func() (bool, error) {
		var err error
		l, err = s.scanLogin(s.pool.QueryRow(ctx, `SELECT `+loginColumns+` FROM github_device_logins WHERE id = $1`, id), id)
		return false, err
	})
	return l, err
}

// PendingDeviceLogin implements [Store].
func (s *Postgres) PendingDeviceLogin(ctx context.Context, provider, user string) (*DeviceLogin, error) {
	var id string
	err := s.withRetry(ctx, retryRead, func() (bool, error) {
		err := s.pool.QueryRow(ctx, `SELECT id FROM github_device_logins
			WHERE provider = $1 AND hub_user = $2 AND status = 'pending'`, provider, user).Scan(&id)
		return false, err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: reading pending device login: %w", err)
	}
	return s.DeviceLogin(ctx, id)
}

func (s *Postgres) scanLogin(row pgx.Row, id string) (*DeviceLogin, error) {
	return scanLogin(s.seal, row, pgx.ErrNoRows, id)
}

// UpdateDeviceLogin implements [Store]. The device code, provider, user
// and account of a login never change; only its progress does.
func (s *Postgres) UpdateDeviceLogin(ctx context.Context, id string, fn func(*DeviceLogin) (*DeviceLogin, error)) (*DeviceLogin, error) {
	var out *DeviceLogin
	err := s.withRetry(ctx, retryBeforeSend, func() (called bool, err error) {
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			cur, err := s.scanLogin(tx.QueryRow(ctx, `SELECT `+loginColumns+` FROM github_device_logins WHERE id = $1 FOR UPDATE`, id), id)
			if err != nil {
				return err
			}
			called = true
			n, ok, err := nextLogin(cur, fn)
			if !ok {
				out = cur
				if err != nil {
					return callbackError{err}
				}
				return nil
			}
			if _, err := tx.Exec(ctx, `UPDATE github_device_logins
			SET interval_ms = $1, expires_ms = $2, next_poll_ms = $3, status = $4, github_login = $5 WHERE id = $6`,
				n.Interval.Milliseconds(), n.ExpiresAt.UnixMilli(), n.NextPollAt.UnixMilli(), n.Status, n.Login, id); err != nil {
				return fmt.Errorf("store: updating device login: %w", err)
			}
			out = &n
			return nil
		})
		return called, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteDeviceLoginsBefore implements [Store]. It is idempotent, so it is
// retried like a read.
func (s *Postgres) DeleteDeviceLoginsBefore(ctx context.Context, t time.Time) (int, error) {
	var n int
	err := s.withRetry(ctx, retryRead, func() (bool, error) {
		tag, err := s.pool.Exec(ctx, `DELETE FROM github_device_logins WHERE expires_ms < $1`, t.UnixMilli())
		if err != nil {
			return true, fmt.Errorf("store: deleting old device logins: %w", err)
		}
		n = int(tag.RowsAffected())
		return true, nil
	})
	return n, err
}
