package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/credserver/credserver/internal/store"
)

// Delegation is what limits an identity authenticated by a delegation
// token (DESIGN §5): the owner's policy decides first, then only Grants,
// at most Access. Shared between callers: never modify one.
type Delegation struct {
	// ID is the token's id (never the token): for audit lines and the API.
	ID string
	// Grants are the grant names the token may ask for.
	Grants []string
	// Access is the most the token may ask: "read" or "readwrite".
	Access string
	// ExpiresAt is when the token stops working.
	ExpiresAt time.Time
}

// ErrDelegationInvalid is how a dead delegation token is refused:
// unknown, malformed, expired, revoked, or its owner gone or re-created.
// It matches [ErrInvalidToken] too.
var ErrDelegationInvalid = fmt.Errorf("%w: delegation token", ErrInvalidToken)

// ErrStoreUnavailable means the store could not be asked about a
// delegation token. Never cached; the server answers 503.
var ErrStoreUnavailable = errors.New("credserver's store is unavailable")

// TokenLookup is the part of the store delegation authentication reads.
type TokenLookup interface {
	DelegationTokenByHash(ctx context.Context, hash [sha256.Size]byte) (*store.DelegationToken, error)
	TouchDelegationToken(ctx context.Context, id string, t time.Time) error
}

// DelegationConfig configures [Delegations]. Zero values take the
// defaults of [HubConfig].
type DelegationConfig struct {
	// Tokens is the store. Required.
	Tokens TokenLookup
	// Directory gives the owner's current account. Required.
	Directory Directory
	// CacheTTL is how long a token's record is reused (hub.cache_ttl): a
	// token revoked on another replica keeps working at most this long
	// here. Default 60s.
	CacheTTL time.Duration
	// NegativeTTL is how long an unknown token is remembered. Default 10s.
	NegativeTTL time.Duration
	// MaxEntries bounds the cached tokens. Default 100,000.
	MaxEntries int
	// Timeout bounds one store lookup. Default 10s.
	Timeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Delegations authenticates delegation tokens: the token's record comes
// from the store by the token's SHA-256 (cached up to CacheTTL, bounded,
// concurrent lookups of one token coalesced), the owner's account from the
// Directory on every call (itself cached up to hub.cache_ttl). A token is
// dead once it expires, is revoked, or its owner is gone from the hub or
// is another account of the same name (a different "created"). Safe for
// concurrent use. Create it with [NewDelegations].
type Delegations struct {
	tokens  TokenLookup
	dir     Directory
	now     func() time.Time
	ttl     time.Duration
	negTTL  time.Duration
	timeout time.Duration

	cache  *lru.Cache[tokenKey, delegEntry]
	flight singleflight.Group

	hits, misses, lookups atomic.Uint64
}

// delegEntry is one store answer: a record (with its Delegation made once,
// shared by every identity it yields) or "no such token".
type delegEntry struct {
	owner        string
	ownerCreated time.Time
	deleg        *Delegation
	err          error
	expires      time.Time
}

var _ Authenticator = (*Delegations)(nil)

// NewDelegations builds the delegation authenticator.
func NewDelegations(cfg DelegationConfig) (*Delegations, error) {
	if cfg.Tokens == nil || cfg.Directory == nil {
		return nil, errors.New("auth: delegation tokens need the store and the hub directory")
	}
	d := &Delegations{
		tokens: cfg.Tokens, dir: cfg.Directory, now: cfg.Now,
		ttl: orDefault(cfg.CacheTTL, DefaultCacheTTL), negTTL: orDefault(cfg.NegativeTTL, DefaultNegativeTTL),
		timeout: orDefault(cfg.Timeout, DefaultTimeout),
	}
	if d.now == nil {
		d.now = time.Now
	}
	var err error
	if d.cache, err = lru.New[tokenKey, delegEntry](orDefault(cfg.MaxEntries, DefaultMaxEntries)); err != nil {
		return nil, err
	}
	return d, nil
}

// Authenticate resolves a delegation token to its owner's identity as the
// hub has it now, with Delegation set. Errors: [ErrInvalidToken] (unknown,
// malformed, expired, revoked, owner gone or re-created),
// [ErrStoreUnavailable], and the Directory's [ErrHubUnavailable] or
// [ErrHubMisconfigured]. None contains the token.
func (d *Delegations) Authenticate(ctx context.Context, token string) (Identity, error) {
	hash, err := ParseDelegationToken(token)
	if err != nil {
		return Identity{}, err
	}
	key := tokenKey(hash)
	e, ok := d.cached(key)
	if ok {
		d.hits.Add(1)
	} else {
		d.misses.Add(1)
		if e, err = d.join(ctx, key); err != nil {
			return Identity{}, err
		}
	}
	if e.err != nil {
		return Identity{}, e.err
	}
	if !d.now().Before(e.deleg.ExpiresAt) {
		return Identity{}, fmt.Errorf("%w: expired", ErrDelegationInvalid)
	}
	acct, err := d.dir.Account(ctx, e.owner)
	switch {
	case errors.Is(err, ErrNoSuchUser):
		return Identity{}, fmt.Errorf("%w: its owner is no longer a hub user", ErrDelegationInvalid)
	case err != nil:
		return Identity{}, err
	case acct.Created.UnixMilli() != e.ownerCreated.UnixMilli(): // the store keeps milliseconds
		return Identity{}, fmt.Errorf("%w: its owner was deleted; the hub user of that name now is another account", ErrDelegationInvalid)
	}
	return Identity{Name: acct.Name, Groups: acct.Groups, Admin: acct.Admin, Delegation: e.deleg}, nil
}

// Known reports whether token's record is cached, fresh and live, without
// asking the store.
func (d *Delegations) Known(token string) bool {
	hash, err := ParseDelegationToken(token)
	if err != nil {
		return false
	}
	e, ok := d.cached(tokenKey(hash))
	return ok && e.err == nil
}

// Forget drops the cached record of the token with this hash, so a
// revocation made here takes effect here at once (other replicas within
// CacheTTL).
func (d *Delegations) Forget(hash [sha256.Size]byte) { d.cache.Remove(tokenKey(hash)) }

// ForgetID drops the cached record of token id (revocation by id, whose
// hash the caller does not know).
func (d *Delegations) ForgetID(id string) {
	for _, k := range d.cache.Keys() {
		if e, ok := d.cache.Peek(k); ok && e.deleg != nil && e.deleg.ID == id {
			d.cache.Remove(k)
		}
	}
}

// ForgetOwner drops the cached records of every token of owner.
func (d *Delegations) ForgetOwner(owner string) {
	for _, k := range d.cache.Keys() {
		if e, ok := d.cache.Peek(k); ok && e.err == nil && e.owner == owner {
			d.cache.Remove(k)
		}
	}
}

// StoreLookups returns how many times the store was asked for a token.
func (d *Delegations) StoreLookups() uint64 { return d.lookups.Load() }

func (d *Delegations) cached(key tokenKey) (delegEntry, bool) {
	e, ok := d.cache.Get(key)
	if !ok || !d.now().Before(e.expires) {
		return delegEntry{}, false
	}
	return e, true
}

// join waits for the coalesced store lookup of key, starting it if none
// runs. The lookup is detached from the caller's cancellation (others may
// wait on it) and bounded by the timeout.
func (d *Delegations) join(ctx context.Context, key tokenKey) (delegEntry, error) {
	if err := ctx.Err(); err != nil {
		return delegEntry{}, fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	ch := d.flight.DoChan(string(key[:]), func() (any, error) {
		if e, ok := d.cached(key); ok {
			return e, nil
		}
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.timeout)
		defer cancel()
		return d.fetch(lctx, key)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return delegEntry{}, res.Err
		}
		return res.Val.(delegEntry), nil
	case <-ctx.Done():
		return delegEntry{}, fmt.Errorf("%w: stopped waiting for the store: %w", ErrStoreUnavailable, ctx.Err())
	}
}

// fetch asks the store and caches the answer; store trouble is not cached.
// A token found is marked used (once per CacheTTL per replica, so the
// recorded last use is that precise).
func (d *Delegations) fetch(ctx context.Context, key tokenKey) (delegEntry, error) {
	d.lookups.Add(1)
	rec, err := d.tokens.DelegationTokenByHash(ctx, key)
	now := d.now()
	switch {
	case errors.Is(err, store.ErrNotFound):
		e := delegEntry{err: fmt.Errorf("%w: unknown, expired or revoked", ErrDelegationInvalid), expires: now.Add(d.negTTL)}
		d.cache.Add(key, e)
		return e, nil
	case err != nil:
		return delegEntry{}, fmt.Errorf("%w: looking up a delegation token: %w", ErrStoreUnavailable, err)
	}
	_ = d.tokens.TouchDelegationToken(ctx, rec.ID, now) // best effort: a lost stamp denies nothing
	e := delegEntry{
		owner: rec.Owner, ownerCreated: rec.OwnerCreated,
		deleg:   &Delegation{ID: rec.ID, Grants: rec.Grants, Access: rec.Access, ExpiresAt: rec.ExpiresAt},
		expires: now.Add(d.ttl),
	}
	d.cache.Add(key, e)
	return e, nil
}

// Either authenticates delegation tokens (DelegationPrefix) with
// Delegations and every other token with Hub. A delegation token is never
// sent to the hub; with Delegations nil (delegation tokens turned off) it
// is refused as invalid.
type Either struct {
	Hub         Authenticator
	Delegations *Delegations
}

// Authenticate implements [Authenticator].
func (a Either) Authenticate(ctx context.Context, token string) (Identity, error) {
	if IsDelegationToken(token) {
		if a.Delegations == nil {
			return Identity{}, fmt.Errorf("%w: delegation tokens are not enabled on this server", ErrDelegationInvalid)
		}
		return a.Delegations.Authenticate(ctx, token)
	}
	return a.Hub.Authenticate(ctx, token)
}

// AuthenticateCached answers from the caches alone when it can (see
// [Hub.AuthenticateCached]): ok is false when the token is not known, and
// answering would mean asking the hub or the store. A delegation token
// whose record is cached is answered with its owner read through the
// directory's cache.
func (a Either) AuthenticateCached(token string) (id Identity, ok bool, err error) {
	if IsDelegationToken(token) {
		if a.Delegations == nil || !a.Delegations.Known(token) {
			return Identity{}, false, nil
		}
		id, err := a.Delegations.Authenticate(context.Background(), token)
		return id, true, err
	}
	c, ok := a.Hub.(interface {
		AuthenticateCached(string) (Identity, bool, error)
	})
	if !ok {
		return Identity{}, false, nil
	}
	return c.AuthenticateCached(token)
}
