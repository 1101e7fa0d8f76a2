package policy

import (
	"fmt"
	"time"

	"github.com/credserver/credserver/internal/cond"
)

// Reason is what decided a request.
type Reason uint8

// Reasons. The zero value is ReasonUnknownGrant, so a zero Verdict is a
// denial.
const (
	// ReasonUnknownGrant: no grant of that name.
	ReasonUnknownGrant Reason = iota
	// ReasonAllowed: an allow rule matched, the condition held and the
	// access and duration are within the grant's bounds.
	ReasonAllowed
	// ReasonNoRule: no allow rule matches the user or their groups.
	ReasonNoRule
	// ReasonNoGroup: the user was allowed by name, but the grant's
	// {group} prefix needs a group matching allow.groups and they have
	// none.
	ReasonNoGroup
	// ReasonConditionFalse: the grant's `when` condition is false.
	ReasonConditionFalse
	// ReasonConditionError: the condition could not be evaluated (a
	// run-time error or the cost limit); the request is denied.
	ReasonConditionError
	// ReasonAccess: the access asked is not read/readwrite or exceeds
	// the grant's.
	ReasonAccess
	// ReasonDuration: the duration asked is outside the grant's bounds.
	ReasonDuration
)

// Rule names of Match.Rule.
const (
	RuleUsers  = "allow.users"
	RuleGroups = "allow.groups"
)

// Match is the allow rule that admitted a user.
type Match struct {
	// Rule is RuleUsers or RuleGroups; "" when no rule matched.
	Rule string
	// Pattern is the pattern of the rule that matched, e.g. "proj-*".
	Pattern string
	// Value is what it matched: the user name or one of their groups.
	Value string
}

// String returns e.g. `allow.groups "proj-*" matched group "proj-a"`.
func (m Match) String() string {
	switch m.Rule {
	case RuleUsers:
		return fmt.Sprintf("%s %q matched user %q", m.Rule, m.Pattern, m.Value)
	case RuleGroups:
		return fmt.Sprintf("%s %q matched group %q", m.Rule, m.Pattern, m.Value)
	}
	return "no allow rule matched"
}

// Verdict is the decision on a request, before any location is worked
// out: which rule decided, and with what access and duration. It holds
// no memory of its own (its strings belong to the Policy and the
// request), so producing one does not allocate unless the grant has a
// condition.
type Verdict struct {
	// Reason says what decided.
	Reason Reason
	// Match is the allow rule that admitted the user; zero when none did.
	Match Match
	// Access and Duration are the request's, with the grant's defaults
	// filled in; zero when the request was refused before they mattered.
	Access   Access
	Duration time.Duration
	// Detail is the evaluation error for ReasonConditionError.
	Detail string

	asked string // the grant name asked for
	user  string
	g     *grant
}

// Allowed reports whether the request is allowed.
func (v Verdict) Allowed() bool { return v.Reason == ReasonAllowed && v.g != nil }

// Rule describes the rule that decided, for people: e.g.
// `allow.groups "proj-*" matched group "proj-a"`, `no allow rule
// matched`, `when: condition false`.
func (v Verdict) Rule() string {
	if v.g == nil {
		return fmt.Sprintf("no grant named %q", clip(v.asked))
	}
	switch v.Reason {
	case ReasonAllowed:
		if v.g.cond != nil {
			return v.Match.String() + "; when: condition true"
		}
		return v.Match.String()
	case ReasonNoRule:
		return v.Match.String()
	case ReasonNoGroup:
		return v.Match.String() + `, but the prefix needs {group} and no group of the user matches allow.groups`
	case ReasonConditionFalse:
		return "when: condition false"
	case ReasonConditionError:
		return "when: condition could not be evaluated, denied: " + v.Detail
	case ReasonAccess, ReasonDuration:
		return v.Err().Error()
	}
	return fmt.Sprintf("Reason(%d)", uint8(v.Reason))
}

