package vend

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// Cache defaults.
const (
	// DefaultMaxEntries bounds the cache: each entry is a few hundred bytes,
	// so the default costs tens of megabytes at most.
	DefaultMaxEntries = 100_000
	// DefaultMinRemaining is the shortest remaining life ever handed out.
	// botocore refreshes at 15 minutes left (and s3fs at similar margins),
	// so anything shorter would make clients come back at once.
	DefaultMinRemaining = 20 * time.Minute
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
// A credential is handed out again while its remaining life is at least
// max(life/3, MinRemaining), where life is the time from issue to expiry.
// Concurrent misses for one key share a single upstream call, which runs to
// completion (bounded by a 30 s timeout) even when the caller that started
// it goes away. Errors are never cached. A Cache is safe for concurrent use.
type Cache struct {
	entries      *lru.Cache[string, entry]
	flights      singleflight.Group
	minRemaining time.Duration
	now          func() time.Time
	timeout      time.Duration
}

type entry struct {
	cred   *Credentials
	issued time.Time
}

// flight is what one coalesced call yields; fromCache tells its leader that
// another flight had stored the credential in the meantime.
type flight struct {
	cred      *Credentials
	fromCache bool
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
	entries, err := lru.New[string, entry](cfg.MaxEntries)
	if err != nil {
		// lru.New fails only for a size <= 0, excluded above.
		panic(fmt.Sprintf("vend: lru.New(%d): %v", cfg.MaxEntries, err))
	}
	return &Cache{
		entries:      entries,
		minRemaining: cfg.MinRemaining,
		now:          cfg.Now,
		timeout:      upstreamTimeout,
	}
}

// Issue returns a credential for req from p, reusing a cached one for key
// when it still has enough life left. key must identify everything that
// shapes the credential; use [Key].
//
// hit reports that this call caused no upstream call: the credential came
// from the cache or from a concurrent caller's upstream call. Issue returns
// ctx.Err() when ctx ends first; the upstream call carries on for the other
// callers and fills the cache.
func (c *Cache) Issue(ctx context.Context, p Provider, key string, req Request) (cred *Credentials, hit bool, err error) {
	if cred, ok := c.lookup(key); ok {
		return cred, true, nil
	}
	leader := false
	ch := c.flights.DoChan(key, func() (any, error) {
		leader = true
		return c.fill(ctx, p, key, req)
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
func (c *Cache) fill(ctx context.Context, p Provider, key string, req Request) (f flight, err error) {
	if cred, ok := c.lookup(key); ok {
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
	cred, err := p.Issue(uctx, req)
	if err != nil {
		return flight{}, err
	}
	if cred == nil {
		return flight{}, fmt.Errorf("vend: provider returned no credential and no error")
	}
	if cred, err = encoded(cred); err != nil {
		return flight{}, err
	}
	e := entry{cred: cred, issued: issued}
	if c.fresh(e) {
		c.entries.Add(key, e)
	}
	return flight{cred: cred}, nil
}

// encoded returns cred with its Body encoded to JSON once: the hits that
// follow write those bytes instead of encoding a struct every time, and the
// cache holds one compact byte slice per credential rather than a struct of
// strings.
func encoded(cred *Credentials) (*Credentials, error) {
	if _, ok := cred.Body.(json.RawMessage); ok {
		return cred, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cred.Body); err != nil {
		return nil, fmt.Errorf("vend: encode credential body: %w", err)
	}
	out := *cred
	out.Body = json.RawMessage(bytes.Clone(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))))
	return &out, nil
}

func (c *Cache) lookup(key string) (*Credentials, bool) {
	e, ok := c.entries.Get(key)
	if !ok {
		return nil, false
	}
	if !c.fresh(e) {
		return nil, false
	}
	return e.cred, true
}

// fresh reports whether e may be handed out now.
func (c *Cache) fresh(e entry) bool {
	life := e.cred.Expires.Sub(e.issued)
	remaining := e.cred.Expires.Sub(c.now())
	return remaining >= max(life/3, c.minRemaining)
}

// Len returns the number of cached credentials, including stale ones not yet
// replaced or evicted.
func (c *Cache) Len() int { return c.entries.Len() }

// Key returns the cache key for req: every field that shapes the credential
// (user, grant, access, duration, bucket and each prefix), so that a policy
// change that moves a prefix never serves the old credential. Location is
// derived from the others and left out. Fields are length-prefixed, so no
// username or prefix can make two different requests share a key.
func Key(req Request) string {
	var b strings.Builder
	field := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
		b.WriteByte(0)
	}
	field(req.User)
	field(req.Grant)
	field(req.Access)
	field(strconv.FormatInt(int64(req.Duration), 10))
	field(req.Bucket)
	field(strconv.Itoa(len(req.Prefixes)))
	for _, p := range req.Prefixes {
		field(p)
	}
	if gh := req.GitHub; gh != nil {
		field(gh.Mode)
		field(gh.Owner)
		field(strconv.Itoa(len(gh.Repositories)))
		for _, r := range gh.Repositories {
			field(r)
		}
		perms := make([]string, 0, len(gh.Permissions))
		for k, v := range gh.Permissions {
			perms = append(perms, k+"="+v)
		}
		slices.Sort(perms)
		for _, p := range perms {
			field(p)
		}
	}
	return b.String()
}
