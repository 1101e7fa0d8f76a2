package policy

import (
	"fmt"
	"slices"
	"time"
)

// Explanation says why a user may or may not use a grant, for
// `credserver explain`.
type Explanation struct {
	// Grant is the grant name.
	Grant string
	// Provider is the provider's name in the config; Type its type.
	Provider, Type string
	// Allowed says whether the request is allowed.
	Allowed bool
	// Reason names the rule that decided (Verdict.Rule), e.g.
	// `allow.groups "staff*" matched group "staff-a"`.
	Reason string
	// Verdict is the decision in structured form.
	Verdict Verdict
	// Decision is what the request yields; zero when not Allowed.
	Decision Decision
	// MaxAccess, DefaultDuration and MaxDuration are the grant's bounds.
	MaxAccess                    Access
	DefaultDuration, MaxDuration time.Duration
	// When is the grant's condition, "" when it has none.
	When string
	// Overlaps are the grants whose locations the config declares may
	// meet this one's (overlaps on either grant), sorted; nil when none.
	Overlaps []string
}

// Explain reports which rule decides whether u may use the named grant
// with its default access and duration. Its only error is
// ErrUnknownGrant.
func (p *Policy) Explain(u User, name string) (Explanation, error) {
	return p.ExplainRequest(u, Request{Grant: name})
}

// ExplainRequest is Explain for a given access and duration. Its only
// error is ErrUnknownGrant: a refusal, or access or duration out of
// bounds, is an Explanation that is not Allowed.
func (p *Policy) ExplainRequest(u User, r Request) (Explanation, error) {
	g, ok := p.byName[r.Grant]
	if !ok {
		return Explanation{}, fmt.Errorf("%w %q", ErrUnknownGrant, clip(r.Grant))
	}
	v := g.check(u, r)
	ex := Explanation{
		Grant: g.name, Provider: g.provider, Type: g.typ,
		Allowed: v.Allowed(), Reason: v.Rule(), Verdict: v,
		MaxAccess: g.access, DefaultDuration: g.def, MaxDuration: g.max,
		Overlaps: slices.Clone(g.overlaps),
	}
	if g.cond != nil {
		ex.When = g.cond.String()
	}
	if ex.Allowed {
		ex.Decision = g.resolve(u, v)
	}
	return ex, nil
}

// Locations lists every place the decision covers, one per prefix:
// "s3://bucket/prefix", "gs://...", "abfs://container/prefix"; for
// github, the Location alone.
func (d Decision) Locations() []string {
	scheme := schemes[d.Type]
	if scheme == "" || len(d.Prefixes) == 0 {
		if d.Location == "" {
			return nil
		}
		return []string{d.Location}
	}
	out := make([]string, len(d.Prefixes))
	for i, p := range d.Prefixes {
		out[i] = scheme + "://" + d.Bucket + "/" + p
	}
	return out
}

// schemes maps provider types to the URL scheme of their locations.
var schemes = map[string]string{"aws": "s3", "gcs": "gs", "azure": "abfs"}

// Names lists every grant's name in config order, for explaining a user
// against the whole policy.
func (p *Policy) Names() []string {
	out := make([]string, len(p.grants))
	for i, g := range p.grants {
		out[i] = g.name
	}
	return out
}
