package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// CreateDelegationToken implements [DelegationTokens].
func (s *Postgres) CreateDelegationToken(ctx context.Context, t *DelegationToken) error {
	args, err := delegationArgs(t, s.now())
	if err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO delegation_tokens (`+delegationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, args...); err != nil {
		return s.redact(fmt.Errorf("store: creating delegation token: %w", err))
	}
	return nil
}

// DelegationTokenByHash implements [DelegationTokens].
func (s *Postgres) DelegationTokenByHash(ctx context.Context, hash [sha256.Size]byte) (*DelegationToken, error) {
	t, err := scanDelegation(s.pool.QueryRow(ctx, `SELECT `+delegationColumns+` FROM delegation_tokens
		WHERE token_sha256 = $1 AND expires_ms > $2`, hash[:], s.now().UnixMilli()), pgx.ErrNoRows)
	return t, s.redact(err)
}

// DelegationTokensOf implements [DelegationTokens].
func (s *Postgres) DelegationTokensOf(ctx context.Context, owner string) ([]DelegationToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+delegationColumns+` FROM delegation_tokens
		WHERE owner = $1 AND expires_ms > $2 ORDER BY created_ms, id`, owner, s.now().UnixMilli())
	if err != nil {
		return nil, s.redact(fmt.Errorf("store: listing delegation tokens: %w", err))
	}
	defer rows.Close()
	out := []DelegationToken{}
	for rows.Next() {
		t, err := scanDelegation(rows, pgx.ErrNoRows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	if err := rows.Err(); err != nil {
		return nil, s.redact(fmt.Errorf("store: listing delegation tokens: %w", err))
	}
	return out, nil
}

// DeleteDelegationToken implements [DelegationTokens].
func (s *Postgres) DeleteDelegationToken(ctx context.Context, owner, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM delegation_tokens WHERE owner = $1 AND id = $2`, owner, id)
	if err != nil {
		return s.redact(fmt.Errorf("store: deleting delegation token: %w", err))
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteDelegationTokensOf implements [DelegationTokens].
func (s *Postgres) DeleteDelegationTokensOf(ctx context.Context, owner string) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM delegation_tokens WHERE owner = $1`, owner)
	if err != nil {
		return 0, s.redact(fmt.Errorf("store: deleting delegation tokens: %w", err))
	}
	return int(tag.RowsAffected()), nil
}

// TouchDelegationToken implements [DelegationTokens].
func (s *Postgres) TouchDelegationToken(ctx context.Context, id string, t time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE delegation_tokens SET last_used_ms = $1 WHERE id = $2`, t.UnixMilli(), id); err != nil {
		return s.redact(fmt.Errorf("store: recording delegation token use: %w", err))
	}
	return nil
}
