package ghapp

import (
	"errors"
	"fmt"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Per-user bound on the GitHub calls a hub user's requests make (device
// codes, polls, refreshes, revocations): a token bucket of userCallBurst
// refilled at userCallRate. A device flow polled at GitHub's interval (5 s)
// stays inside it for over ten minutes; ending a flow at once and starting
// the next, over and over (two calls every 5 s), does not.
const (
	userCallRate  = rate.Limit(0.25)
	userCallBurst = 20
	// limiterEntries bounds the users tracked; the least recently seen
	// start afresh.
	limiterEntries = 10_000
)

// ErrRateLimited is matched by a *RateLimitError.
var ErrRateLimited = errors.New("too many GitHub calls for this hub user")

// RateLimitError reports that a user's GitHub call budget is spent. Wait
// is how long until the next call is allowed. Its text is safe to show.
type RateLimitError struct{ Wait time.Duration }

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("too many GitHub calls for your account; try again in %s", e.Wait.Round(time.Second))
}

func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// userLimiter is the per-user bound. Safe for concurrent use.
type userLimiter struct {
	now     func() time.Time
	buckets *lru.Cache[string, *rate.Limiter]
}

func newUserLimiter(now func() time.Time) *userLimiter {
	c, err := lru.New[string, *rate.Limiter](limiterEntries)
	if err != nil {
		panic(err) // only for a size < 1
	}
	return &userLimiter{now: now, buckets: c}
}

// allow spends one call of user's budget, or says how long to wait.
func (u *userLimiter) allow(user string) error {
	l, ok := u.buckets.Get(user)
	if !ok {
		l = rate.NewLimiter(userCallRate, userCallBurst)
		if prev, found, _ := u.buckets.PeekOrAdd(user, l); found {
			l = prev
		}
	}
	now := u.now()
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return &RateLimitError{Wait: d}
	}
	return nil
}
