package vend

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/credserver/credserver/internal/policy"
)

// Cache defaults.
const (
	// DefaultMaxEntries bounds the cache: each entry is a few hundred bytes,
	// so the default costs tens of megabytes at most.
	DefaultMaxEntries = 100_000
	// DefaultMinRemaining is the shortest remaining life ever handed out.
	// botocore refreshes at 15 minutes left (and s3fs at similar margins),
	// so anything shorter would make clients come back at once. It is two
	// thirds of the shortest life a request may ask, so that even such a
	// credential is reused for a while.
	DefaultMinRemaining = policy.MinDuration * 2 / 3
	// upstreamTimeout bounds one coalesced upstream call, which runs
	// detached from the context of the caller that started it.
	upstreamTimeout = 30 * time.Second
)

// CacheConfig configures a [Cache]. The zero value is usable.
type CacheConfig struct {
	// MaxEntries bounds the number of cached credentials; the least recently
	// used are dropped first. 0 means DefaultMaxEntries.
	MaxEntries int
	// MinRemaining is the least remaining life a cached credential may have
	// when it is handed out. 0 means DefaultMinRemaining.
	MinRemaining time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Cache reuses issued credentials and coalesces concurrent misses.
//
// There is one credential per [Key]: per provider, account, grant, access
// and scope, whatever duration was asked, so that asking 3600, 3601, ...
// seconds does not cost one upstream call each. A cached credential is
// handed out for a request of duration D while its remaining life is at
// least max(life/3, MinRemaining, D/3), where life is the time from issue
// to expiry: the same "a third left" rule a credential's own life obeys,
// applied to what was asked. It may therefore live longer than asked
// (never beyond what the same account asked of the same grant, itself
// within the grant's maximum), or as little as a third of it; clients
// refresh through credential_process long before it ends. A request the
// cached credential cannot serve replaces it.
// Concurrent misses for one key share a single upstream call, which runs to
// completion (bounded by a 30 s timeout) even when the caller that started
// it goes away. Errors are never cached. A Cache is safe for concurrent use.
type Cache struct {
	entries      *lru.Cache[CacheKey, *entry]
	flights      singleflight.Group
	minRemaining time.Duration
	now          func() time.Time
	timeout      time.Duration
	// ownerSeed keys the owner hashes of entries (see entry.owner).
	ownerSeed maphash.Seed
}

// entry is one cached credential, in one allocation besides its body:
// there is one per cached user (100,000 by default), and a hit hands out
// &cred, so it needs no allocation of its own.
type entry struct {
	// cred has its Body encoded (see encoded).
	cred Credentials
	// life is cred.Expires less the time the upstream was asked.
	life time.Duration
	// owner is the hash of the user and grant the credential was issued
	// for, which lets Forget find an account's entries with 8 bytes
	// instead of two strings. Hashes of different owners may match (one
	// chance in 2^64): Forget then drops a credential too many, which
	// costs one upstream call and serves nothing wrong.
	owner uint64
}

// owner is what entry.owner hashes.
type owner struct{ user, grant string }

// flight is what one coalesced call yields; fromCache tells its leader that
// another flight had stored the credential in the meantime.
type flight struct {
	cred      *Credentials
	fromCache bool
}

func (c *Cache) owner(user, grant string) uint64 {
	return maphash.Comparable(c.ownerSeed, owner{user, grant})
}

// NewCache returns an empty cache.
func NewCache(cfg CacheConfig) *Cache {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.MinRemaining <= 0 {
		cfg.MinRemaining = DefaultMinRemaining
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	entries, err := lru.New[CacheKey, *entry](cfg.MaxEntries)
	if err != nil {
		// lru.New fails only for a size <= 0, excluded above.
		panic(fmt.Sprintf("vend: lru.New(%d): %v", cfg.MaxEntries, err))
	}
	return &Cache{
		entries:      entries,
		minRemaining: cfg.MinRemaining,
		now:          cfg.Now,
		timeout:      upstreamTimeout,
		ownerSeed:    maphash.MakeSeed(),
	}
}

// Issue returns a credential for d from p, reusing the cached one for
// [Key](d) when it still has enough life left for d.Duration.
//
// hit reports that this call caused no upstream call: the credential came
// from the cache or from a concurrent caller's upstream call. Issue returns
// ctx.Err() when ctx ends first; the upstream call carries on for the other
// callers and fills the cache.
func (c *Cache) Issue(ctx context.Context, p Provider, d policy.Decision) (cred *Credentials, hit bool, err error) {
	key := Key(d)
	if cred, ok := c.lookup(key, d.Duration); ok {
		return cred, true, nil
	}
	return c.join(ctx, p, key, d)
}

// join waits for the flight of key, starting it if none runs. It is apart
// from Issue so that a hit allocates nothing: what the flight's closure
// captures escapes to the heap.
func (c *Cache) join(ctx context.Context, p Provider, key CacheKey, d policy.Decision) (cred *Credentials, hit bool, err error) {
	leader := false
	// Concurrent misses of one key share the leader's upstream call, and
	// so its duration: a herd asks one thing, and a credential of another
	// length still works, to be replaced by the next request it cannot
	// serve.
	ch := c.flights.DoChan(string(key[:]), func() (any, error) {
		leader = true
		return c.fill(ctx, p, key, d)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, false, res.Err
		}
		f := res.Val.(flight)
		// leader is read after the channel receive, which orders it after
		// the write in the flight's goroutine.
		return f.cred, f.fromCache || !leader, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// fill runs once per flight: it rechecks the cache (a flight that finished
// between our lookup and DoChan has already stored a credential) and
// otherwise calls the upstream detached from the leader's cancellation.
func (c *Cache) fill(ctx context.Context, p Provider, key CacheKey, d policy.Decision) (f flight, err error) {
	if cred, ok := c.lookup(key, d.Duration); ok {
		return flight{cred: cred, fromCache: true}, nil
	}
	defer func() {
		// singleflight re-panics in its own goroutine, which would kill the
		// process; a provider bug should fail one request instead.
		if r := recover(); r != nil {
			err = fmt.Errorf("vend: provider panicked: %v", r)
		}
	}()
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	issued := c.now()
	cred, err := p.Issue(uctx, d)
	if err != nil {
		return flight{}, err
	}
	if cred == nil {
		return flight{}, fmt.Errorf("vend: provider returned no credential and no error")
	}
	body, err := encoded(cred.Body)
	if err != nil {
		return flight{}, err
	}
	e := &entry{cred: Credentials{Expires: cred.Expires, KeyID: cred.KeyID, Body: body},
		life: cred.Expires.Sub(issued), owner: c.owner(d.User, d.Grant)}
	if c.serves(e, 0) {
		c.entries.Add(key, e)
	}
	return flight{cred: &e.cred}, nil
}

// encoded returns body encoded to JSON once, as a json.RawMessage: the hits
// that follow write those bytes instead of encoding a struct every time, and
// the cache holds one compact byte slice per credential rather than a struct
// of strings.
func encoded(body any) (any, error) {
	if _, ok := body.(json.RawMessage); ok {
		return body, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		return nil, fmt.Errorf("vend: encode credential body: %w", err)
	}
	return json.RawMessage(bytes.Clone(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))), nil
}

func (c *Cache) lookup(key CacheKey, asked time.Duration) (*Credentials, bool) {
	e, ok := c.entries.Get(key)
	if !ok || !c.serves(e, asked) {
		return nil, false
	}
	return &e.cred, true
}

// serves reports whether e may be handed out now for a request of the
// asked duration (0: any).
func (c *Cache) serves(e *entry, asked time.Duration) bool {
	remaining := e.cred.Expires.Sub(c.now())
	return remaining >= max(e.life/3, c.minRemaining, asked/3)
}

// Len returns the number of cached credentials, including stale ones not yet
// replaced or evicted.
func (c *Cache) Len() int { return c.entries.Len() }

// CacheKey identifies one cached credential: the SHA-256 of every field of
// a Decision that shapes it. A digest rather than the fields themselves
// keeps an entry small and the lookup free of allocations; SHA-256 because
// two decisions sharing a key would hand one user's credential to another.
type CacheKey [sha256.Size]byte

// Key returns the cache key of d: every field of the Decision that shapes
// the credential — user and the account's creation time, grant, provider,
// access, bucket, each prefix and the GitHub scope — so that a policy
// change that moves a prefix, or a reload that moves a grant to another
// provider, never serves the old credential, and a re-created account
// never gets its predecessor's. The duration is left out on purpose (see
// [Cache]); Location and Type follow from the others. Fields are
// length-prefixed before hashing, so no username or prefix can make two
// different decisions encode alike.
func Key(d policy.Decision) CacheKey {
	var buf [512]byte
	b := appendField(buf[:0], d.User)
	b = appendField(b, d.Grant)
	b = appendField(b, d.Provider)
	if d.Created.IsZero() {
		b = appendField(b, "")
	} else {
		b = strconv.AppendInt(b, d.Created.UnixNano(), 10)
		b = append(b, 0)
	}
	b = append(b, byte(d.Access), 0)
	b = appendField(b, d.Bucket)
	b = appendCount(b, len(d.Prefixes))
	for _, p := range d.Prefixes {
		b = appendField(b, p)
	}
	if gh := d.GitHub; gh != nil {
		b = appendField(b, string(gh.Mode))
		b = appendField(b, gh.Owner)
		b = appendCount(b, len(gh.Repositories))
		for _, r := range gh.Repositories {
			b = appendField(b, r)
		}
		perms := make([]string, 0, len(gh.Permissions))
		for k, v := range gh.Permissions {
			perms = append(perms, k+"="+v)
		}
		slices.Sort(perms)
		for _, p := range perms {
			b = appendField(b, p)
		}
	}
	return sha256.Sum256(b)
}

// appendField appends s length-prefixed: "len:s\x00".
func appendField(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, 0)
}

func appendCount(b []byte, n int) []byte {
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, 0)
}