// Err returns nil for an allowed request; otherwise ErrUnknownGrant,
// ErrNotAllowed (wrapped, with the reason) or a *RequestError for access
// or duration outside the grant's bounds.
func (v Verdict) Err() error {
	g := v.g
	if g == nil {
		return fmt.Errorf("%w %q", ErrUnknownGrant, clip(v.asked))
	}
	switch v.Reason {
	case ReasonAllowed:
		return nil
	case ReasonNoRule:
		return fmt.Errorf("%w: no allow rule of grant %q matches user %q or their groups", ErrNotAllowed, g.name, clip(v.user))
	case ReasonNoGroup:
		return fmt.Errorf("%w: grant %q covers the prefixes of allowed groups, and none of user %q's groups is allowed", ErrNotAllowed, g.name, clip(v.user))
	case ReasonConditionFalse:
		return fmt.Errorf("%w: the condition (when) of grant %q does not hold for this request", ErrNotAllowed, g.name)
	case ReasonConditionError:
		return fmt.Errorf("%w: the condition (when) of grant %q could not be evaluated, so the request is denied: %s", ErrNotAllowed, g.name, v.Detail)
	case ReasonAccess:
		if v.Access != AccessRead && v.Access != AccessReadWrite {
			return &RequestError{Param: "access", Msg: "access must be read or readwrite"}
		}
		return &RequestError{Param: "access", Msg: fmt.Sprintf("access %s exceeds this grant's maximum of %s", v.Access, g.access)}
	case ReasonDuration:
		if v.Duration > g.max {
			return &RequestError{Param: "duration", Msg: fmt.Sprintf("duration %s exceeds this grant's maximum of %s", fmtDuration(v.Duration), fmtDuration(g.max))}
		}
		return &RequestError{Param: "duration", Msg: fmt.Sprintf("duration %s is below the minimum of %s", fmtDuration(v.Duration), fmtDuration(MinDuration))}
	}
	// An unknown Reason on a known grant: refuse.
	return fmt.Errorf("%w: grant %q: %s", ErrNotAllowed, g.name, v.Rule())
}

// Check decides whether u may have what r asks, without working out
// where: it is the decision step of [Policy.Decide]. For a grant without
// a condition it does not allocate.
func (p *Policy) Check(u User, r Request) Verdict {
	g, ok := p.byName[r.Grant]
	if !ok {
		return Verdict{asked: r.Grant, user: u.Name}
	}
	return g.check(u, r)
}

// check is Check for a known grant. Every branch that does not reach the
// end refuses (fail closed).
func (g *grant) check(u User, r Request) Verdict {
	v := Verdict{asked: g.name, user: u.Name, g: g}
	m, ok := g.admit(u)
	if !ok {
		v.Reason = ReasonNoRule
		return v
	}
	v.Match = m
	if g.prefix.hasGroup && m.Rule != RuleGroups {
		if _, ok := g.admitGroup(u); !ok {
			v.Reason = ReasonNoGroup
			return v
		}
	}
	v.Access, v.Duration = r.Access, r.Duration
	if v.Access == 0 {
		v.Access = g.access
	}
	if v.Duration == 0 {
		v.Duration = g.def
	}
	if v.Access != AccessRead && v.Access != AccessReadWrite {
		v.Reason = ReasonAccess
		return v
	}
	if g.cond != nil {
		held, err := g.cond.Eval(&cond.Input{
			User:    cond.User{Name: u.Name, Groups: u.Groups, Admin: u.Admin},
			Request: cond.Request{Access: v.Access.String(), Duration: v.Duration},
			Grant:   cond.Grant{Name: g.name},
		})
		switch {
		case err != nil:
			v.Reason, v.Detail = ReasonConditionError, err.Error()
			return v
		case !held:
			v.Reason = ReasonConditionFalse
			return v
		}
	}
	switch {
	case v.Access > g.access:
		v.Reason = ReasonAccess
	case v.Duration > g.max || v.Duration < MinDuration:
		v.Reason = ReasonDuration
	default:
		v.Reason = ReasonAllowed
	}
	return v
}

// admit returns the first rule that admits u: a users pattern matching
// the name, else a groups pattern matching one of the groups.
func (g *grant) admit(u User) (Match, bool) {
	if !g.noUsers {
		if pat, ok := g.users.match(u.Name); ok {
			return Match{Rule: RuleUsers, Pattern: pat, Value: u.Name}, true
		}
	}
	if g.noGroups {
		return Match{}, false
	}
	for _, grp := range u.Groups {
		if pat, ok := g.groups.match(grp); ok {
			return Match{Rule: RuleGroups, Pattern: pat, Value: grp}, true
		}
	}
	return Match{}, false
}

// admitGroup returns the first of u's groups that allow.groups matches.
func (g *grant) admitGroup(u User) (string, bool) {
	for _, grp := range u.Groups {
		if _, ok := g.groups.match(grp); ok {
			return grp, true
		}
	}
	return "", false
}
