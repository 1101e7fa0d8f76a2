package server

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/policy"
)

// Delegation tokens on the request path (DESIGN §5): authentication
// (auth.Either) yields the owner's identity as the hub has it now, with
// Delegation set; the owner's policy decides first, then the token's own
// limits apply. Only the routes wrapped in allowDelegation (whoami and
// credentials) accept such an identity: everywhere else identify refuses
// it with 403 delegation_not_allowed.

// caller is what a delegable route learns about who called: filled by
// identify (the delegation, if any) and by the auditor (the outcome), read
// back by allowDelegation for the metric by token kind. It lives in the
// request's state (see request), so marking a route costs nothing.
type caller struct {
	delegable     bool
	authenticated bool
	deleg         *auth.Delegation
	event         string
}

// allowDelegation marks a route as one delegation tokens may use, and
// counts its credential outcomes by the kind of token that asked.
func (s *Server) allowDelegation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := stateOf(w, r).callerRec()
		if c == nil {
			// Outside begin (not in production): refuse delegation.
			next.ServeHTTP(w, r)
			return
		}
		c.delegable = true
		next.ServeHTTP(w, r)
		if c.event != "" {
			s.metrics.tokenKind(c.kind(), c.event)
		}
	})
}

func (c *caller) kind() string {
	switch {
	case c.deleg != nil:
		return "delegation"
	case c.authenticated:
		return "hub"
	}
	return "none"
}

// admit passes id on from identify: a delegation identity only on a route
// that allows one.
func (s *Server) admit(c *caller, id auth.Identity) (auth.Identity, error) {
	if id.Delegation != nil && (c == nil || !c.delegable) {
		return auth.Identity{}, errDelegationNotAllowed("a delegation token may only fetch credentials and call whoami; use your hub token for this")
	}
	if c != nil {
		c.authenticated, c.deleg = true, id.Delegation
	}
	return id, nil
}

// auditCaller records an audit event's outcome for the metric and returns
// the delegation token id the event is to name, if any.
func auditCaller(c *caller, event string) string {
	if c == nil || !c.delegable {
		return ""
	}
	c.event = event
	if c.deleg != nil {
		return c.deleg.ID
	}
	return ""
}

func errDelegationNotAllowed(msg string) error {
	return &apiError{Status: http.StatusForbidden, Code: "delegation_not_allowed", Msg: msg}
}

// decide is the policy's decision for id, then a delegation token's
// limits: only its grants, at most its access (its access is also the
// default when the request names none and the token is read-only).
func decide(pol *policy.Policy, id auth.Identity, req policy.Request) (policy.Decision, error) {
	if dl := id.Delegation; dl != nil {
		if !slices.Contains(dl.Grants, req.Grant) {
			return policy.Decision{}, errDelegationNotAllowed(fmt.Sprintf("this delegation token does not cover grant %q", clip(req.Grant)))
		}
		if dl.Access == "read" {
			switch req.Access {
			case 0:
				req.Access = policy.AccessRead
			case policy.AccessReadWrite:
				return policy.Decision{}, errDelegationNotAllowed("this delegation token is read-only")
			}
		}
	}
	return pol.Decide(policyUser(id), req)
}

// delegatedViews narrows the grants whoami lists to a delegation token's:
// only those it names, at most its access.
func delegatedViews(id auth.Identity, views []policy.GrantView) []policy.GrantView {
	dl := id.Delegation
	if dl == nil {
		return views
	}
	out := views[:0]
	for _, v := range views {
		if !slices.Contains(dl.Grants, v.Name) {
			continue
		}
		if dl.Access == "read" {
			v.Access = "read"
		}
		out = append(out, v)
	}
	return out
}
