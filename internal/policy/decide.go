package policy

import (
	"fmt"
	"slices"
	"time"

	"github.com/credserver/credserver/internal/config"
)

// admission says which allow rule let a user in.
type admission struct {
	kind    string // "users" or "groups"
	pattern string
	group   string // the user's group that matched, for "groups"
}

// admit returns the first rule that admits u: a users pattern matching
// the name, else a groups pattern matching one of the groups.
func (g *grant) admit(u User) (admission, bool) {
	if pat, ok := g.users.match(u.Name); ok {
		return admission{kind: "users", pattern: pat}, true
	}
	if g.groups.empty() {
		return admission{}, false
	}
	for _, grp := range u.Groups {
		if pat, ok := g.groups.match(grp); ok {
			return admission{kind: "groups", pattern: pat, group: grp}, true
		}
	}
	return admission{}, false
}

// refusal says why u may not use g at all, or "" when they may. Every
// branch that does not positively admit the user refuses (fail closed).
func (g *grant) refusal(u User) (admission, string) {
	a, ok := g.admit(u)
	switch {
	case !ok:
		return a, fmt.Sprintf("no allow rule of grant %q matches user %q or their groups", g.name, clip(u.Name))
	case g.when != "":
		return a, fmt.Sprintf("grant %q has a condition (when), which this server does not evaluate yet", g.name)
	case g.prefix.hasGroup && a.kind != "groups":
		// Admitted by name, but the prefix needs at least one allowed
		// group to expand to.
		if _, ok := g.admitGroup(u); !ok {
			return a, fmt.Sprintf("grant %q covers the prefixes of allowed groups, and none of user %q's groups is allowed", g.name, clip(u.Name))
		}
	}
	return a, ""
}

func (g *grant) admitGroup(u User) (string, bool) {
	for _, grp := range u.Groups {
		if _, ok := g.groups.match(grp); ok {
			return grp, true
		}
	}
	return "", false
}

// Decide checks that u may have what r asks and resolves it. Errors:
// ErrUnknownGrant for a name not in the policy, ErrNotAllowed (wrapped,
// with the reason) for a grant u may not use, *RequestError for access or
// duration outside the grant's bounds.
func (p *Policy) Decide(u User, r Request) (Decision, error) {
	g, ok := p.byName[r.Grant]
	if !ok {
		return Decision{}, fmt.Errorf("%w %q", ErrUnknownGrant, clip(r.Grant))
	}
	if _, why := g.refusal(u); why != "" {
		return Decision{}, fmt.Errorf("%w: %s", ErrNotAllowed, why)
	}
	acc := r.Access
	if acc == 0 {
		acc = g.access
	}
	switch {
	case acc != AccessRead && acc != AccessReadWrite:
		return Decision{}, &RequestError{Param: "access", Msg: "access must be read or readwrite"}
	case acc > g.access:
		return Decision{}, &RequestError{Param: "access", Msg: fmt.Sprintf("access %s exceeds this grant's maximum of %s", acc, g.access)}
	}
	d := r.Duration
	if d == 0 {
		d = g.def
	}
	switch {
	case d > g.max:
		return Decision{}, &RequestError{Param: "duration", Msg: fmt.Sprintf("duration %s exceeds this grant's maximum of %s", fmtDuration(d), fmtDuration(g.max))}
	case d < MinDuration:
		return Decision{}, &RequestError{Param: "duration", Msg: fmt.Sprintf("duration %s is below the minimum of %s", fmtDuration(d), fmtDuration(MinDuration))}
	}
	dec := Decision{
		Grant:    g.name,
		Provider: g.provider,
		Type:     g.typ,
		Access:   acc,
		Duration: d,
		User:     u.Name,
		Create:   g.create,
		GitHub:   g.github,
		Location: g.location,
	}
	if g.github != nil {
		return dec, nil
	}
	var useg string
	if !g.prefix.static() || !g.bucket.static() {
		useg = UserSegment(u.Name)
	}
	// An azure container template gets the same segment as a prefix.
	// DESIGN §8 asks for a container-safe form (lowercase, digits, single
	// hyphens); until then a name Azure rejects fails at issuance.
	dec.Bucket = g.bucket.expand(useg, "")
	switch {
	case g.fixed != nil:
		dec.Prefixes = g.fixed
	case !g.prefix.hasGroup:
		dec.Prefixes = []string{g.prefix.expand(useg, "")}
	default:
		for _, grp := range u.Groups {
			if _, ok := g.groups.match(grp); ok {
				dec.Prefixes = append(dec.Prefixes, g.prefix.expand(useg, UserSegment(grp)))
			}
		}
		slices.Sort(dec.Prefixes)
		dec.Prefixes = slices.Compact(dec.Prefixes)
	}
	if dec.Location == "" {
		dec.Location = g.scheme + "://" + dec.Bucket + "/" + dec.Prefixes[0]
	}
	return dec, nil
}

func fmtDuration(d time.Duration) string { return config.Duration(d).String() }

// Grants lists the grants u may ask for, in config order: those for which
// a request with the grant's default access and duration is allowed.
// The result is nil when there are none.
func (p *Policy) Grants(u User) []GrantView {
	var out []GrantView
	for _, g := range p.grants {
		dec, err := p.Decide(u, Request{Grant: g.name})
		if err != nil {
			continue
		}
		out = append(out, GrantView{
			Name:        g.name,
			Provider:    g.typ,
			Access:      g.access.String(),
			Location:    dec.Location,
			MaxDuration: g.max,
		})
	}
	return out
}

// Explanation says why a user may or may not use a grant, for
// `credserver explain`.
type Explanation struct {
	// Grant is the grant name.
	Grant string
	// Allowed says whether a request with the grant's default access
	// and duration is allowed.
	Allowed bool
	// Reason names the rule that decided, e.g. `allow.groups pattern
	// "staff*" matches group "staff-a"`, or why the user is refused.
	Reason string
	// Decision is what such a request yields; zero when not Allowed.
	Decision Decision
}

// Explain reports which rule decides whether u may use the named grant.
// Its only error is ErrUnknownGrant.
func (p *Policy) Explain(u User, name string) (Explanation, error) {
	g, ok := p.byName[name]
	if !ok {
		return Explanation{}, fmt.Errorf("%w %q", ErrUnknownGrant, clip(name))
	}
	ex := Explanation{Grant: g.name}
	a, why := g.refusal(u)
	if why != "" {
		ex.Reason = why
		return ex, nil
	}
	dec, err := p.Decide(u, Request{Grant: name})
	if err != nil {
		ex.Reason = err.Error()
		return ex, nil
	}
	ex.Allowed, ex.Decision = true, dec
	if a.kind == "users" {
		ex.Reason = fmt.Sprintf("allow.users pattern %q matches user %q", a.pattern, u.Name)
	} else {
		ex.Reason = fmt.Sprintf("allow.groups pattern %q matches group %q", a.pattern, a.group)
	}
	return ex, nil
}
