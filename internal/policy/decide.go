package policy

import (
	"slices"
	"strings"
	"time"

	"github.com/credserver/credserver/internal/config"
)

// Decide checks that u may have what r asks and resolves it. Errors:
// ErrUnknownGrant for a name not in the policy, ErrNotAllowed (wrapped,
// with the reason) for a grant u may not use, *RequestError for access or
// duration outside the grant's bounds.
//
// Decide is [Policy.Check] followed by working out the location. For a
// grant whose location does not depend on the user (no {user} or
// {group}) and that has no condition, it does not allocate; a {user}
// location costs two allocations (the location string, of which bucket
// and prefix are substrings, and the Prefixes slice) when the user's
// location is not remembered (see locatedMemo), none when it is.
func (p *Policy) Decide(u User, r Request) (Decision, error) {
	v := p.Check(u, r)
	if !v.Allowed() {
		return Decision{}, v.Err()
	}
	return v.g.resolve(u, v), nil
}

// resolve turns an allowed verdict into a Decision.
func (g *grant) resolve(u User, v Verdict) Decision {
	dec := Decision{
		Grant:    g.name,
		Provider: g.provider,
		Type:     g.typ,
		Access:   v.Access,
		Duration: v.Duration,
		User:     u.Name,
		Created:  u.Created,
		Create:   g.create,
		GitHub:   g.github,
		Location: g.location,
		Prefixes: g.fixed,
	}
	switch {
	case g.github != nil:
		return dec
	case g.location != "":
		dec.Bucket = g.bucket.parts[0]
		return dec
	case !g.prefix.hasGroup:
		l := g.located.location(g, u.Name)
		dec.Location, dec.Bucket, dec.Prefixes = l.loc, l.bucket, l.prefixes
		return dec
	}
	useg := ""
	if g.prefix.hasUser {
		useg = UserSegment(u.Name)
	}
	dec.Bucket = g.bucket.expand(g.containerSegment(u.Name), "")
	for _, grp := range u.Groups {
		if _, ok := g.groups.match(grp); ok {
			dec.Prefixes = append(dec.Prefixes, g.prefix.expand(useg, UserSegment(grp)))
		}
	}
	slices.Sort(dec.Prefixes)
	dec.Prefixes = slices.Compact(dec.Prefixes)
	dec.Location = g.scheme + "://" + dec.Bucket + "/" + dec.Prefixes[0]
	return dec
}

// containerSegment is the user's segment for the bucket (container)
// template, "" when it has no {user}.
func (g *grant) containerSegment(name string) string {
	if !g.bucket.hasUser {
		return ""
	}
	return ContainerSegment(name)
}

// locate builds "scheme://bucket/prefix" for a grant without {group} in
// one allocation besides the located, with its bucket, a substring of it,
// and Prefixes: the grant's own when the prefix is static, else one
// element, also a substring.
func (g *grant) locate(name string) *located {
	useg, cseg := "", g.containerSegment(name)
	if g.prefix.hasUser {
		useg = UserSegment(name)
	}
	var b strings.Builder
	bl := g.bucket.size(cseg, "")
	b.Grow(len(g.scheme) + len("://") + bl + 1 + g.prefix.size(useg, ""))
	b.WriteString(g.scheme)
	b.WriteString("://")
	g.bucket.write(&b, cseg, "")
	b.WriteByte('/')
	g.prefix.write(&b, useg, "")
	loc := b.String()
	start := len(g.scheme) + len("://")
	l := &located{name: name, loc: loc, bucket: loc[start : start+bl], prefixes: g.fixed}
	if l.prefixes == nil {
		l.prefix[0] = loc[start+bl+1:]
		l.prefixes = l.prefix[:]
	}
	return l
}

func fmtDuration(d time.Duration) string { return config.Duration(d).String() }

// Grants lists the grants u may ask for, in config order: those for which
// a request with the grant's default access and duration is allowed.
// The result is nil when there are none.
//
// It looks only at the grants that can admit u: those naming u or one
// of u's groups exactly, and those with a wildcard pattern.
func (p *Policy) Grants(u User) []GrantView {
	var out []GrantView
	for _, i := range p.index.candidates(u) {
		g := p.grants[i]
		v := g.check(u, Request{})
		if !v.Allowed() {
			continue
		}
		dec := g.resolve(u, v)
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
