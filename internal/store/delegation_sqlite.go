package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"time"
)

// CreateDelegationToken implements [DelegationTokens].
func (s *SQLite) CreateDelegationToken(ctx context.Context, t *DelegationToken) error {
	args, err := delegationArgs(t, s.now())
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO delegation_tokens (`+delegationColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
		return fmt.Errorf("store: creating delegation token: %w", err)
	}
	return nil
}

// DelegationTokenByHash implements [DelegationTokens].
func (s *SQLite) DelegationTokenByHash(ctx context.Context, hash [sha256.Size]byte) (*DelegationToken, error) {
	return scanDelegation(s.db.QueryRowContext(ctx, `SELECT `+delegationColumns+` FROM delegation_tokens
		WHERE token_sha256 = ? AND expires_ms > ?`, hash[:], s.now().UnixMilli()), sql.ErrNoRows)
}

// DelegationTokensOf implements [DelegationTokens].
func (s *SQLite) DelegationTokensOf(ctx context.Context, owner string) ([]DelegationToken, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+delegationColumns+` FROM delegation_tokens
		WHERE owner = ? AND expires_ms > ? ORDER BY created_ms, id`, owner, s.now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("store: listing delegation tokens: %w", err)
	}
	defer rows.Close()
	out := []DelegationToken{}
	for rows.Next() {
		t, err := scanDelegation(rows, sql.ErrNoRows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: listing delegation tokens: %w", err)
	}
	return out, nil
}

// DeleteDelegationToken implements [DelegationTokens].
func (s *SQLite) DeleteDelegationToken(ctx context.Context, owner, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM delegation_tokens WHERE owner = ? AND id = ?`, owner, id)
	if err != nil {
		return fmt.Errorf("store: deleting delegation token: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: deleting delegation token: %w", err)
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteDelegationTokensOf implements [DelegationTokens].
func (s *SQLite) DeleteDelegationTokensOf(ctx context.Context, owner string) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM delegation_tokens WHERE owner = ?`, owner)
	if err != nil {
		return 0, fmt.Errorf("store: deleting delegation tokens: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// TouchDelegationToken implements [DelegationTokens].
func (s *SQLite) TouchDelegationToken(ctx context.Context, id string, t time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE delegation_tokens SET last_used_ms = ? WHERE id = ?`, t.UnixMilli(), id); err != nil {
		return fmt.Errorf("store: recording delegation token use: %w", err)
	}
	return nil
}
