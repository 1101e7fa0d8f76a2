package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DelegationToken is one delegation token (DESIGN §5) as the store keeps
// it. The token itself is never stored: only its SHA-256 (Hash), so the
// database, its backups and dumps cannot be used to act as anyone.
type DelegationToken struct {
	// ID names the token in the API (GET/DELETE /v1/tokens/{id}) and the
	// audit trail. It is not a secret.
	ID string
	// Hash is the SHA-256 of the token: what authentication looks it up by.
	Hash [sha256.Size]byte
	// Owner is the hub user the token acts for.
	Owner string
	// OwnerCreated is the hub's "created" time of the owner's account when
	// the token was made: an account deleted and re-created under the same
	// name has another one, and inherits no token.
	OwnerCreated time.Time
	// Grants are the grant names the token may ask credentials for; never
	// empty.
	Grants []string
	// Access is the most the token may ask: "read" or "readwrite".
	Access string
	// Note is the owner's description ("dask cluster"), possibly "".
	Note string
	// ExpiresAt is when the token stops working.
	ExpiresAt time.Time
	// Created is set by the store; LastUsed by TouchDelegationToken (zero
	// when never used).
	Created, LastUsed time.Time
}

// DelegationTokens is the store's part for delegation tokens. Both
// drivers implement it; it is part of [Store].
type DelegationTokens interface {
	// CreateDelegationToken stores a new token; its ID and Hash must be
	// new. It sets t.Created.
	CreateDelegationToken(ctx context.Context, t *DelegationToken) error
	// DelegationTokenByHash returns the token whose SHA-256 is hash, or
	// ErrNotFound (also for an expired one, which is then as good as gone).
	DelegationTokenByHash(ctx context.Context, hash [sha256.Size]byte) (*DelegationToken, error)
	// DelegationTokensOf lists owner's unexpired tokens, oldest first.
	DelegationTokensOf(ctx context.Context, owner string) ([]DelegationToken, error)
	// DeleteDelegationToken removes owner's token id, or reports
	// ErrNotFound when owner has no such token (another user's id
	// included: it is never touched).
	DeleteDelegationToken(ctx context.Context, owner, id string) error
	// DeleteDelegationTokensOf removes all of owner's tokens and returns
	// how many there were.
	DeleteDelegationTokensOf(ctx context.Context, owner string) (int, error)
	// TouchDelegationToken records that token id was used at t; a token
	// that is gone is not an error.
	TouchDelegationToken(ctx context.Context, id string, t time.Time) error
}

const delegationColumns = `id, token_sha256, owner, owner_created_ms, grants, access, note, expires_ms, created_ms, last_used_ms`

// delegationArgs checks t and returns its columns in the order of
// delegationColumns, rounding its times to what is stored.
func delegationArgs(t *DelegationToken, now time.Time) ([]any, error) {
	if t.ID == "" || t.Owner == "" || len(t.Grants) == 0 || (t.Access != "read" && t.Access != "readwrite") || t.ExpiresAt.IsZero() {
		return nil, errors.New("store: a delegation token needs id, owner, grants, access read or readwrite, and an expiry")
	}
	if t.Hash == ([sha256.Size]byte{}) {
		return nil, errors.New("store: a delegation token needs its hash")
	}
	grants, err := json.Marshal(t.Grants)
	if err != nil {
		return nil, err
	}
	t.Created = toMS(now)
	t.OwnerCreated, t.ExpiresAt, t.LastUsed = toMS(t.OwnerCreated), toMS(t.ExpiresAt), time.Time{}
	return []any{t.ID, t.Hash[:], t.Owner, t.OwnerCreated.UnixMilli(), string(grants), t.Access, t.Note,
		t.ExpiresAt.UnixMilli(), t.Created.UnixMilli(), nil}, nil
}

// scanDelegation reads one row of delegationColumns.
func scanDelegation(row rowScanner, noRows error) (*DelegationToken, error) {
	var t DelegationToken
	var hash []byte
	var grants string
	var ownerCreated, expires, created, lastUsed sql.NullInt64
	err := row.Scan(&t.ID, &hash, &t.Owner, &ownerCreated, &grants, &t.Access, &t.Note, &expires, &created, &lastUsed)
	if errors.Is(err, noRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: reading delegation token: %w", err)
	}
	if len(hash) != sha256.Size {
		return nil, fmt.Errorf("store: delegation token %s: hash of %d bytes", t.ID, len(hash))
	}
	copy(t.Hash[:], hash)
	if err := json.Unmarshal([]byte(grants), &t.Grants); err != nil || len(t.Grants) == 0 {
		return nil, fmt.Errorf("store: delegation token %s: unreadable grants", t.ID)
	}
	t.OwnerCreated, t.ExpiresAt = fromMS(ownerCreated), fromMS(expires)
	t.Created, t.LastUsed = fromMS(created), fromMS(lastUsed)
	return &t, nil
}
