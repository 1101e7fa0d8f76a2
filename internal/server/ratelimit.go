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

// maxLimiterKeys bounds each limiter table; the least recently seen keys
// are dropped (and start afresh if they come back).
const maxLimiterKeys = 100_000

// keyedLimiter is a token bucket per key. Safe for concurrent use.
type keyedLimiter struct {
	rate  rate.Limit
	burst int
	m     *lru.Cache[string, *rate.Limiter]
}

func newKeyedLimiter(r rate.Limit, burst int) *keyedLimiter {
	if r <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	m, _ := lru.New[string, *rate.Limiter](maxLimiterKeys)
	return &keyedLimiter{rate: r, burst: burst, m: m}
}

func (k *keyedLimiter) limiter(key string) *rate.Limiter {
	if l, ok := k.m.Get(key); ok {
		return l
	}
	l := rate.NewLimiter(k.rate, k.burst)
	if prev, ok, _ := k.m.PeekOrAdd(key, l); ok {
		return prev
	}
	return l
}

// allow takes one token for key; when there is none it returns how long
// until there will be. The clock is read only when there is a limit.
func (k *keyedLimiter) allow(key string, now func() time.Time) (bool, time.Duration) {
	if k == nil {
		return true, 0
	}
	l := k.limiter(key)
	if l.AllowN(now(), 1) {
		return true, 0
	}
	return false, k.wait()
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

// failBudgets is a failBudget per key (client address), bounded like
// keyedLimiter. A budget dropped while a lookup holds a claim on it is
// simply forgotten with the claim.
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
