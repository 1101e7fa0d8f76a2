package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// GitHubLink implements [Store].
func (s *SQLite) GitHubLink(ctx context.Context, provider, user string) (*GitHubLink, error) {
	return s.getLink(ctx, s.db, provider, user)
}

func (s *SQLite) getLink(ctx context.Context, q querier, provider, user string) (*GitHubLink, error) {
	row := q.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM github_links WHERE provider = ? AND hub_user = ?`, provider, user)
	return scanLink(s.seal, row, sql.ErrNoRows, provider, user)
}

// writeLink upserts l, sealing its tokens for its own row. It rounds l's
// times to what is stored.
func (s *SQLite) writeLink(ctx context.Context, q querier, l *GitHubLink) error {
	_, err := q.ExecContext(ctx, `INSERT INTO github_links (provider, hub_user, `+linkColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (provider, hub_user) DO UPDATE SET
			github_login = excluded.github_login, github_id = excluded.github_id,
			access_token = excluded.access_token, access_expires_ms = excluded.access_expires_ms,
			refresh_token = excluded.refresh_token, refresh_expires_ms = excluded.refresh_expires_ms,
			generation = excluded.generation, created_ms = excluded.created_ms, updated_ms = excluded.updated_ms,
			account_created_us = excluded.account_created_us`,
		append([]any{l.Provider, l.User}, linkArgs(s.seal, l)...)...)
	if err != nil {
		return fmt.Errorf("store: writing github link: %w", err)
	}
	return nil
}

// PutGitHubLink implements [Store]. A replaced link's generation carries
// on from the old one, so a caller holding the old generation sees the
// change.
func (s *SQLite) PutGitHubLink(ctx context.Context, l *GitHubLink) error {
	if l.Provider == "" || l.User == "" || l.AccessToken == "" {
		return errors.New("store: a github link needs provider, user and access token")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		next := *l
		now := s.now().UTC()
		next.Created, next.Updated, next.Generation = now, now, 1
		if cur, err := s.getLink(ctx, tx, l.Provider, l.User); err == nil {
			next.Generation = cur.Generation + 1
		} else if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrTampered) && !errors.Is(err, ErrWrongKey) {
			// An unreadable old row is replaced: that is what a new login
			// is for.
			return err
		}
		return s.writeLink(ctx, tx, &next)
	})
}

// UpdateGitHubLink implements [Store].
func (s *SQLite) UpdateGitHubLink(ctx context.Context, provider, user string, fn func(*GitHubLink) (*GitHubLink, error)) (*GitHubLink, error) {
	var out *GitHubLink
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.getLink(ctx, tx, provider, user)
		if err != nil {
			return err
		}
		n, ok, err := nextLink(cur, fn, s.now())
		if !ok {
			out = cur
			return err
		}
		if err := s.writeLink(ctx, tx, &n); err != nil {
			return err
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
func (s *SQLite) DeleteGitHubLink(ctx context.Context, provider, user string) (*GitHubLink, error) {
	var out *GitHubLink
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.getLink(ctx, tx, provider, user)
		switch {
		case errors.Is(err, ErrNotFound):
			return err
		case err != nil && !errors.Is(err, ErrTampered) && !errors.Is(err, ErrWrongKey):
			return err
		}
		out = cur
		_, err = tx.ExecContext(ctx, `DELETE FROM github_links WHERE provider = ? AND hub_user = ?`, provider, user)
		return err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, ErrNotFound
	}
	return out, nil
}

// CreateDeviceLogin implements [Store]. The check for a pending login
// and the insert share one write transaction; the unique index backs it.
func (s *SQLite) CreateDeviceLogin(ctx context.Context, l *DeviceLogin) error {
	if l.ID == "" || l.Provider == "" || l.User == "" || l.DeviceCode == "" {
		return errors.New("store: a device login needs id, provider, user and device code")
	}
	dc := s.seal.Seal([]byte(l.DeviceCode), loginContext(l.ID, l.Provider, l.User)...)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if l.Status == LoginPending {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM github_device_logins
				WHERE provider = ? AND hub_user = ? AND status = 'pending'`, l.Provider, l.User).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return ErrPendingLogin
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO github_device_logins (id, `+loginColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			l.ID, l.Provider, l.User, dc, l.UserCode, l.VerificationURI, l.Interval.Milliseconds(),
			l.ExpiresAt.UnixMilli(), l.NextPollAt.UnixMilli(), l.Status, l.Login, s.now().UnixMilli(), usOrNil(l.AccountCreated))
		return err
	})
	if errors.Is(err, ErrPendingLogin) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: creating device login: %w", err)
	}
	return nil
}

// PendingDeviceLogin implements [Store].
func (s *SQLite) PendingDeviceLogin(ctx context.Context, provider, user string) (*DeviceLogin, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM github_device_logins
		WHERE provider = ? AND hub_user = ? AND status = 'pending'`, provider, user).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: reading pending device login: %w", err)
	}
	return s.DeviceLogin(ctx, id)
}

// DeviceLogin implements [Store].
func (s *SQLite) DeviceLogin(ctx context.Context, id string) (*DeviceLogin, error) {
	return s.getLogin(ctx, s.db, id)
}

func (s *SQLite) getLogin(ctx context.Context, q querier, id string) (*DeviceLogin, error) {
	row := q.QueryRowContext(ctx, `SELECT `+loginColumns+` FROM github_device_logins WHERE id = ?`, id)
	return scanLogin(s.seal, row, sql.ErrNoRows, id)
}

// UpdateDeviceLogin implements [Store]. The device code, provider and user
// of a login never change; only its progress does.
func (s *SQLite) UpdateDeviceLogin(ctx context.Context, id string, fn func(*DeviceLogin) (*DeviceLogin, error)) (*DeviceLogin, error) {
	var out *DeviceLogin
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.getLogin(ctx, tx, id)
		if err != nil {
			return err
		}
		n, ok, err := nextLogin(cur, fn)
		if !ok {
			out = cur
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE github_device_logins
			SET interval_ms = ?, expires_ms = ?, next_poll_ms = ?, status = ?, github_login = ? WHERE id = ?`,
			n.Interval.Milliseconds(), n.ExpiresAt.UnixMilli(), n.NextPollAt.UnixMilli(), n.Status, n.Login, id)
		if err != nil {
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
func (s *SQLite) DeleteDeviceLoginsBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM github_device_logins WHERE expires_ms < ?`, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: deleting old device logins: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
