package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
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
	if e, ok := h.cached(key); ok {
		h.hits.Add(1)
		if e.err == nil && !h.now().Before(e.expires.Add(-h.ttl/refreshAheadFraction)) {
			h.refresh(key, token)
		}
		return e.result()
	}
	h.misses.Add(1)
	return h.join(ctx, key, token)
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
		return res.Val.(cacheEntry).result()
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
func (h *Hub) cached(key tokenKey) (cacheEntry, bool) {
	e, ok := h.cache.Get(key)
	if !ok || !h.now().Before(e.expires) {
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
	e := cacheEntry{id: id, err: err}
	switch {
	case err == nil:
		e.expires = h.now().Add(h.ttl)
	case errors.Is(err, ErrInvalidToken), errors.Is(err, ErrForbidden), errors.Is(err, ErrNotForService):
		e.expires = h.now().Add(h.negTTL)
	default:
		// The hub's trouble, not the token's: the next call asks again.
		return e
	}
	h.cache.Add(key, e)
	return e
}

// result hands out an entry, copying the slices so that callers cannot
// change what the cache holds for everyone else.
func (e cacheEntry) result() (Identity, error) {
	if e.err != nil {
		return Identity{}, e.err
	}
	id := e.id
	id.Groups = slices.Clone(id.Groups)
	id.Scopes = slices.Clone(id.Scopes)
	return id, nil
}

// Known reports whether token's identity is cached and fresh, without
// asking the hub. The server lets known callers through even when their
// address is being rate limited for failed logins.
func (h *Hub) Known(token string) bool {
	e, ok := h.cached(tokenKey(sha256.Sum256([]byte(token))))
	return ok && e.err == nil
}

// Cached reports whether an unexpired answer for token is cached, an
// identity or a refusal alike: Authenticate will then answer without asking
// the hub. The server does not count such calls against any login budget.
func (h *Hub) Cached(token string) bool {
	_, ok := h.cached(tokenKey(sha256.Sum256([]byte(token))))
	return ok
}
