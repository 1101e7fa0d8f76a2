package config

import (
	"fmt"
	"strings"
)

// broad reports whether an allow list reaches users the admin did not
// name one by one: a glob in allow.users, or "*" in allow.groups. It
// returns the pattern that makes it so.
func broad(a Allow) (string, bool) {
	for _, u := range a.Users {
		if strings.ContainsAny(u, "*?") {
			return u, true
		}
	}
	for _, g := range a.Groups {
		if g == "*" {
			return g, true
		}
	}
	return "", false
}

// templated reports whether a storage grant's location depends on the
// caller: {user} or {group} in its prefix, or {user} in its container.
func templated(g *Grant) bool {
	return strings.Contains(g.Prefix, VarUser) || strings.Contains(g.Prefix, VarGroup) ||
		strings.Contains(g.Container, VarUser)
}

// isolation checks that per-user isolation cannot be undone by accident.
//
//  1. A storage grant that gives readwrite to a broad set of users must
//     put {user} or {group} in its location, or say shared: true: the
//     same "scratch" prefix for everyone lets any user overwrite or
//     delete any other user's data.
//  2. A storage grant whose static prefix covers the per-user prefixes
//     of another grant on the same bucket (prefix "" covers them all)
//     must not be given to a broad set of users, even read-only, unless
//     it says shared: true.
//  3. shared: true on a grant whose location is per user contradicts
//     itself.
func (v *validator) isolation(c *Config) {
	type located struct {
		i    int
		g    *Grant
		typ  string
		lead string // prefix up to the first variable
	}
	var storage []located
	for i := range c.Grants {
		g := &c.Grants[i]
		p, ok := c.Providers[g.Provider]
		if !ok || (p.Type != TypeAWS && p.Type != TypeGCS && p.Type != TypeAzure) {
			continue
		}
		lead := g.Prefix
		if j := strings.IndexByte(lead, '{'); j >= 0 {
			lead = lead[:j]
		}
		storage = append(storage, located{i, g, p.Type, lead})
	}
	for _, o := range storage {
		path := fmt.Sprintf("grants[%d]", o.i)
		subj := fmt.Sprintf("%s %q", path, o.g.Name)
		if templated(o.g) {
			if o.g.Shared {
				v.errorf(path+".shared", "%s: shared: true contradicts the per-user location %q; remove shared", subj, location(o.g))
			}
			continue
		}
		pat, wide := broad(o.g.Allow)
		if !wide || o.g.Shared {
			continue
		}
		if o.g.Access == AccessReadWrite {
			v.errorf(path+".allow", "%s: gives readwrite on %q to every user matching %q, all in one place: any of them could overwrite or delete the others' data. Put {user} in the prefix (prefix: \"{user}/\") or {group} for team spaces, narrow allow, or set shared: true if one shared space is really meant",
				subj, location(o.g), pat)
			continue
		}
		for _, iso := range storage {
			if iso.g == o.g || !strings.Contains(iso.g.Prefix, "{") || iso.g.Provider != o.g.Provider ||
				iso.g.Bucket != o.g.Bucket || iso.g.Container != o.g.Container || !strings.HasPrefix(iso.lead, o.g.Prefix) {
				continue
			}
			v.errorf(path+".prefix", "%s: prefix %q covers the per-user prefixes %q of grants[%d] %q and is given to every user matching %q: each could read the others' data. Narrow allow to named users or groups, or set shared: true if that is meant",
				subj, o.g.Prefix, iso.g.Prefix, iso.i, iso.g.Name, pat)
			break
		}
	}
}

// location names a storage grant's place for messages: bucket/prefix or
// container/prefix.
func location(g *Grant) string {
	b := g.Bucket
	if b == "" {
		b = g.Container
	}
	return b + "/" + g.Prefix
}
