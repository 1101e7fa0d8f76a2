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
// limits apply. Only whoami and credentials call identifyDelegable; every
// other endpoint calls identify, which refuses a delegation token with 403
// delegation_not_allowed — so an endpoint added later refuses them too.

// identify is authenticate for endpoints delegation tokens may not use.
func (s *Server) identify(r *http.Request) (auth.Identity, error) {
	id, err := s.authenticate(r)
	if err == nil && id.Delegation != nil {
		return auth.Identity{}, errDelegationNotAllowed("a delegation token may only fetch credentials and call whoami; use your hub token for this")
	}
	return id, err
}

// identifyDelegable is authenticate for whoami and credentials, which
// take a delegation token too; the caller applies its limits (decide,
// delegatedViews).
func (s *Server) identifyDelegable(r *http.Request) (auth.Identity, error) {
	return s.authenticate(r)
}

// tokenKind is the kind of token behind an outcome, for the metric.
func tokenKind(o *outcome) string {
	switch {
	case o.deleg != nil:
		return "delegation"
	case o.user != "":
		return "hub"
	}
	return "none"
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
