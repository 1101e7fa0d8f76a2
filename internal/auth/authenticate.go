package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"
	"unique"
)

// Authenticate resolves token to the identity of its owner.
//
// An answer may be up to CacheTTL old (NegativeTTL for a rejected token).
// Concurrent calls for one token share one hub lookup; a caller whose ctx ends
// first stops waiting and gets an error matching [ErrHubUnavailable] and
// ctx.Err(), while the lookup goes on for the others. The returned slices
// are fresh copies the caller may modify.
func (h *Hub) Authenticate(ctx context.Context, token string) (Identity, error) {
	if err := checkToken(token); err != nil {
		return Identity{}, err
	}
	key := tokenKey(sha256.Sum256([]byte(token)))
	if id, ok, err := h.hit(key, token); ok {
		return id, err
	}
	h.misses.Add(1)
	return h.join(ctx, key, token)
}

// AuthenticateCached is Authenticate for a token whose answer (identity or
// refusal) is cached; ok is false, and nothing is asked of the hub, when
// none is. The server answers known tokens this way before it spends any
// failed-login budget on a lookup.
func (h *Hub) AuthenticateCached(token string) (id Identity, ok bool, err error) {
	if err := checkToken(token); err != nil {
		return Identity{}, true, err
	}
	return h.hit(tokenKey(sha256.Sum256([]byte(token))), token)
}

// hit answers from the cache, if it can.
func (h *Hub) hit(key tokenKey, token string) (Identity, bool, error) {
	now := h.clock()
	e, ok := h.cachedAt(key, now)
	if !ok {
		return Identity{}, false, nil
	}
	h.hits.Add(1)
	if e.refusal == nil && now >= e.expires-int64(h.ttl/refreshAheadFraction) {
		h.refresh(key, token)
	}
	id, err := h.result(e)
	return id, true, err
}

// refreshAheadFraction: a hit in the last quarter of an identity's TTL also
// re-validates it in the background.
const refreshAheadFraction = 4

// refresh re-validates a cached identity with the hub in the background, so
// that a user who keeps working never waits for the hub, and identities
// cached at one moment (a class starting together) do not all expire into
// one stampede on the hub. It never extends how long an answer is trusted:
// the entry in service still expires on time, a token the hub now refuses
// is cached as refused, and hub trouble leaves the entry to expire as usual.
// At most one lookup per token runs at a time.
func (h *Hub) refresh(key tokenKey, token string) {
	h.flight.DoChan(string(key[:]), func() (any, error) {
		h.refreshes.Add(1)
		return h.fetchAndStore(context.Background(), key, token), nil
	})
}

// join waits for the coalesced lookup of key, starting it if none runs. It is
// apart from Authenticate so that the hit path allocates only the copies it
// hands out (key escapes here).
func (h *Hub) join(ctx context.Context, key tokenKey, token string) (Identity, error) {
	if err := ctx.Err(); err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrHubUnavailable, err)
	}
	// led is written by whichever caller's function singleflight runs and
	// read only after the result arrives on the channel, which orders the two.
	led := false
	ch := h.flight.DoChan(string(key[:]), func() (any, error) {
		led = true
		return h.lookup(ctx, key, token), nil
	})
	select {
	case res := <-ch:
		if !led {
			h.coalesced.Add(1)
		}
		return h.result(res.Val.(cacheEntry))
	case <-ctx.Done():
		return Identity{}, fmt.Errorf("%w: stopped waiting for the hub: %w", ErrHubUnavailable, ctx.Err())
	}
}

// Stats returns the cache counters. They are read one by one, so a snapshot
// taken under load need not add up exactly.
func (h *Hub) Stats() CacheStats {
	return CacheStats{
		Hits:          h.hits.Load(),
		Misses:        h.misses.Load(),
		Coalesced:     h.coalesced.Load(),
		Refreshes:     h.refreshes.Load(),
		UpstreamCalls: h.upstream.Load(),
		Entries:       h.cache.Len(),
	}
}

// cached returns the unexpired entry for key, if any. Expired entries are
// left for the next lookup to overwrite: removing one here could race with a
// fresh Add and throw that away.
func (h *Hub) cached(key tokenKey) (cacheEntry, bool) { return h.cachedAt(key, h.clock()) }

// cachedAt is cached at the h.clock reading now.
func (h *Hub) cachedAt(key tokenKey, now int64) (cacheEntry, bool) {
	e, ok := h.cache.Get(key)
	if !ok || now >= e.expires {
		return cacheEntry{}, false
	}
	return e, true
}

// lookup runs once per coalesced group. It is detached from the cancellation
// of the caller that started it (others may still be waiting) but keeps its
// values, and is bounded by h.timeout instead.
func (h *Hub) lookup(parent context.Context, key tokenKey, token string) cacheEntry {
	// A group that finished between our cache miss and DoChan has filled the
	// cache; asking the hub again would break "one token, one request".
	if e, ok := h.cached(key); ok {
		return e
	}
	return h.fetchAndStore(parent, key, token)
}

// fetchAndStore asks the hub and caches a cacheable answer.
func (h *Hub) fetchAndStore(parent context.Context, key tokenKey, token string) cacheEntry {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), h.timeout)
	defer cancel()

	id, err := h.fetch(ctx, token)
	var ttl time.Duration
	switch {
	case err == nil:
		ttl = h.ttl
	case errors.Is(err, ErrInvalidToken), errors.Is(err, ErrForbidden), errors.Is(err, ErrNotForService):
		ttl = h.negTTL
	default:
		// The hub's trouble, not the token's: the next call asks again.
		return h.entry(id, err, 0)
	}
	e := h.entry(id, err, h.clock()+int64(ttl))
	h.cache.Add(key, e)
	return e
}

// entry makes the cache entry of a hub answer that expires at the h.clock
// reading expires. id.Scopes must be nil or h.requireScopes (as
// [Hub.identity] returns them): only whether it is set is kept.
func (h *Hub) entry(id Identity, err error, expires int64) cacheEntry {
	if err != nil {
		refusal := err // declared here, so that only a refusal is moved to the heap
		return cacheEntry{refusal: &refusal, expires: expires}
	}
	a := attrs{groups: encodeGroups(id.Groups), admin: id.Admin, scoped: id.Scopes != nil}
	return cacheEntry{name: id.Name, attrs: unique.Make(a), expires: expires}
}

// result hands out an entry as an Identity whose slices are fresh copies,
// so that callers cannot change what the cache holds for everyone else.
func (h *Hub) result(e cacheEntry) (Identity, error) {
	if err := e.err(); err != nil {
		return Identity{}, err
	}
	a := e.attrs.Value()
	id := Identity{Name: e.name, Groups: decodeGroups(a.groups), Admin: a.admin}
	if a.scoped {
		id.Scopes = slices.Clone(h.requireScopes)
	}
	return id, nil
}
