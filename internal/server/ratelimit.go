package server

import (
	"math"
	"net/http"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Limits are the server's rate limits. A zero rate turns that limit off.
type Limits struct {
	// UserRate and UserBurst limit credential requests per hub user. A
	// Dask cluster's stampede is one burst; the defaults let 1,000 workers
	// through at once, since the cache answers them.
	UserRate  rate.Limit
	UserBurst int
	// AuthFailureRate and AuthFailureBurst are each client address's
	// budget of hub lookups that fail (unknown, expired or revoked
	// tokens). Requests without a token and valid tokens never use it.
	// Beyond it, lookups share a narrow overflow lane and a guesser gets
	// 429 (identify.go); a zero rate turns failed-login limiting off.
	AuthFailureRate  rate.Limit
	AuthFailureBurst int
	// FailedLookupRate and FailedLookupBurst bound failed hub lookups from
	// all addresses together, so that many addresses each within their
	// own budget cannot flood the hub either. A zero rate: no such bound.
	FailedLookupRate  rate.Limit
	FailedLookupBurst int
}

// DefaultLimits are generous: they exist to stop runaway loops and token
// guessing, not notebooks.
var DefaultLimits = Limits{UserRate: 20, UserBurst: 2000, AuthFailureRate: 1, AuthFailureBurst: 30,
	FailedLookupRate: 20, FailedLookupBurst: 600}

// maxLimiterKeys bounds each limiter table. A key dropped to keep within
// it starts afresh if it comes back.
const maxLimiterKeys = 100_000

// keyedLimiter is a token bucket per key (the hub user). Safe for
// concurrent use.
//
// It holds a bucket only while the bucket is not full: a full bucket is
// exactly what a key without one starts with, so forgetting it changes no
// answer. Every user who asked once would otherwise keep a limiter (about
// 200 bytes with its table entry) as long as the process lives, the same
// order as the user's cached credential around it; now only those who
// asked within the last burst/rate seconds do. Full buckets are swept out
// when the table has doubled since the last sweep, so a sweep costs O(1)
// per key added.
type keyedLimiter struct {
	rate  rate.Limit
	burst int

	mu sync.Mutex
	m  map[string]*rate.Limiter
	// sweepAt is the table size at which the next insertion sweeps.
	sweepAt int
	// peak is the most keys the table has held since it was last made.
	peak int
}

// minSweep is the table size below which no sweep runs.
const minSweep = 1024

func newKeyedLimiter(r rate.Limit, burst int) *keyedLimiter {
	if r <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	return &keyedLimiter{rate: r, burst: burst, m: make(map[string]*rate.Limiter), sweepAt: minSweep}
}

// allow takes one token for key; when there is none it returns how long
// until there will be. The clock is read only when there is a limit.
func (k *keyedLimiter) allow(key string, now func() time.Time) (bool, time.Duration) {
	if k == nil {
		return true, 0
	}
	t := now()
	k.mu.Lock()
	l := k.m[key]
	if l == nil {
		if len(k.m) >= k.sweepAt {
			k.sweep(t)
		}
		l = rate.NewLimiter(k.rate, k.burst)
		k.m[key] = l
		k.peak = max(k.peak, len(k.m))
	}
	ok := l.AllowN(t, 1)
	k.mu.Unlock()
	if ok {
		return true, 0
	}
	return false, k.wait()
}

// sweep drops the buckets that are full at now. Should more than half of
// maxLimiterKeys keys still be spending, arbitrary ones are dropped too
// (they start afresh, as an evicted key always did), so that the table
// never holds more than maxLimiterKeys. A table left with under a quarter
// of its peak is made anew, since a Go map never gives back the room its
// deleted entries held. k.mu is held.
func (k *keyedLimiter) sweep(now time.Time) {
	full := float64(k.burst)
	for key, l := range k.m {
		if l.TokensAt(now) >= full {
			delete(k.m, key)
		}
	}
	for key := range k.m {
		if len(k.m) <= maxLimiterKeys/2 {
			break
		}
		delete(k.m, key)
	}
	if len(k.m) < k.peak/4 {
		m := make(map[string]*rate.Limiter, len(k.m))
		for key, l := range k.m {
			m[key] = l
		}
		k.m, k.peak = m, len(m)
	}
	k.sweepAt = max(minSweep, 2*len(k.m))
}

// size is the number of buckets held, for tests.
func (k *keyedLimiter) size() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}

func (k *keyedLimiter) wait() time.Duration {
	return time.Duration(float64(time.Second) / float64(k.rate))
}

func tooManyRequests(msg string, wait time.Duration) *apiError {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", Msg: msg, RetryAfter: secs}
}

// failBudget is a token bucket charged only for lookups that fail, after
// they fail, so a lookup that succeeds leaves it exactly as it was.
// (rate.Reservation.CancelAt cannot give that: it hands back less than it
// took once later reservations exist, so concurrent valid lookups slowly
// spent the budget.) A lookup in flight holds a claim on one unit, so
// concurrent lookups cannot overdraw it; up to overdraw lookups more may
// be in flight while at least one unit is left, so that a class of new
// users arriving at once through one proxy address is not sent to the
// overflow lane. What they overdraw, if they fail, is a debt the bucket's
// rate repays before the address gets another lookup. Safe for concurrent
// use.
type failBudget struct {
	mu       sync.Mutex
	lim      *rate.Limiter
	overdraw int
	inflight int
}

func newFailBudget(r rate.Limit, burst, overdraw int) *failBudget {
	return &failBudget{lim: rate.NewLimiter(r, max(burst, 1)), overdraw: overdraw}
}

// claim reserves one unit for a lookup about to start, if it may start.
func (b *failBudget) claim(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	units := b.lim.TokensAt(now)
	if units-float64(b.inflight) < 1 && (units < 1 || b.inflight >= b.overdraw) {
		return false
	}
	b.inflight++
	return true
}

// settle releases a claim, spending its unit if the lookup failed (into
// debt when overdrawn).
func (b *failBudget) settle(now time.Time, failed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inflight--
	if failed {
		b.lim.ReserveN(now, 1)
	}
}

// failBudgets is a failBudget per key (client address), the least
// recently seen dropped past maxLimiterKeys. A budget dropped while a
// lookup holds a claim on it is simply forgotten with the claim.
type failBudgets struct {
	rate            rate.Limit
	burst, overdraw int
	m               *lru.Cache[string, *failBudget]
}

func newFailBudgets(r rate.Limit, burst, overdraw int) *failBudgets {
	m, _ := lru.New[string, *failBudget](maxLimiterKeys)
	return &failBudgets{rate: r, burst: burst, overdraw: overdraw, m: m}
}

func (f *failBudgets) get(key string) *failBudget {
	if b, ok := f.m.Get(key); ok {
		return b
	}
	b := newFailBudget(f.rate, f.burst, f.overdraw)
	if prev, ok, _ := f.m.PeekOrAdd(key, b); ok {
		return prev
	}
	return b
}
