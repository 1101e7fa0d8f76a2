package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"golang.org/x/time/rate"

	"github.com/credserver/credserver/internal/auth"
)

// Failed-login limiting (docs/architecture.md, "Failed logins").
//
// Behind the hub's proxy, or with every user server on one host, all
// clients share one address, so a budget per address alone would let one
// stranger lock every one else out. The rules:
//
//   - A request without a token costs nothing: it never reaches the hub.
//   - A token whose answer is cached (valid or refused) costs nothing: it
//     is answered from the cache (auth.(*Hub).AuthenticateCached).
//   - An unknown token needs a hub lookup. While it is in flight it holds
//     a claim on one unit of its address's budget (Limits.AuthFailure*)
//     and of the global budget of failed lookups (Limits.FailedLookup*).
//     Only a lookup the hub answers "invalid token" spends them, once
//     answered; any other outcome (a valid token above all) spends
//     nothing, so valid users are never charged (failBudget). An address
//     may have addrOverdraw lookups in flight beyond its spare units.
//   - A lookup beyond either budget is not refused outright: it may take
//     the shared overflow lane, which lets overflowRate lookups per second
//     through (waiting at most overflowWait for a slot). A valid token
//     there is served; an invalid one is answered 429. When the lane is
//     full the request is answered 429 at once, without a hub call.
//
// So failed lookups at the hub stay below FailedLookupRate + overflowRate a
// second whatever the number of addresses, a guesser gets 429 once its
// budget is spent, and a valid user behind the guesser's address waits at
// most overflowWait for the first lookup instead of being refused.

// The overflow lane is deliberately narrow: it exists so that a valid
// user is never locked out by someone else's failures, not to serve a
// guesser.
const (
	overflowRate  rate.Limit = 2
	overflowWait             = time.Second
	overflowBurst            = 1
)

// addrOverdraw is how many lookups from one address may be in flight
// beyond its spare budget (while it has any): new users arriving together
// through the hub's proxy are looked up at once, and a guesser's burst of
// concurrent guesses costs the hub at most this many failures more, once,
// before its debt shuts it out. The global budget is never overdrawn.
const addrOverdraw = 64

// cacher is implemented by authenticators that can answer from their cache
// without an upstream call; ok is false when they hold no answer.
type cacher interface {
	AuthenticateCached(token string) (id auth.Identity, ok bool, err error)
}

// loginLimiter holds the budgets above. A nil *loginLimiter limits nothing.
type loginLimiter struct {
	perAddr *failBudgets // never nil
	global  *failBudget  // nil: no global budget
	lane    *rate.Limiter
}

func newLoginLimiter(l Limits) *loginLimiter {
	if l.AuthFailureRate <= 0 {
		return nil
	}
	ll := &loginLimiter{
		perAddr: newFailBudgets(l.AuthFailureRate, l.AuthFailureBurst, addrOverdraw),
		lane:    rate.NewLimiter(overflowRate, overflowBurst),
	}
	if l.FailedLookupRate > 0 {
		ll.global = newFailBudget(l.FailedLookupRate, l.FailedLookupBurst, 0)
	}
	return ll
}

// ticket is the claim a lookup holds on its budgets while it is in flight.
type ticket struct{ addr, global *failBudget }

// settle ends the lookup's claim; only a failed lookup is charged.
func (t ticket) settle(now time.Time, failed bool) {
	t.addr.settle(now, failed)
	if t.global != nil {
		t.global.settle(now, failed)
	}
}

// admit claims one unit of client's budget and of the global one. It
// reports false, claiming nothing, when either has none to spare now.
func (l *loginLimiter) admit(client string, now time.Time) (ticket, bool) {
	t := ticket{addr: l.perAddr.get(client)}
	if !t.addr.claim(now) {
		return ticket{}, false
	}
	if l.global != nil {
		if !l.global.claim(now) {
			t.addr.settle(now, false)
			return ticket{}, false
		}
		t.global = l.global
	}
	return t, true
}

// overflow reserves a slot in the shared lane, returning how long to wait
// for it; false means the lane is full for longer than overflowWait.
func (l *loginLimiter) overflow(now time.Time) (time.Duration, bool) {
	r := l.lane.ReserveN(now, 1)
	d := r.DelayFrom(now)
	if !r.OK() || d > overflowWait {
		r.CancelAt(now)
		return 0, false
	}
	return d, true
}

const msgLoginLimited = "too many failed authentications from this address; try again later"

// identify resolves the caller from the Authorization header only, under
// the failed-login limits above.
func (s *Server) identify(r *http.Request) (auth.Identity, error) {
	return s.identifyIn(stateIn(r), r)
}

// identifyIn is identify for the request whose state is rq (nil: none).
func (s *Server) identifyIn(rq *request, r *http.Request) (auth.Identity, error) {
	id, err := s.authenticate(rq.ctx(r), r)
	if err != nil {
		return auth.Identity{}, err
	}
	// A delegation identity only on a route that allows one.
	return s.admit(rq.callerRec(), id)
}

// authenticate resolves the Authorization header's token, within the
// failed-login budgets above.
func (s *Server) authenticate(ctx context.Context, r *http.Request) (auth.Identity, error) {
	tok, err := auth.TokenFromRequest(r)
	if err != nil {
		return auth.Identity{}, err // no token: no hub call, no charge
	}
	if s.logins == nil {
		return s.auth.Authenticate(ctx, tok)
	}
	if c, ok := s.auth.(cacher); ok {
		if id, ok, err := c.AuthenticateCached(tok); ok {
			return id, err
		}
	}
	// Concurrent lookups of one token are one lookup, charged once: a
	// Dask cluster's 1,000 workers starting with the same new token must
	// not look like 1,000 failed logins while the first is in flight.
	key := sha256.Sum256([]byte(tok))
	ch := s.lookups.DoChan(string(key[:]), func() (any, error) {
		id, err := s.chargedLookup(context.WithoutCancel(ctx), clientHost(r), tok)
		return lookupResult{id, err}, nil
	})
	select {
	case res := <-ch:
		lr := res.Val.(lookupResult)
		if res.Shared && lr.err == nil {
			lr.id.Groups = slices.Clone(lr.id.Groups)
			lr.id.Scopes = slices.Clone(lr.id.Scopes)
		}
		return lr.id, lr.err
	case <-ctx.Done():
		return auth.Identity{}, fmt.Errorf("%w: stopped waiting for the hub: %w", auth.ErrHubUnavailable, ctx.Err())
	}
}

type lookupResult struct {
	id  auth.Identity
	err error
}

// chargedLookup asks the hub about tok within the failed-login budgets of
// client (see loginLimiter).
func (s *Server) chargedLookup(ctx context.Context, client, tok string) (auth.Identity, error) {
	now := s.now()
	if t, ok := s.logins.admit(client, now); ok {
		id, err := s.auth.Authenticate(ctx, tok)
		t.settle(s.now(), errors.Is(err, auth.ErrInvalidToken))
		return id, err
	}
	wait, ok := s.logins.overflow(now)
	if !ok {
		s.metrics.rateLimited("auth_failures")
		return auth.Identity{}, tooManyRequests(msgLoginLimited, overflowWait)
	}
	if wait > 0 {
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return auth.Identity{}, ctx.Err()
		}
	}
	id, err := s.auth.Authenticate(ctx, tok)
	if errors.Is(err, auth.ErrInvalidToken) {
		s.metrics.rateLimited("auth_failures")
		return auth.Identity{}, tooManyRequests(msgLoginLimited, overflowWait)
	}
	return id, err
}

var _ cacher = auth.Either{}
